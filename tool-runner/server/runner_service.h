// sagewai.sandbox.v1.Runner: what this runner is and what it serves.
#ifndef SAGEWAI_TOOL_RUNNER_SERVER_RUNNER_SERVICE_H_
#define SAGEWAI_TOOL_RUNNER_SERVER_RUNNER_SERVICE_H_

#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tool-runner/core/runner_context.h"

namespace sagewai {

class RunnerService final : public sagewai::sandbox::v1::Runner::CallbackService {
 public:
  explicit RunnerService(RunnerContext& ctx) : ctx_(ctx) {}

  grpc::ServerUnaryReactor* GetInfo(grpc::CallbackServerContext* context,
                                    const sagewai::sandbox::v1::GetInfoRequest* request,
                                    sagewai::sandbox::v1::GetInfoResponse* response) override;

 private:
  void FillInfo(sagewai::sandbox::v1::GetInfoResponse* response) const;
  RunnerContext& ctx_;
};

// True when this process holds no capabilities and has no_new_privs set
// (read from /proc/self/status).
bool RunningUnprivileged();

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SERVER_RUNNER_SERVICE_H_
