// The tools of the stdio protocol, mapped to the same handlers as gRPC.
#ifndef SAGEWAI_TOOL_RUNNER_STDIO_STDIO_TOOLS_H_
#define SAGEWAI_TOOL_RUNNER_STDIO_STDIO_TOOLS_H_

#include <string>

#include "tool-runner/stdio/stdio_protocol.h"
#include "tool-runner/supervisor/supervisor.h"

namespace sagewai {

struct StdioToolOptions {
  std::string workdir;
  size_t max_output_bytes = 1 << 20;
};

// `bash`: args.command (string, required), args.cwd (string), args.stdin
// (string), args.env (object of strings). Runs with this process's
// environment minus the control-plane variables.
void RegisterBashTool(stdio::Dispatcher& dispatcher, Supervisor& supervisor,
                      const StdioToolOptions& options);

// Turns a finished command into the stdio protocol's result.
stdio::ToolResult ToToolResult(const CommandResult& result, absl::Duration timeout);

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_STDIO_STDIO_TOOLS_H_
