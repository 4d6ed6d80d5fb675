// sagewai-entrypoint: PID 1 of a Sagewai sandbox container. The start-up is
// the ordered list of steps in Start(); after the child runs, Supervise()
// never returns early.
//
// Identities (DESIGN.md): a command other than the tool-runner runs as
// AGENT_USER, dropped to before it starts. The tool-runner is started with
// PID 1's privileges because it separates itself from the tools it starts
// (it becomes the runner user, tools the agent); PID 1 then follows it to the
// runner's uid, where it can still forward signals to it and no tool can
// signal or trace PID 1.
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <vector>

#include "common/environ_scrub.h"
#include "common/fd_io.h"
#include "common/log.h"
#include "common/privileges.h"
#include "common/runner_identity.h"
#include "common/secret_handoff.h"
#include "entrypoint/child.h"
#include "entrypoint/options.h"
#include "entrypoint/reaper.h"
#include "entrypoint/signals.h"
#include "entrypoint/step_status.h"

extern char** environ;

namespace sagewai::entrypoint {
namespace {

// What the steps hand on to each other.
struct Startup {
  sigset_t child_mask;
  ControlPlaneSecrets secrets;
  AgentIdentity identity;
  // Set when the command is the tool-runner: the users it will separate.
  std::optional<RunnerUsers> runner;
  std::optional<PreparedCommand> command;
  int secrets_fd = -1;
  int signal_fd = -1;
  pid_t child = -1;
};

void WriteStdout(const std::string& text) { WriteAll(STDOUT_FILENO, text); }

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Takes the control-plane variables out of the environment and out of the
// memory /proc/1/environ shows, and keeps this process out of reach of
// same-uid ptrace and /proc readers while it holds them.
StepStatus TakeSecrets(Startup* s) {
  s->secrets = ScrubControlPlaneEnv();
  unsetenv(kSecretsFdEnv);  // only this process decides who gets one
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return StepStatus::Fail(kExitStartFailure,
                            std::string("prctl(PR_SET_DUMPABLE): ") + strerror(errno));
  }
  return StepStatus::Ok();
}

StepStatus DropToAgent(Startup* s) {
  std::string error;
  if (!BecomeAgent(AgentOptions::FromEnvironment(), &s->identity, &error)) {
    return StepStatus::Fail(kExitStartFailure, error);
  }
  return StepStatus::Ok();
}

// The tool-runner drops by itself; an unknown AGENT_USER is refused here
// already, before anything starts.
StepStatus ResolveRunnerUsersStep(Startup* s) {
  RunnerUsers users;
  std::string error;
  if (!ResolveRunnerUsers(AgentOptions::FromEnvironment(), &users, &error)) {
    return StepStatus::Fail(kExitStartFailure, error);
  }
  s->runner = std::move(users);
  return StepStatus::Ok();
}

// After the runner has started: PID 1 takes the uid the runner ends up
// with, without any capability. The child is running, so a failure is
// logged and supervision goes on.
void FollowRunner(const Startup& s) {
  DropOptions options;
  options.quiet = true;  // the runner says it once if the uid cannot change
  DropResult result;
  std::string error;
  if (!DropPrivileges(RunnerTarget(*s.runner), options, SystemPrivilegeOps(), &result, &error)) {
    log::Error("PID 1 could not drop its privileges; still supervising", {{"error", error}});
    return;
  }
  log::Debug("PID 1 follows the runner", {{"uid", result.uid}, {"gid", result.gid}});
}

// Resolves the command as the agent user and builds its environment; only
// sagewai-tool-runner is handed the secrets.
StepStatus PrepareCommand(const std::vector<std::string>& argv, Startup* s) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  std::string path;
  if (StepStatus st = ResolveExecutable(argv[0], SearchPath(env), &path); !st.ok()) return st;

  if (!s->secrets.empty()) {
    if (Basename(path) == kToolRunner) {
      std::string error;
      s->secrets_fd = CreateSecretsFd(s->secrets, &error);
      if (s->secrets_fd < 0) return StepStatus::Fail(kExitStartFailure, error);
      env.push_back(std::string(kSecretsFdEnv) + "=" + std::to_string(s->secrets_fd));
      log::Debug("control-plane secrets handed over through an inherited fd",
                 {{"fd", s->secrets_fd}});
    } else {
      log::Debug("control-plane secrets withheld: the command is not sagewai-tool-runner",
                 {{"command", path}});
    }
  }
  s->secrets.Wipe();
  s->command.emplace(path, argv, std::move(env));
  return StepStatus::Ok();
}

StepStatus Spawn(Startup* s) {
  StepStatus st = SpawnChild(*s->command, s->child_mask, &s->child);
  if (s->secrets_fd >= 0) {
    close(s->secrets_fd);  // the child holds the only copy now
    s->secrets_fd = -1;
  }
  if (st.ok()) {
    log::Debug("command started",
               {{"pid", static_cast<int>(s->child)}, {"command", s->command->path()}});
  }
  return st;
}

StepStatus Start(const std::vector<std::string>& argv, Startup* s) {
  // Signals first: a SIGTERM that arrives during start-up waits for the child.
  if (StepStatus st = BlockSignals(&s->child_mask); !st.ok()) return st;
  if (StepStatus st = OpenSignalFd(&s->signal_fd); !st.ok()) return st;
  if (StepStatus st = TakeSecrets(s); !st.ok()) return st;
  BecomeSubreaperUnlessInit();
  if (Basename(argv[0]) == kToolRunner) {
    if (StepStatus st = ResolveRunnerUsersStep(s); !st.ok()) return st;
  } else {
    if (StepStatus st = DropToAgent(s); !st.ok()) return st;
  }
  if (StepStatus st = PrepareCommand(argv, s); !st.ok()) return st;
  if (StepStatus st = Spawn(s); !st.ok()) return st;
  if (s->runner) FollowRunner(*s);
  return StepStatus::Ok();
}

int Main(int argc, char** argv) {
  log::Init("entrypoint", log::Level::kWarn);
  Invocation invocation;
  StepStatus st = ParseInvocation(std::vector<std::string>(argv + 1, argv + argc),
                                  getenv("AGENT_COMMAND"), getenv("AGENT_ARGS"), &invocation);
  if (!st.ok()) {
    log::Error(st.message(), {{"exit_code", st.exit_code()}});
    return st.exit_code();
  }
  switch (invocation.mode) {
    case Invocation::Mode::kHelp:
      WriteStdout(UsageText());
      return 0;
    case Invocation::Mode::kVersion:
      WriteStdout(SAGEWAI_VERSION "\n");
      return 0;
    case Invocation::Mode::kRun:
      break;
  }
  Startup startup;
  st = Start(invocation.command, &startup);
  if (!st.ok()) {
    log::Error(st.message(), {{"exit_code", st.exit_code()}});
    return st.exit_code();
  }
  return Supervise(startup.signal_fd, startup.child, startup.runner.has_value());
}

}  // namespace
}  // namespace sagewai::entrypoint

int main(int argc, char** argv) { return sagewai::entrypoint::Main(argc, argv); }
