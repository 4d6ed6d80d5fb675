// sagewai-sandbox: the host CLI of the Sagewai sandbox runtime. Dispatches to
// one subcommand; each lives in its own <name>_command.cc.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/eval_command.h"
#include "cli/exec_command.h"
#include "cli/exit_codes.h"
#include "cli/fs_command.h"
#include "cli/info_command.h"
#include "cli/validate_command.h"

namespace {

constexpr char kHelp[] =
    R"(usage: sagewai-sandbox COMMAND [OPTIONS]

The host-side client of a Sagewai sandbox's sagewai-tool-runner.

Commands:
  exec      run a command in the sandbox (stdin, stdout, stderr, signals and
            the exit code pass through)
  eval      evaluate code in a stateful interpreter (python, node, bash)
  context   create, list, delete or restart eval contexts
  info      show the runner's version, user, capabilities and limits
  validate  check that an image works as a Sagewai sandbox
  help      show help for a command: sagewai-sandbox help exec

Options:
  --version  print the version (0.1.0)
  -h, --help show this help

Runner address: --addr, else $SAGEWAI_RUNNER_ADDR, else
unix:///run/sagewai/tool-runner.sock. Token: --token-file, else
$SAGEWAI_RUNNER_TOKEN.
)";

int Help(const std::string& command) {
  if (command.empty()) {
    fputs(kHelp, stdout);
  } else if (command == "exec") {
    fputs(sagewai::cli::kExecHelp, stdout);
  } else if (command == "eval") {
    fputs(sagewai::cli::kEvalHelp, stdout);
  } else if (command == "context") {
    fputs(sagewai::cli::kContextHelp, stdout);
  } else if (command == "info") {
    fputs(sagewai::cli::kInfoHelp, stdout);
  } else if (command == "validate") {
    fputs(sagewai::cli::kValidateHelp, stdout);
  } else {
    fprintf(stderr,
            "sagewai-sandbox: no command \"%s\" (commands: exec, eval, context, info, "
            "validate)\n",
            command.c_str());
    return sagewai::cli::kExitUsage;
  }
  return sagewai::cli::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout is an EPIPE we handle, not a death.
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    fputs(kHelp, stderr);
    return sagewai::cli::kExitUsage;
  }
  const std::string command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "--version" || command == "version") {
    puts(SAGEWAI_VERSION);
    return sagewai::cli::kExitOk;
  }
  if (command == "-h" || command == "--help") return Help("");
  if (command == "help") return Help(rest.empty() ? "" : rest[0]);
  if (command == "exec") return sagewai::cli::RunExecCommand(rest);
  if (command == "fs") return sagewai::cli::RunFsCommand(rest);
  if (command == "eval") return sagewai::cli::RunEvalCommand(rest);
  if (command == "context") return sagewai::cli::RunContextCommand(rest);
  if (command == "info") return sagewai::cli::RunInfoCommand(rest);
  if (command == "validate") return sagewai::cli::RunValidateCommand(rest);
  fprintf(stderr,
          "sagewai-sandbox: unknown command \"%s\" (commands: exec, eval, context, info, "
          "validate; see "
          "--help)\n",
          command.c_str());
  return sagewai::cli::kExitUsage;
}
