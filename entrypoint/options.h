// The entrypoint's command line: `sagewai-entrypoint [--] [COMMAND [ARG...]]`,
// `--help`, `--version`. Without a command: AGENT_COMMAND with AGENT_ARGS,
// else `sagewai-tool-runner serve`.
#ifndef SAGEWAI_ENTRYPOINT_OPTIONS_H_
#define SAGEWAI_ENTRYPOINT_OPTIONS_H_

#include <string>
#include <vector>

#include "entrypoint/step_status.h"

namespace sagewai::entrypoint {

inline constexpr char kToolRunner[] = "sagewai-tool-runner";

struct Invocation {
  enum class Mode { kRun, kHelp, kVersion };
  Mode mode = Mode::kRun;
  // argv of the child; never empty in kRun.
  std::vector<std::string> command;
};

// `args` excludes argv[0]. `agent_command` / `agent_args` are the values of
// AGENT_COMMAND / AGENT_ARGS (nullptr when unset). Fails with kExitUsage for
// an unknown option and kExitStartFailure for an AGENT_ARGS that does not split.
StepStatus ParseInvocation(const std::vector<std::string>& args, const char* agent_command,
                           const char* agent_args, Invocation* invocation);

// The --help text.
const char* UsageText();

}  // namespace sagewai::entrypoint

#endif  // SAGEWAI_ENTRYPOINT_OPTIONS_H_
