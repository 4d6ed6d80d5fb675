// The runner's part of starting a child between clone and exec. The child is
// created with CLONE_VM | CLONE_VFORK, so the thread that spawns it sleeps
// until it has exec'd; a second thread of the runner does what must happen
// before the tool's first instruction while the child waits for it.
#ifndef SAGEWAI_TOOL_RUNNER_SUPERVISOR_SPAWN_ASSISTANT_H_
#define SAGEWAI_TOOL_RUNNER_SUPERVISOR_SPAWN_ASSISTANT_H_

#include <sys/types.h>

namespace sagewai {

// Lives in the spawning thread's frame; the child (which shares the memory)
// sends its address over AssistantFd() and waits on `release_fd`'s pipe.
struct SpawnAssist {
  pid_t pid = 0;          // the child's, written by the child
  int oom_score_adj = 0;  // 0: left as inherited
  int cgroup_fd = -1;     // a cgroup directory to join, or -1
  int release_fd = -1;    // write end: the assistant's "go"
  // Written by the assistant before it releases the child.
  bool oom_set = false;
  int cgroup_errno = 0;
};

// The write end of the assistant's request pipe (a pointer per request),
// starting the assistant thread on first use in this process; -1 with errno
// when it cannot be started.
int AssistantFd();

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SUPERVISOR_SPAWN_ASSISTANT_H_
