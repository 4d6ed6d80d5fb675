// Signalling the whole tree of processes a call started, found through
// /proc: the way to end a call where the runner has no cgroup of its own.
#ifndef SAGEWAI_TOOL_RUNNER_SUPERVISOR_PROCESS_TREE_H_
#define SAGEWAI_TOOL_RUNNER_SUPERVISOR_PROCESS_TREE_H_

#include <sys/types.h>

#include <vector>

namespace sagewai {

// A process by pid and start time (clock ticks since boot, /proc/PID/stat
// field 22): a later signal through it never reaches a process that reused
// the pid.
struct ProcessRef {
  pid_t pid = 0;
  unsigned long long start_time = 0;
  bool operator==(const ProcessRef& o) const { return pid == o.pid && start_time == o.start_time; }
};

// Sends `sig` to the process group `pgid` and to every process that
// descends from `root` (found through /proc), so that a tool which moved
// children into a group of their own still loses them. Those outside the
// group are added to `*outside` (when given, without duplicates): once their
// parents die they are no longer descendants of `root`, so a later signal
// must reach them through SignalRefs. Returns how many processes were
// signalled. ESRCH is not an error.
int SignalTree(pid_t pgid, pid_t root, int sig, std::vector<ProcessRef>* outside = nullptr);

// Sends `sig` to each process of `refs` that is still the same process and
// not a zombie, and to its descendants (which join `refs`); drops the ones
// that are gone. Returns how many were signalled.
int SignalRefs(std::vector<ProcessRef>* refs, int sig);

// True while any process of the group exists (zombies included).
bool GroupAlive(pid_t pgid);

// True while `ref` exists, zombie or not.
bool RefExists(const ProcessRef& ref);
// `pid` as a ProcessRef; false when there is no such process.
bool RefOf(pid_t pid, ProcessRef* ref);

// The processes of group `pgid` and those of `refs` that are still the same
// process, zombies left out: what of a killed call could still run.
std::vector<ProcessRef> LivingMembers(pid_t pgid, const std::vector<ProcessRef>& refs);

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SUPERVISOR_PROCESS_TREE_H_
