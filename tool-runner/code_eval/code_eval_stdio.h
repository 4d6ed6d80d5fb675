// The stdio protocol's `code_eval` tool, on the same CodeEvalManager as gRPC.
#ifndef SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_STDIO_H_
#define SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_STDIO_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/json_reader.h"
#include "sagewai/sandbox/v1/sandbox.pb.h"
#include "tool-runner/code_eval/code_eval_manager.h"
#include "tool-runner/stdio/stdio_protocol.h"
#include "tool-runner/stdio/stdio_tools.h"

namespace sagewai {

// `code_eval`: args.code (string, required), args.language ("python" by
// default, "node", "bash"), args.context_id (optional: a context of this
// stdio session, created under that name on first use, so that state
// survives between calls), args.cwd, args.env (one-shot and first use only).
// Interpreters get this process's environment minus the control-plane
// variables.
void RegisterCodeEvalTool(stdio::Dispatcher& dispatcher, code_eval::CodeEvalManager& manager,
                          const StdioToolOptions& options);

// The EvalRequest of a call's args (code, language, context_id, cwd, env);
// INVALID_ARGUMENT (-32602) for bad args.
absl::StatusOr<sagewai::sandbox::v1::EvalRequest> EvalRequestFromArgs(const json::Value& args);

// The worker's view of an eval: display outputs' text/plain appended to
// stdout; the traceback appended to stderr; exit_code 0, or 1 after an
// exception; no exit code and an `error` on timeout ("timeout: ...") or when
// the interpreter died ("context_dead: ...").
stdio::ToolResult ToStdioResult(const sagewai::sandbox::v1::EvalResult& result,
                                absl::Duration timeout);

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_STDIO_H_
