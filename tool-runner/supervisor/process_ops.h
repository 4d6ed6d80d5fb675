// What the supervisor asks of the kernel about the processes of its calls,
// behind an interface so that its unit tests can fake spawning, reaping and
// signalling (and so see orders the real kernel rarely shows).
#ifndef SAGEWAI_TOOL_RUNNER_SUPERVISOR_PROCESS_OPS_H_
#define SAGEWAI_TOOL_RUNNER_SUPERVISOR_PROCESS_OPS_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "tool-runner/supervisor/process_group.h"

namespace sagewai {

// Loop thread only.
class ProcessOps {
 public:
  virtual ~ProcessOps() = default;

  // Starts the leader of call `call` (SpawnProcess).
  virtual absl::StatusOr<SpawnedProcess> Spawn(uint64_t call, const ProcessSpec& spec) = 0;
  // waitpid(-1, status, WNOHANG): a reaped pid, 0 or -1 when there is none.
  virtual pid_t WaitAny(int* status) = 0;
  // kill(2) as the tools' owner; `pid` may be a negative group.
  virtual int Signal(pid_t pid, int sig) = 0;
  // `sig` to every process of the call: its group `pgid` and whatever left
  // it. `root` is the leader while it is not reaped (0 after); `outside`
  // keeps the processes found outside the group (or, with a cgroup, every
  // process of it) for later signals and checks.
  virtual void SignalCall(uint64_t call, pid_t pgid, pid_t root, int sig,
                          std::vector<ProcessRef>* outside) = 0;
  // Descriptors that turn readable (EPOLLIN or EPOLLPRI) when processes of
  // the call end; empty once nothing of it runs any more.
  virtual std::vector<UniqueFd> WatchCall(uint64_t call, pid_t pgid,
                                          std::vector<ProcessRef>* outside) = 0;
  // True while any process of the call exists, zombies included (they go
  // with the SIGCHLD that reaps them).
  virtual bool CallAlive(uint64_t call, pid_t pgid, const std::vector<ProcessRef>& outside) = 0;
  // The call's result is out: what it holds for the call goes (a cgroup
  // once its background processes have ended).
  virtual void ReleaseCall(uint64_t call) = 0;
};

// The kernel's: a cgroup per call when `call_cgroups` and the runner may
// create them (the log says which), else process groups and /proc scans.
std::unique_ptr<ProcessOps> SystemProcessOps(bool call_cgroups);

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SUPERVISOR_PROCESS_OPS_H_
