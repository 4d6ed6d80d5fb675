// The stdio protocol's `bash` tool: its args become a BashRequest, run as
// Bash.Run runs one (BashCommandSpec), except that the command gets this
// process's whole environment minus the control-plane variables (the
// worker sets per-call variables with `docker exec --env`) and the
// dispatcher's timeout.
//
// args: command (string, required, not empty), cwd (string), stdin
// (string), env (object of strings).
#ifndef SAGEWAI_TOOL_RUNNER_BASH_BASH_STDIO_H_
#define SAGEWAI_TOOL_RUNNER_BASH_BASH_STDIO_H_

#include "absl/status/statusor.h"
#include "common/json_reader.h"
#include "sagewai/sandbox/v1/sandbox.pb.h"
#include "tool-runner/stdio/stdio_protocol.h"
#include "tool-runner/stdio/stdio_tools.h"
#include "tool-runner/supervisor/supervisor.h"

namespace sagewai {

void RegisterBashTool(stdio::Dispatcher& dispatcher, Supervisor& supervisor,
                      const StdioToolOptions& options);

// The BashRequest of a call's args; INVALID_ARGUMENT (-32602) for bad args.
absl::StatusOr<sagewai::sandbox::v1::BashRequest> BashRequestFromArgs(const json::Value& args);

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_BASH_BASH_STDIO_H_
