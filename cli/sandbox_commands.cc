#include "cli/sandbox_commands.h"

#include <signal.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli/connection.h"
#include "cli/docker.h"
#include "cli/exec_command.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "cli/sandbox_inventory.h"
#include "cli/sandbox_labels.h"
#include "cli/sandbox_launch.h"
#include "cli/sandbox_start.h"
#include "cli/sandbox_state.h"
#include "common/json_writer.h"

namespace sagewai::cli {

const char kStartHelp[] =
    R"(usage: sagewai-sandbox start [OPTIONS] [--json]

Starts a sandbox container with the worker's production settings (--cap-drop
ALL plus SETUID, SETGID and SETPCAP for the entrypoint's drop to uid 1000,
no-new-privileges, a read-only root, a noexec /tmp tmpfs, the limits below),
a fresh random SESSION_TOKEN passed to docker by name (never in an argv), and
the runner's socket in a private host directory mounted at /run/sagewai.
Waits until the runner answers SERVING, then prints the sandbox id, the
address and the token file:

  sandbox    sbx-0123456789ab
  addr       unix:///var/lib/sagewai-sandbox/sbx-0123456789ab/run/tool-runner.sock
  token_file /var/lib/sagewai-sandbox/sbx-0123456789ab/token
  ...

Then: sagewai-sandbox exec --sandbox ID -- COMMAND (also fs, eval, info) and
sagewai-sandbox stop ID. The container carries the worker's labels
(sagewai.sandbox_id, run_id, project_id, image, lifetime, started_at), so the
worker's list and reap see it.

Options:
)"
    "%START_OPTIONS%"
    R"(  --json             print one JSON object: sandbox_id, addr, token_file,
                     container_id, state_dir, workspace, image, serving_ms
  -h, --help         show this help

State: $SAGEWAI_SANDBOX_STATE_DIR, else /var/lib/sagewai-sandbox (root), else
~/.local/state/sagewai/sandboxes; one 0700 directory per sandbox.

Exit status: 0 started; 1 it did not start (image missing, container exited
at start — its last log lines are shown —, not serving in time); 2 usage;
69 no Docker engine; 74 the state directory could not be written;
130 interrupted (nothing is left behind).
)";

const char kStopHelp[] =
    R"(usage: sagewai-sandbox stop ID... [--time SECONDS]

Stops each sandbox gracefully (SIGTERM; SIGKILL after --time, default 10),
removes its container and its state directory (socket, token, workspace
unless it was a --workspace of yours).

Exit status: 0 done; 1 no such sandbox or it could not be removed; 2 usage;
69 no Docker engine.
)";

const char kRunHelp[] =
    R"(usage: sagewai-sandbox run [START OPTIONS] [--timeout SECONDS] -- COMMAND...

One sandbox for one command (the worker's per_tool mode): starts a sandbox as
`start` does, runs COMMAND in it over Bash.Stream as `exec` does (stdin,
stdout, stderr and signals pass through), stops and removes the sandbox, and
exits with the command's exit code. While it runs, the sandbox's lock holds
this process's pid, and `reap` leaves it alone.

Start options:
)"
    "%START_OPTIONS%"
    R"(  --timeout SECONDS  end the command after this long (exit 124)
  -h, --help         show this help

Exit status: the command's (0-255, 124 timeout, 128+N signal N); when the
sandbox cannot be started, as for start.
)";

namespace {

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted = true; }

void InstallInterruptHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

std::string WithStartOptions(const char* help) {
  std::string text = help;
  const std::string marker = "%START_OPTIONS%";
  size_t at = text.find(marker);
  if (at != std::string::npos) text.replace(at, marker.size(), kStartOptionsHelp);
  return text;
}

int Usage(const char* command, absl::string_view message) {
  fprintf(stderr, "sagewai-sandbox %s: %s (see --help)\n", command, std::string(message).c_str());
  return kExitUsage;
}

// `run`: the forwarded signals are blocked in every thread from the start
// (exec reads them from a signalfd, and gRPC threads made while starting
// must not take them); while the sandbox starts, this thread turns them into
// an interruption instead.
class StartInterruptWatcher {
 public:
  explicit StartInterruptWatcher(const sigset_t& set) : set_(set) {
    thread_ = std::thread([this] {
      while (!done_) {
        timespec wait{0, 100 * 1000 * 1000};
        if (sigtimedwait(&set_, nullptr, &wait) > 0) g_interrupted = true;
      }
    });
  }
  ~StartInterruptWatcher() {
    done_ = true;
    thread_.join();
  }

 private:
  sigset_t set_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace

int RunStartCommand(const std::vector<std::string>& args) {
  std::vector<FlagSpec> specs = StartFlagSpecs();
  specs.push_back({"json", false});
  specs.push_back({"help", false, 'h'});
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, specs, PositionalMode::kInterleaved);
  if (!parsed.ok()) return Usage("start", parsed.status().message());
  if (parsed->Has("help")) {
    fputs(WithStartOptions(kStartHelp).c_str(), stdout);
    return kExitOk;
  }
  if (!parsed->positionals.empty()) {
    return Usage("start", absl::StrCat("unexpected argument \"", parsed->positionals[0], "\""));
  }
  absl::StatusOr<StartOptions> options = StartOptionsFromFlags(*parsed);
  if (!options.ok()) return Usage("start", options.status().message());
  if (options->disk_bytes && *options->disk_bytes > options->memory_bytes) {
    fprintf(stderr,
            "note: the /workspace tmpfs (--disk %s) counts against the memory limit (--mem %s): "
            "past that, the writer is OOM-killed before the disk is full; raise --mem for a "
            "hard ENOSPC at --disk\n",
            FormatSize(*options->disk_bytes).c_str(), FormatSize(options->memory_bytes).c_str());
  }
  InstallInterruptHandlers();
  StartedSandbox started;
  CliError error;
  if (!StartSandbox(*options, /*hold=*/false, &g_interrupted, &started, &error)) {
    fprintf(stderr, "sagewai-sandbox start: %s\n", error.message.c_str());
    return error.exit_code;
  }
  if (parsed->Has("json")) {
    printf("%s\n", json::ObjectWriter()
                       .String("sandbox_id", started.id)
                       .String("addr", started.paths.Address())
                       .String("token_file", started.paths.token_file)
                       .String("container_id", started.container)
                       .String("state_dir", started.paths.dir)
                       .String("workspace", started.workspace)
                       .String("image", started.image)
                       .Int("serving_ms", absl::ToInt64Milliseconds(started.serving_time))
                       .Int("docker_run_ms", absl::ToInt64Milliseconds(started.run_time))
                       .Finish()
                       .c_str());
  } else {
    PrintTable({{"sandbox", started.id},
                {"addr", started.paths.Address()},
                {"token_file", started.paths.token_file},
                {"container", started.container.substr(0, 12)},
                {"workspace", started.workspace},
                {"image", started.image}});
    fprintf(stderr,
            "serving %d ms after docker run; use: sagewai-sandbox exec --sandbox %s -- CMD; "
            "stop: sagewai-sandbox stop %s\n",
            static_cast<int>(absl::ToInt64Milliseconds(started.serving_time)), started.id.c_str(),
            started.id.c_str());
  }
  return kExitOk;
}

int RunStopCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> kSpecs = {
      {"time", true, 't'}, {"docker", true}, {"help", false, 'h'}};
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, kSpecs, PositionalMode::kInterleaved);
  if (!parsed.ok()) return Usage("stop", parsed.status().message());
  if (parsed->Has("help")) {
    fputs(kStopHelp, stdout);
    return kExitOk;
  }
  if (parsed->positionals.empty()) return Usage("stop", "no sandbox ID given");
  int grace = 10;
  if (std::optional<std::string> t = parsed->Last("time")) {
    if (!absl::SimpleAtoi(*t, &grace) || grace < 0 || grace > 3600) {
      return Usage("stop", absl::StrCat("--time ", *t, ": expected whole seconds (0-3600)"));
    }
  }
  const std::string docker = parsed->Last("docker").value_or("docker");
  int rc = kExitOk;
  for (const std::string& id : parsed->positionals) {
    std::vector<std::string> said;
    absl::Status status = StopSandbox(docker, id, absl::Seconds(grace), &said);
    for (const std::string& line : said) printf("%s: %s\n", id.c_str(), line.c_str());
    if (!status.ok()) {
      fprintf(stderr, "sagewai-sandbox stop: %s\n", std::string(status.message()).c_str());
      if (absl::IsInvalidArgument(status)) return kExitUsage;
      rc = absl::IsUnavailable(status) ? kExitUnavailable : kExitCheckFailed;
    }
  }
  return rc;
}

int RunRunCommand(const std::vector<std::string>& args) {
  std::vector<FlagSpec> specs = StartFlagSpecs();
  specs.push_back({"timeout", true});
  specs.push_back({"help", false, 'h'});
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, specs, PositionalMode::kStopAtFirst);
  if (!parsed.ok()) return Usage("run", parsed.status().message());
  if (parsed->Has("help")) {
    fputs(WithStartOptions(kRunHelp).c_str(), stdout);
    return kExitOk;
  }
  if (parsed->positionals.empty()) return Usage("run", "no COMMAND given after --");
  absl::StatusOr<StartOptions> options = StartOptionsFromFlags(*parsed);
  if (!options.ok()) return Usage("run", options.status().message());
  options->lifetime = "per_tool";

  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&forwarded, sig);
  pthread_sigmask(SIG_BLOCK, &forwarded, nullptr);
  StartedSandbox started;
  CliError error;
  bool ok;
  {
    StartInterruptWatcher watcher(forwarded);
    ok = StartSandbox(*options, /*hold=*/true, &g_interrupted, &started, &error);
  }
  if (!ok) {
    fprintf(stderr, "sagewai-sandbox run: %s\n", error.message.c_str());
    return error.exit_code;
  }
  // By id, not by --addr: the peer check then expects the runner's pid,
  // whatever uid this start state gave it.
  SetSandboxFlag(started.id);
  std::vector<std::string> exec_args;
  if (std::optional<std::string> t = parsed->Last("timeout")) {
    exec_args.insert(exec_args.end(), {"--timeout", *t});
  }
  exec_args.push_back("--");
  exec_args.insert(exec_args.end(), parsed->positionals.begin(), parsed->positionals.end());
  const int rc = g_interrupted ? 130 : RunExecCommand(exec_args);

  std::vector<std::string> said;
  absl::Status stopped = StopSandbox(options->docker, started.id, absl::Seconds(2), &said);
  if (!stopped.ok()) {
    fprintf(stderr, "sagewai-sandbox run: warning: could not remove sandbox %s: %s\n",
            started.id.c_str(), std::string(stopped.message()).c_str());
  }
  for (const std::string& line : said) {
    if (absl::StartsWith(line, "warning"))
      fprintf(stderr, "sagewai-sandbox run: %s\n", line.c_str());
  }
  return rc;
}

const char* LifecycleHelp(const std::string& command) {
  static const std::string start = WithStartOptions(kStartHelp);
  static const std::string run = WithStartOptions(kRunHelp);
  if (command == "start") return start.c_str();
  if (command == "run") return run.c_str();
  if (command == "stop") return kStopHelp;
  if (command == "list") return kListHelp;
  if (command == "reap") return kReapHelp;
  if (command == "doctor") return kDoctorHelp;
  return nullptr;
}

bool RunLifecycleCommand(const std::string& command, const std::vector<std::string>& args,
                         int* exit_code) {
  if (command == "start") {
    *exit_code = RunStartCommand(args);
  } else if (command == "stop") {
    *exit_code = RunStopCommand(args);
  } else if (command == "run") {
    *exit_code = RunRunCommand(args);
  } else if (command == "list") {
    *exit_code = RunListCommand(args);
  } else if (command == "reap") {
    *exit_code = RunReapCommand(args);
  } else if (command == "doctor") {
    *exit_code = RunDoctorCommand(args);
  } else {
    return false;
  }
  return true;
}

}  // namespace sagewai::cli
