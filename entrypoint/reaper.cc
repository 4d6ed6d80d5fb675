#include "entrypoint/reaper.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bitset>
#include <cerrno>
#include <string>

#include "common/log.h"
#include "entrypoint/signals.h"
#include "entrypoint/step_status.h"

namespace sagewai::entrypoint {

int ExitCodeFromWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return kExitStartFailure;
}

void BecomeSubreaperUnlessInit() {
  if (getpid() == 1) return;
  if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
    log::Warn(
        "not PID 1 and cannot become a child subreaper: orphans of the command will "
        "not be reaped here",
        {{"error", strerror(errno)}});
    return;
  }
  log::Debug("not PID 1: reaping as a child subreaper", {{"pid", static_cast<int>(getpid())}});
}

bool ReapZombies(pid_t main_pid, int* main_status) {
  bool main_exited = false;
  while (true) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      if (pid == main_pid) {
        *main_status = status;
        main_exited = true;
      } else {
        log::Debug("reaped an orphan",
                   {{"pid", static_cast<int>(pid)}, {"exit_code", ExitCodeFromWaitStatus(status)}});
      }
      continue;
    }
    if (pid < 0 && errno == EINTR) continue;
    // 0: children left, none exited; ECHILD: none left.
    return main_exited;
  }
}

int Supervise(int signal_fd, pid_t main_pid, bool is_runner) {
  const pid_t self = getpid();
  int status = 0;
  std::bitset<NSIG> forwarded;
  while (!ReapZombies(main_pid, &status)) {
    signalfd_siginfo info;
    WaitForSignal(signal_fd, &info);
    const int sig = static_cast<int>(info.ssi_signo);
    if (!ShouldForward(info, self)) continue;
    if (kill(main_pid, sig) != 0 && errno != ESRCH) {
      log::Warn("cannot forward a signal to the command",
                {{"signal", sig}, {"pid", static_cast<int>(main_pid)}, {"error", strerror(errno)}});
    } else {
      if (sig > 0 && sig < NSIG) forwarded.set(sig);
      log::Debug("forwarded a signal", {{"signal", sig}, {"pid", static_cast<int>(main_pid)}});
    }
  }
  if (WIFSIGNALED(status) && !forwarded.test(WTERMSIG(status))) {
    const int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    const std::string name = abbrev != nullptr ? std::string("SIG") + abbrev : "?";
    const int code = is_runner ? kExitRunnerKilled : ExitCodeFromWaitStatus(status);
    log::Error(is_runner ? "the tool-runner died of a signal PID 1 did not send it: killed from "
                           "outside the container (kill on the host), by the kernel's OOM "
                           "killer, or it crashed; the sandbox ends"
                         : "the command died of a signal PID 1 did not send it",
               {{"signal", sig}, {"signal_name", name}, {"exit_code", code}});
    return code;
  }
  const int code = ExitCodeFromWaitStatus(status);
  log::Debug("command exited", {{"exit_code", code}});
  return code;
}

}  // namespace sagewai::entrypoint
