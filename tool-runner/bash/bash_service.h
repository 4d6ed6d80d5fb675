// sagewai.sandbox.v1.Bash: Run (unary) and Stream (bidi), on the callback API.
#ifndef SAGEWAI_TOOL_RUNNER_BASH_BASH_SERVICE_H_
#define SAGEWAI_TOOL_RUNNER_BASH_BASH_SERVICE_H_

#include <chrono>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tool-runner/core/runner_context.h"

namespace sagewai {

// What a BashRequest runs with besides its own fields.
struct BashDefaults {
  std::string workdir;                          // relative cwds resolve against it
  std::map<std::string, std::string> base_env;  // the request's env goes on top
  size_t max_output_bytes = 1 << 20;
};

// The command spec for a BashRequest: the shell, the merged environment, the
// resolved cwd and `timeout`. INVALID_ARGUMENT for bad env names. The gRPC
// calls take their defaults and timeout from the runner's context; the stdio
// tool (bash_stdio.h) from its own.
absl::StatusOr<CommandSpec> BashCommandSpec(const BashDefaults& defaults,
                                            const sagewai::sandbox::v1::BashRequest& request,
                                            std::chrono::milliseconds timeout);
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
