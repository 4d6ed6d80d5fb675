// sagewai.sandbox.v1.Bash: Run (unary) and Stream (bidi), on the callback API.
#ifndef SAGEWAI_TOOL_RUNNER_BASH_BASH_SERVICE_H_
#define SAGEWAI_TOOL_RUNNER_BASH_BASH_SERVICE_H_

#include "absl/status/statusor.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tool-runner/core/runner_context.h"

namespace sagewai {

// The command spec for a BashRequest: the shell, the merged environment, the
// resolved cwd and the effective timeout. INVALID_ARGUMENT for bad env names.
absl::StatusOr<CommandSpec> BashCommandSpec(const RunnerContext& ctx,
                                            const sagewai::sandbox::v1::BashRequest& request);

// Copies what the command did into the API's result message.
void FillBashResult(const CommandResult& result, sagewai::sandbox::v1::BashResult* out);

class BashService final : public sagewai::sandbox::v1::Bash::CallbackService {
 public:
  explicit BashService(RunnerContext& ctx) : ctx_(ctx) {}

  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context,
                                const sagewai::sandbox::v1::BashRequest* request,
                                sagewai::sandbox::v1::BashResult* response) override;

  grpc::ServerBidiReactor<sagewai::sandbox::v1::BashStreamRequest,
                          sagewai::sandbox::v1::BashStreamEvent>*
  Stream(grpc::CallbackServerContext* context) override;

 private:
  RunnerContext& ctx_;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_BASH_BASH_SERVICE_H_
