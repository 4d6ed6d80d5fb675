#include "entrypoint/signals.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

namespace sagewai::entrypoint {
namespace {

TEST(HandledSignalsTest, ForwardableSignalsAreInAndFaultsAreOut) {
  const sigset_t set = HandledSignals();
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD, SIGPIPE,
                  SIGALRM, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGRTMIN, SIGRTMAX}) {
    EXPECT_EQ(sigismember(&set, sig), 1) << sig;
  }
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS, SIGKILL, SIGSTOP}) {
    EXPECT_EQ(sigismember(&set, sig), 0) << sig;
  }
}

TEST(ShouldForwardTest, SkipsChildExitAndSelfRaisedSignals) {
  signalfd_siginfo info{};
  info.ssi_signo = SIGTERM;
  info.ssi_code = SI_USER;
  info.ssi_pid = 0;  // sent from outside the namespace
  EXPECT_TRUE(ShouldForward(info, 1));
  info.ssi_pid = 57;
  EXPECT_TRUE(ShouldForward(info, 1));
  info.ssi_signo = SIGCHLD;
  EXPECT_FALSE(ShouldForward(info, 1));
  info.ssi_signo = SIGPIPE;
  info.ssi_pid = 1;
  EXPECT_FALSE(ShouldForward(info, 1));
  info.ssi_code = SI_KERNEL;  // e.g. a terminal's SIGWINCH
  info.ssi_signo = SIGWINCH;
  info.ssi_pid = 0;
  EXPECT_TRUE(ShouldForward(info, 1));
}

// Blocking, reading from the signalfd and restoring for a child, in a forked
// process so the test runner's own mask is untouched.
TEST(SignalFdTest, BlockedSignalsAreReadAndChildMaskIsRestored) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    sigset_t previous;
    if (!BlockSignals(&previous).ok()) _exit(10);
    int fd = -1;
    if (!OpenSignalFd(&fd).ok()) _exit(11);
    if (signal(SIGUSR2, SIG_IGN) == SIG_ERR) _exit(12);
    kill(getpid(), SIGUSR1);
    signalfd_siginfo info;
    WaitForSignal(fd, &info);
    if (info.ssi_signo != SIGUSR1) _exit(13);
    ResetSignalsForExec(previous);
    struct sigaction sa;
    sigaction(SIGUSR2, nullptr, &sa);
    if (sa.sa_handler != SIG_DFL) _exit(14);
    sigset_t now;
    sigprocmask(SIG_SETMASK, nullptr, &now);
    if (sigismember(&now, SIGTERM)) _exit(15);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace sagewai::entrypoint
