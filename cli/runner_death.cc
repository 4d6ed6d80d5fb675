#include "cli/runner_death.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli/subprocess.h"

namespace sagewai::cli {

std::string ContainerExitMeaning(int exit_code, bool oom_killed) {
  if (oom_killed)
    return "the kernel's OOM killer ended it (the sandbox's memory limit, start --mem)";
  switch (exit_code) {
    case 0:
      return "the runner stopped cleanly (docker stop, or it was asked to)";
    case 3:
      return "the tool-runner was killed by a signal its PID 1 did not send: a kill from the "
             "host, the kernel's OOM killer, or a crash";
    case 137:
      return "the whole container was killed (docker kill, docker stop past its grace period, "
             "or the OOM killer)";
    case 143:
      return "the runner ended on SIGTERM";
    default:
      return exit_code > 128 ? absl::StrCat("the runner died of signal ", exit_code - 128)
                             : absl::StrCat("the runner exited with code ", exit_code);
  }
}

std::string FormatRunnerDeath(const std::string& container, int exit_code, bool oom_killed,
                              const std::string& log_tail) {
  std::string text =
      absl::StrCat("the runner died: container ", container.substr(0, 12), " exited with code ",
                   exit_code, " — ", ContainerExitMeaning(exit_code, oom_killed));
  const absl::string_view tail = absl::StripTrailingAsciiWhitespace(log_tail);
  if (tail.empty()) {
    absl::StrAppend(&text, "; its log is empty");
  } else {
    absl::StrAppend(&text, ". Its last log lines:");
    for (absl::string_view line : absl::StrSplit(tail, '\n')) absl::StrAppend(&text, "\n  ", line);
  }
  return text;
}

std::optional<std::string> RunnerDeathReport(const std::string& container, absl::Duration wait,
                                             const std::string& docker) {
  RunOptions options;
  options.timeout = absl::Seconds(10);
  const absl::Time deadline = absl::Now() + wait;
  for (;;) {
    absl::StatusOr<ProcessResult> inspect =
        RunProcess({docker, "inspect", "--format",
                    "{{.State.Running}} {{.State.ExitCode}} {{.State.OOMKilled}}", container},
                   options);
    if (!inspect.ok() || inspect->exit_code != 0) return std::nullopt;
    std::vector<std::string> f =
        absl::StrSplit(absl::StripAsciiWhitespace(inspect->out), ' ', absl::SkipEmpty());
    int code = 0;
    if (f.size() != 3 || !absl::SimpleAtoi(f[1], &code)) return std::nullopt;
    if (f[0] == "false") {
      absl::StatusOr<ProcessResult> logs =
          RunProcess({docker, "logs", "--tail", "12", container}, options);
      std::string tail;
      if (logs.ok()) tail = logs->out + logs->err;  // the runner logs to stderr
      return FormatRunnerDeath(container, code, f[2] == "true", tail);
    }
    // PID 1 ends the container right after its runner; a dead socket under
    // a running container is something else (a network hiccup, a restart).
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace sagewai::cli
