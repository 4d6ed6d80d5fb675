// Starting a tool as the leader of its own process group, and ending that
// whole group.
#ifndef SAGEWAI_TOOL_RUNNER_SUPERVISOR_PROCESS_GROUP_H_
#define SAGEWAI_TOOL_RUNNER_SUPERVISOR_PROCESS_GROUP_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace sagewai {

struct ProcessSpec {
  std::vector<std::string> argv;  // argv[0] is the program's path (see ResolveProgram)
  std::vector<std::string> env;   // "NAME=value", the complete environment
  std::string cwd;                // empty: inherit
  int oom_score_adj = 1000;       // the kernel's OOM killer picks tools first
  bool new_process_group = true;
  // Descriptors the child gets as fd 3, 4, ... in this order (e.g. a control
  // channel). They stay owned by the caller, who keeps them open until the
  // spawn is over.
  std::vector<int> inherit_fds;
};

struct SpawnedProcess {
  pid_t pid = -1;
  // Non-blocking, close-on-exec ends of the child's stdin/stdout/stderr.
  UniqueFd stdin_fd;
  UniqueFd stdout_fd;
  UniqueFd stderr_fd;
};

// clone(CLONE_VM) + exec: no copy of the runner's page tables, so the caller
// waits only for the child's few set-up steps. The child waits until the
// parent has set its oom_score_adj, so the tool runs with it from its first
// instruction. Returns once the child has exec'd; a failure before exec
// (chdir, exec) comes back as an error status naming the step and errno, and
// that child is already reaped. The caller must reap a successful child.
// SIGCHLD should be blocked in the caller; the child starts with an empty
// signal mask and default dispositions.
absl::StatusOr<SpawnedProcess> SpawnProcess(const ProcessSpec& spec);

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

// `name` itself when it contains a slash, else the first executable regular
// file called `name` in the directories of `path_env` (colon-separated), else
// `name` unchanged (SpawnProcess then fails with NOT_FOUND).
std::string ResolveProgram(absl::string_view name, absl::string_view path_env);

// The shell that runs commands: /bin/bash when present, else /bin/sh.
const std::string& ShellPath();

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SUPERVISOR_PROCESS_GROUP_H_
