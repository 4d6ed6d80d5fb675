// PID 1's main loop: reap every zombie (orphans re-parented to it included),
// forward signals to the child, and finish with the child's exit code.
#ifndef SAGEWAI_ENTRYPOINT_REAPER_H_
#define SAGEWAI_ENTRYPOINT_REAPER_H_

#include <sys/types.h>

#include "entrypoint/step_status.h"

namespace sagewai::entrypoint {

// A shell's view of a wait status: the exit code, or 128+N for signal N.
int ExitCodeFromWaitStatus(int status);

// When this process is not PID 1, makes it a child subreaper so that orphans
// of its child are re-parented to it and reaped here. Failure is only logged.
void BecomeSubreaperUnlessInit();

// Reaps every child that has exited, without blocking. True when `main_pid`
// was among them; *main_status then holds its wait status.
bool ReapZombies(pid_t main_pid, int* main_status);

// Runs until `main_pid` exits: forwards the signals read from `signal_fd` to
// it and reaps every zombie. Never gives up on an error of its own. Returns
// the exit code for this process.
int Supervise(int signal_fd, pid_t main_pid);

}  // namespace sagewai::entrypoint

#endif  // SAGEWAI_ENTRYPOINT_REAPER_H_
