// sagewai-sandbox: the host CLI of the Sagewai sandbox runtime. Dispatches to
// one subcommand; each lives in its own <name>_command.cc.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/connection.h"
#include "cli/eval_command.h"
#include "cli/exec_command.h"
#include "cli/exit_codes.h"
#include "cli/fs_command.h"
#include "cli/info_command.h"
#include "cli/sandbox_commands.h"
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
  start     start a sandbox (Docker) with the production settings
  stop      stop and remove sandboxes
  run       start a sandbox, run one command in it, remove it
  list      list the sandboxes on this engine
  reap      remove sandboxes older than an age (not those in use)
  doctor    check what start needs (engine, runtimes, cgroups, image)
  help      show help for a command: sagewai-sandbox help exec

Options:
  --version  print the version (0.1.0)
  -h, --help show this help

Runner address: --addr, else $SAGEWAI_RUNNER_ADDR, else
unix:///run/sagewai/tool-runner.sock. Token: --token-file, else
$SAGEWAI_RUNNER_TOKEN. Or --sandbox ID (else $SAGEWAI_SANDBOX) for a sandbox
made by start: its socket and token file.

Before anything is sent, the peer of a unix socket must be the runner (uid
900, 0 or yours; for --sandbox, the runner's pid), and the runner must prove
it holds the session key; the token itself never crosses the socket.
--peer-uid N / --peer-pid N name another expected peer; --allow-bearer (or
SAGEWAI_ALLOW_BEARER=1) lets an old runner without Auth.Challenge have the
token in plain. A refused peer exits 77.
)";

int Help(const std::string& command) {
  if (command.empty()) {
    fputs(kHelp, stdout);
  } else if (const char* help = sagewai::cli::LifecycleHelp(command)) {
    fputs(help, stdout);
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
            "sagewai-sandbox: no command \"%s\" (commands: exec, fs, eval, context, info, "
            "validate, start, stop, run, list, reap, doctor)\n",
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
  if (command == "exec" || command == "fs" || command == "eval" || command == "context" ||
      command == "info") {
    // --sandbox ID, --peer-uid N, --peer-pid N and --allow-bearer work for
    // every command that talks to a runner; exec's own command line (after
    // the first word that is not an option) is left alone.
    if (absl::Status st = sagewai::cli::ExtractConnectionFlags(
            &rest, command == "exec",
            {"addr", "token-file", "env", "e", "cwd", "timeout", "sandbox"});
        !st.ok()) {
      fprintf(stderr, "sagewai-sandbox %s: %s\n", command.c_str(),
              std::string(st.message()).c_str());
      return sagewai::cli::kExitUsage;
    }
    auto sandbox = sagewai::cli::ExtractSandboxFlag(
        &rest, command == "exec", {"addr", "token-file", "env", "e", "cwd", "timeout"});
    if (!sandbox.ok()) {
      fprintf(stderr, "sagewai-sandbox %s: %s\n", command.c_str(),
              std::string(sandbox.status().message()).c_str());
      return sagewai::cli::kExitUsage;
    }
    sagewai::cli::SetSandboxFlag(*sandbox);
  }
  if (int code = 0; sagewai::cli::RunLifecycleCommand(command, rest, &code)) return code;
  if (command == "exec") return sagewai::cli::RunExecCommand(rest);
  if (command == "fs") return sagewai::cli::RunFsCommand(rest);
  if (command == "eval") return sagewai::cli::RunEvalCommand(rest);
  if (command == "context") return sagewai::cli::RunContextCommand(rest);
  if (command == "info") return sagewai::cli::RunInfoCommand(rest);
  if (command == "validate") return sagewai::cli::RunValidateCommand(rest);
  fprintf(stderr,
          "sagewai-sandbox: unknown command \"%s\" (commands: exec, fs, eval, context, info, "
          "validate, start, stop, run, list, reap, doctor; see --help)\n",
          command.c_str());
  return sagewai::cli::kExitUsage;
}
