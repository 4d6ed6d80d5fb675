// Signal handling of PID 1: every signal it may forward is blocked and read
// from a signalfd. Blocked signals count as handled, so the kernel delivers
// them to a namespace's PID 1 from inside the namespace too (it drops signals
// with a default disposition there).
#ifndef SAGEWAI_ENTRYPOINT_SIGNALS_H_
#define SAGEWAI_ENTRYPOINT_SIGNALS_H_

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/types.h>

#include "entrypoint/step_status.h"

namespace sagewai::entrypoint {

// Every catchable signal except the synchronous faults (SIGSEGV, SIGBUS,
// SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS), which must still kill this
// process, and glibc's two internal real-time signals.
sigset_t HandledSignals();

// Blocks HandledSignals(); *previous receives the mask to restore in the child.
StepStatus BlockSignals(sigset_t* previous);

// A close-on-exec signalfd for HandledSignals() (which must be blocked).
StepStatus OpenSignalFd(int* fd);

// Waits for the next handled signal: from `signal_fd`, or with sigwaitinfo()
// when the signalfd fails. Never fails.
void WaitForSignal(int signal_fd, signalfd_siginfo* info);

// Whether a signal read by PID 1 goes on to the child: not SIGCHLD, and not a
// signal this process raised on itself (SIGPIPE from a write to a closed
// stderr, say). `self` is getpid().
bool ShouldForward(const signalfd_siginfo& info, pid_t self);

// For the child between fork and exec: every disposition back to default,
// then `mask`. Async-signal-safe.
void ResetSignalsForExec(const sigset_t& mask);

}  // namespace sagewai::entrypoint

#endif  // SAGEWAI_ENTRYPOINT_SIGNALS_H_
