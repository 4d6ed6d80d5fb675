#include "entrypoint/options.h"

#include "common/arg_split.h"
#include "common/flag_parser.h"
#include "common/log.h"

namespace sagewai::entrypoint {
namespace {

constexpr char kDashHint[] = " (put -- before a command that starts with -; see --help)";

}  // namespace

const char* UsageText() {
  return R"(Usage: sagewai-entrypoint [--] [COMMAND [ARG...]]
       sagewai-entrypoint --help | --version

PID 1 of a Sagewai sandbox container: reaps zombies, forwards signals to its
child, exits with the child's code (128+N when it died of signal N, 127 when
the command is not found, 126 when it cannot be executed; 3 when the
tool-runner died of a signal this process did not forward, e.g. SIGKILL). Before starting the
child it removes SESSION_TOKEN, CONTROL_PLANE_URL and SESSION_ID from the
environment (sagewai-tool-runner alone receives them, through an inherited
file descriptor named by SAGEWAI_SECRETS_FD) and drops privileges to AGENT_USER.

Without COMMAND it runs AGENT_COMMAND with AGENT_ARGS (split like a shell
would, quotes and backslashes honoured, nothing expanded), and without
AGENT_COMMAND: sagewai-tool-runner serve.

Environment:
  AGENT_USER          user name, uid, or uid:gid to run as (default: agent)
  AGENT_WORKDIR       working directory of the child (default: /workspace)
  AGENT_REQUIRE_DROP  1: refuse to start when the uid cannot be changed
  AGENT_COMMAND, AGENT_ARGS
                      the command when none is given on the command line
  SAGEWAI_LOG_LEVEL   debug|info|warn|error|off (default: warn)
  SAGEWAI_PASSWD_FILE, SAGEWAI_GROUP_FILE
                      read users and groups from these files instead of
                      /etc/passwd and /etc/group (tests, unusual images)
)";
}

StepStatus ParseInvocation(const std::vector<std::string>& args, const char* agent_command,
                           const char* agent_args, Invocation* invocation) {
  *invocation = Invocation();
  static const std::vector<flags::FlagSpec> kFlags = {{"help", false, 'h'}, {"version", false}};
  flags::ParsedArgs parsed;
  std::string flag_error;
  if (!flags::ParseFlags(args, kFlags, flags::PositionalMode::kStopAtFirst, &parsed, &flag_error)) {
    return StepStatus::Fail(kExitUsage, flag_error + kDashHint);
  }
  if (parsed.Has("help") || parsed.Has("version")) {
    // The first option decides: `--version --help` prints the version.
    const bool help = parsed.Has("help") && args[0] != "--version";
    invocation->mode = help ? Invocation::Mode::kHelp : Invocation::Mode::kVersion;
    return StepStatus::Ok();
  }
  const std::vector<std::string>& command = parsed.positionals;
  // A command word like -la would be an option to the parser's eyes if it
  // were longer; ask for -- rather than guess.
  if (!parsed.saw_double_dash && !command.empty() && command[0].size() > 1 &&
      command[0][0] == '-') {
    return StepStatus::Fail(kExitUsage, "unknown option " + command[0] + kDashHint);
  }
  if (!command.empty()) {
    invocation->command = command;
    return StepStatus::Ok();
  }
  if (agent_command != nullptr && *agent_command != '\0') {
    invocation->command.push_back(agent_command);
    if (agent_args != nullptr) {
      std::vector<std::string> words;
      std::string error;
      if (!SplitShellWords(agent_args, &words, &error)) {
        return StepStatus::Fail(kExitStartFailure, "AGENT_ARGS cannot be split: " + error);
      }
      invocation->command.insert(invocation->command.end(), words.begin(), words.end());
    }
    return StepStatus::Ok();
  }
  if (agent_args != nullptr && *agent_args != '\0') {
    log::Warn("AGENT_ARGS is ignored without AGENT_COMMAND; running sagewai-tool-runner serve");
  }
  invocation->command = {kToolRunner, "serve"};
  return StepStatus::Ok();
}

}  // namespace sagewai::entrypoint
