#include "entrypoint/signals.h"

#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/log.h"

namespace sagewai::entrypoint {
namespace {

constexpr int kSynchronousSignals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};

}  // namespace

sigset_t HandledSignals() {
  sigset_t set;
  sigfillset(&set);
  for (int sig : kSynchronousSignals) sigdelset(&set, sig);
  sigdelset(&set, SIGKILL);
  sigdelset(&set, SIGSTOP);
  // glibc reserves the real-time signals below SIGRTMIN for itself.
  for (int sig = __SIGRTMIN; sig < SIGRTMIN; ++sig) sigdelset(&set, sig);
  return set;
}

StepStatus BlockSignals(sigset_t* previous) {
  const sigset_t set = HandledSignals();
  if (sigprocmask(SIG_BLOCK, &set, previous) != 0) {
    return StepStatus::Fail(kExitStartFailure,
                            std::string("cannot block signals: sigprocmask: ") + strerror(errno));
  }
  return StepStatus::Ok();
}

StepStatus OpenSignalFd(int* fd) {
  const sigset_t set = HandledSignals();
  *fd = signalfd(-1, &set, SFD_CLOEXEC);
  if (*fd < 0) {
    return StepStatus::Fail(kExitStartFailure,
                            std::string("cannot read signals: signalfd: ") + strerror(errno));
  }
  return StepStatus::Ok();
}

void WaitForSignal(int signal_fd, signalfd_siginfo* info) {
  static bool signalfd_broken = false;
  while (!signalfd_broken) {
    const ssize_t n = read(signal_fd, info, sizeof *info);
    if (n == static_cast<ssize_t>(sizeof *info)) return;
    if (n < 0 && errno == EINTR) continue;
    log::Error("signalfd read failed; waiting for signals with sigwaitinfo instead",
               {{"error", n < 0 ? strerror(errno) : "short read"}});
    signalfd_broken = true;
  }
  const sigset_t set = HandledSignals();
  siginfo_t si;
  while (true) {
    const int sig = sigwaitinfo(&set, &si);
    if (sig > 0) {
      memset(info, 0, sizeof *info);
      info->ssi_signo = static_cast<uint32_t>(sig);
      info->ssi_code = si.si_code;
      info->ssi_pid = static_cast<uint32_t>(si.si_pid);
      return;
    }
    // EINTR only (the set is valid): try again.
  }
}

bool ShouldForward(const signalfd_siginfo& info, pid_t self) {
  if (info.ssi_signo == SIGCHLD) return false;
  // Kernel-raised signals for our own actions (SIGPIPE, SIGXFSZ) name us as sender.
  if (info.ssi_pid == static_cast<uint32_t>(self) && info.ssi_code == SI_USER) return false;
  return true;
}

void ResetSignalsForExec(const sigset_t& mask) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    sigaction(sig, &dfl, nullptr);  // EINVAL for glibc's reserved ones: harmless
  }
  sigprocmask(SIG_SETMASK, &mask, nullptr);
}

}  // namespace sagewai::entrypoint
