#include "entrypoint/reaper.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "entrypoint/signals.h"

namespace sagewai::entrypoint {
namespace {

TEST(ExitCodeTest, ExitStatusOrSignal) {
  EXPECT_EQ(ExitCodeFromWaitStatus(0), 0);
  EXPECT_EQ(ExitCodeFromWaitStatus(3 << 8), 3);
  EXPECT_EQ(ExitCodeFromWaitStatus(255 << 8), 255);
  EXPECT_EQ(ExitCodeFromWaitStatus(SIGTERM), 128 + SIGTERM);
  EXPECT_EQ(ExitCodeFromWaitStatus(SIGKILL | 0x80), 128 + SIGKILL);  // core dumped
}

// Runs `body` in a forked process and returns its exit code, so that blocked
// signals and subreaper state do not leak into the test runner.
template <typename Body>
int InFork(Body body) {
  const pid_t pid = fork();
  if (pid == 0) _exit(body());
  int status = 0;
  waitpid(pid, &status, 0);
  return ExitCodeFromWaitStatus(status);
}

TEST(ReapZombiesTest, ReapsOrphansAndReportsTheMainChild) {
  EXPECT_EQ(
      InFork([]() -> int {
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return 20;
        // Orphans: children of a child that exits at once.
        const pid_t middle = fork();
        if (middle == 0) {
          for (int i = 0; i < 5; ++i) {
            if (fork() == 0) _exit(0);
          }
          _exit(0);
        }
        const pid_t main_child = fork();
        if (main_child == 0) _exit(9);
        int main_status = -1;
        bool main_seen = false;
        int reaped_everything = 0;
        alarm(30);  // a hang fails the fork instead of the whole run
        for (int i = 0; i < 500 && reaped_everything == 0; ++i) {
          // Wake when a child has exited, without reaping it: that
          // is left to ReapZombies.
          siginfo_t info{};
          if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) != 0 && errno == ECHILD && !main_seen) {
            return 24;
          }
          if (ReapZombies(main_child, &main_status)) main_seen = true;
          if (main_seen && waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD) {
            reaped_everything = 1;
          }
        }
        if (!main_seen) return 21;
        if (ExitCodeFromWaitStatus(main_status) != 9) return 22;
        return reaped_everything ? 0 : 23;
      }),
      0);
}

// A child that waits for a signal, a SIGTERM to us from another process
// (and a SIGPIPE we raise ourselves, not forwarded), under Supervise.
int SuperviseForwardedSigterm(bool is_runner) {
  return InFork([is_runner]() -> int {
    sigset_t previous;
    if (!BlockSignals(&previous).ok()) return 30;
    int fd = -1;
    if (!OpenSignalFd(&fd).ok()) return 31;
    const pid_t child = fork();
    if (child == 0) {
      ResetSignalsForExec(previous);
      pause();
      _exit(0);
    }
    kill(getpid(), SIGPIPE);
    const pid_t parent = getpid();
    if (fork() == 0) {
      kill(parent, SIGTERM);
      _exit(0);
    }
    return Supervise(fd, child, is_runner);
  });
}

TEST(SuperviseTest, ForwardsSignalsAndReturnsTheChildCode) {
  EXPECT_EQ(SuperviseForwardedSigterm(/*is_runner=*/false), 128 + SIGTERM);
}

// A child that dies of `sig` by itself, under Supervise with `is_runner`.
int SuperviseChildKilledBy(int sig, bool is_runner) {
  return InFork([sig, is_runner]() -> int {
    sigset_t previous;
    if (!BlockSignals(&previous).ok()) return 40;
    int fd = -1;
    if (!OpenSignalFd(&fd).ok()) return 41;
    const pid_t child = fork();
    if (child == 0) {
      ResetSignalsForExec(previous);
      raise(sig);
      _exit(0);
    }
    return Supervise(fd, child, is_runner);
  });
}

TEST(SuperviseTest, ARunnerKilledByASignalNotForwardedGetsItsOwnCode) {
  EXPECT_EQ(SuperviseChildKilledBy(SIGKILL, /*is_runner=*/true), kExitRunnerKilled);
  EXPECT_EQ(SuperviseChildKilledBy(SIGSEGV, /*is_runner=*/true), kExitRunnerKilled);
  // Any other command: tini's 128+N.
  EXPECT_EQ(SuperviseChildKilledBy(SIGKILL, /*is_runner=*/false), 128 + SIGKILL);
}

TEST(SuperviseTest, ARunnerEndedByAForwardedSignalKeeps128PlusN) {
  EXPECT_EQ(SuperviseForwardedSigterm(/*is_runner=*/true), 128 + SIGTERM);
}

}  // namespace
}  // namespace sagewai::entrypoint
