// What the stdio protocol's tools share: their options and the result of a
// finished command. The tools themselves live with their subsystems
// (bash/bash_stdio.h, fs/fs_stdio_tools.h, code_eval/code_eval_stdio.h), on
// the same handlers as gRPC.
#ifndef SAGEWAI_TOOL_RUNNER_STDIO_STDIO_TOOLS_H_
#define SAGEWAI_TOOL_RUNNER_STDIO_STDIO_TOOLS_H_

#include <string>

#include "absl/time/time.h"
#include "tool-runner/stdio/stdio_protocol.h"
#include "tool-runner/supervisor/supervisor.h"

namespace sagewai {

struct StdioToolOptions {
  std::string workdir;
  size_t max_output_bytes = 1 << 20;
};

// Turns a finished command into the stdio protocol's result.
stdio::ToolResult ToToolResult(const CommandResult& result, absl::Duration timeout);

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_STDIO_STDIO_TOOLS_H_
