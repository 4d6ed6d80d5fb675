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
// the exit code for this process: the child's, or 128+N for a death by
// signal N; kExitRunnerKilled when `is_runner` and N was not forwarded by
// us. A death by a signal we did not forward is logged as an error.
int Supervise(int signal_fd, pid_t main_pid, bool is_runner = false);

}  // namespace sagewai::entrypoint

#endif  // SAGEWAI_ENTRYPOINT_REAPER_H_
