// `make bench`: what a pre-spawned ("warm") process could save a Bash.Run,
// measured before building one into the runner. Interleaved rounds of
//
//   cold: the runner's own SpawnProcess (clone(CLONE_VM|CLONE_VFORK), the
//         spawn assistant, setpgid, dup2, exec) of `bash -c 'echo x'`, then
//         its exit reaped;
//   warm: a process spawned the same way ahead of time, already in its own
//         group with its pipes in place, waiting in read(2); the clock starts
//         when the command is written to it, it execs `bash -c 'echo x'`
//         itself, and stops when that exit is reaped.
//
// The warm waiter here is a shell (`read` + `exec`), which costs what a
// purpose-built trampoline would: one wake-up, one execve. Its own start is
// off the clock, as a pool refilled between calls would be. Reports only.
//
//   spawn_bench [--rounds N]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "common/fd_io.h"
#include "tests/bench/bench_util.h"
#include "tool-runner/supervisor/process_group.h"

namespace sagewai {
namespace {

using bench::Clock;

ProcessSpec Spec(std::vector<std::string> argv) {
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
  spec.cwd = "/";
  return spec;
}

bool Reaped(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Spawn to reap of `bash -c 'echo x'`; -1 on failure.
double Cold() {
  const Clock::time_point start = Clock::now();
  auto proc = SpawnProcess(Spec({ShellPath(), "-c", "echo x"}));
  if (!proc.ok()) return -1;
  proc->stdin_fd.reset();
  if (!Reaped(proc->pid)) return -1;
  const double ms = bench::Ms(Clock::now() - start);
  std::string out;
  ReadToEnd(proc->stdout_fd.get(), &out);
  return out == "x\n" ? ms : -1;
}

// Command written to a waiting process, to the reap of what it exec'd.
// `waiter` is the shell that waits: bash, or the smaller dash (/bin/sh).
double Warm(const std::string& waiter) {
  auto proc = SpawnProcess(
      Spec({waiter, "-c", "read -r line && exec \"$0\" -c \"$line\"", ShellPath()}));
  if (!proc.ok()) return -1;
  // The waiter has exec'd (SpawnProcess returned); give it time to reach its
  // read, as a pool entry made before the call would have.
  usleep(3000);
  const Clock::time_point start = Clock::now();
  constexpr char kLine[] = "echo x\n";
  if (!WriteAll(proc->stdin_fd.get(), kLine, sizeof kLine - 1)) return -1;
  proc->stdin_fd.reset();
  if (!Reaped(proc->pid)) return -1;
  const double ms = bench::Ms(Clock::now() - start);
  std::string out;
  ReadToEnd(proc->stdout_fd.get(), &out);
  return out == "x\n" ? ms : -1;
}

}  // namespace
}  // namespace sagewai

int main(int argc, char** argv) {
  using namespace sagewai;  // NOLINT(google-build-using-namespace): a small program
  int rounds = 300;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--rounds") rounds = std::atoi(argv[i + 1]);
  }
  std::vector<double> cold, warm, warm_small;
  int failures = 0;
  for (int i = 0; i < rounds; ++i) {
    const double c = Cold();
    const double w = Warm(ShellPath());
    const double d = Warm("/bin/sh");
    if (c < 0 || w < 0 || d < 0) {
      ++failures;
      continue;
    }
    cold.push_back(c);
    warm.push_back(w);
    warm_small.push_back(d);
  }
  const double c50 = bench::Percentile(cold, .5);
  const double w50 = std::min(bench::Percentile(warm, .5), bench::Percentile(warm_small, .5));
  std::printf("%d interleaved rounds of each (%d failed), on the host, as this user:\n\n", rounds,
              failures);
  std::printf("| start of `bash -c 'echo x'` | p50 ms | p99 ms |\n|---|---|---|\n");
  std::printf("| cold: SpawnProcess, then exit reaped | %s | %s |\n", bench::Fixed(c50, 3).c_str(),
              bench::Fixed(bench::Percentile(cold, .99), 3).c_str());
  std::printf("| warm: command written to a waiting bash, which execs it; exit reaped | %s | %s |\n",
              bench::Fixed(bench::Percentile(warm, .5), 3).c_str(),
              bench::Fixed(bench::Percentile(warm, .99), 3).c_str());
  std::printf("| warm: the same with a waiting /bin/sh | %s | %s |\n\n",
              bench::Fixed(bench::Percentile(warm_small, .5), 3).c_str(),
              bench::Fixed(bench::Percentile(warm_small, .99), 3).c_str());
  std::printf("A warm process would save at most **%s ms** per call at p50 (%s%% of the cold start).\n",
              bench::Fixed(c50 - w50, 3).c_str(),
              bench::Fixed(c50 > 0 ? 100 * (c50 - w50) / c50 : 0, 0).c_str());
  return 0;
}
