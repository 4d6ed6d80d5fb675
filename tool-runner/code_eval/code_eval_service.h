// sagewai.sandbox.v1.CodeEval on the callback API: contexts, Eval and
// EvalStream, over a CodeEvalManager.
//
// EvalStream sends stdout/stderr chunks and display outputs as they happen,
// then one `result` whose stdout, stderr and outputs are empty (they were
// streamed). Cancelling an Eval or EvalStream interrupts the code as its
// timeout would.
#ifndef SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_SERVICE_H_
#define SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_SERVICE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tool-runner/code_eval/code_eval_manager.h"
#include "tool-runner/core/runner_context.h"

namespace sagewai {

// What an interpreter of `language` ("" = python) starts with: `cwd`
// resolved against `workdir`, `overrides` merged over `base_env`.
// INVALID_ARGUMENT for an unknown language or a bad variable name.
absl::StatusOr<code_eval::InterpreterSetup> MakeInterpreterSetup(
    absl::string_view language, absl::string_view cwd,
    const std::map<std::string, std::string>& overrides,
    const std::map<std::string, std::string>& base_env, absl::string_view workdir);

// The languages whose interpreters are on `path_env`, as GetInfo
// capabilities: "code_eval.python", "code_eval.node", "code_eval.bash".
std::vector<std::string> CodeEvalCapabilities(absl::string_view path_env);

class CodeEvalService final : public sagewai::sandbox::v1::CodeEval::CallbackService {
 public:
  CodeEvalService(RunnerContext& ctx, code_eval::CodeEvalManager& manager)
      : ctx_(ctx), manager_(manager) {}

  grpc::ServerUnaryReactor* CreateContext(grpc::CallbackServerContext* context,
                                          const sagewai::sandbox::v1::CreateContextRequest* request,
                                          sagewai::sandbox::v1::Context* response) override;
  grpc::ServerUnaryReactor* Eval(grpc::CallbackServerContext* context,
                                 const sagewai::sandbox::v1::EvalRequest* request,
                                 sagewai::sandbox::v1::EvalResult* response) override;
  grpc::ServerWriteReactor<sagewai::sandbox::v1::EvalEvent>* EvalStream(
      grpc::CallbackServerContext* context,
      const sagewai::sandbox::v1::EvalRequest* request) override;
  grpc::ServerUnaryReactor* DeleteContext(
      grpc::CallbackServerContext* context,
      const sagewai::sandbox::v1::DeleteContextRequest* request,
      sagewai::sandbox::v1::DeleteContextResponse* response) override;
  grpc::ServerUnaryReactor* ListContexts(
      grpc::CallbackServerContext* context,
      const sagewai::sandbox::v1::ListContextsRequest* request,
      sagewai::sandbox::v1::ListContextsResponse* response) override;
  grpc::ServerUnaryReactor* RestartContext(
      grpc::CallbackServerContext* context,
      const sagewai::sandbox::v1::RestartContextRequest* request,
      sagewai::sandbox::v1::Context* response) override;

 private:
  RunnerContext& ctx_;
  code_eval::CodeEvalManager& manager_;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_SERVICE_H_
