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
#include "tool-runner/supervisor/process_tree.h"

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
  // A cgroup v2 directory the child joins before it is released (-1: none).
  int cgroup_fd = -1;
};

struct SpawnedProcess {
  pid_t pid = -1;
  // Non-blocking, close-on-exec ends of the child's stdin/stdout/stderr.
  UniqueFd stdin_fd;
  UniqueFd stdout_fd;
  UniqueFd stderr_fd;
};

// clone(CLONE_VM | CLONE_VFORK) + exec, as posix_spawn does: no copy of the
// runner's page tables, and the caller sleeps only for the child's few
// set-up steps. oom_score_adj and the cgroup are set by the runner (the
// spawn assistant) while the child waits, so the tool runs with them from
// its first instruction. Returns once the child has exec'd; a failure before
// exec (chdir, exec) comes back as an error status naming the step and
// errno, and that child is already reaped. The caller must reap a successful
// child. SIGCHLD should be blocked in the caller; the child starts with an
// empty signal mask and default dispositions.
absl::StatusOr<SpawnedProcess> SpawnProcess(const ProcessSpec& spec);

// `name` itself when it contains a slash, else the first executable regular
// file called `name` in the directories of `path_env` (colon-separated), else
// `name` unchanged (SpawnProcess then fails with NOT_FOUND).
std::string ResolveProgram(absl::string_view name, absl::string_view path_env);

// The shell that runs commands: /bin/bash when present, else /bin/sh.
const std::string& ShellPath();

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SUPERVISOR_PROCESS_GROUP_H_
