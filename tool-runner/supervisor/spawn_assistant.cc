#include "tool-runner/supervisor/spawn_assistant.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/fd_io.h"
#include "tool-runner/supervisor/tool_credentials.h"

namespace sagewai {
namespace {

int JoinCgroup(int cgroup_dir, pid_t pid) {
  const int fd = openat(cgroup_dir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const std::string value = absl::StrCat(pid);
  const int err = WriteAll(fd, value.data(), value.size()) ? 0 : errno;
  close(fd);
  return err;
}

void Serve(int requests) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, nullptr);
  pthread_setname_np(pthread_self(), "sagewai-spawn");  // one, for the process's life
  for (;;) {
    SpawnAssist* request = nullptr;
    if (ReadSome(requests, &request, sizeof request) != sizeof request) continue;
    // A vfork child's oom_score_adj is its own: the write does not reach the
    // runner, which shares its memory.
    if (request->oom_score_adj != 0) {
      request->oom_set = SetChildOomScoreAdj(request->pid, request->oom_score_adj) == 0;
    }
    if (request->cgroup_fd >= 0)
      request->cgroup_errno = JoinCgroup(request->cgroup_fd, request->pid);
    const int release = request->release_fd;
    (void)!write(release, "g", 1);  // `request` may be gone after this
  }
}

std::mutex g_mu;
pid_t g_owner = 0;  // the process the assistant runs in (a fork has none)
int g_requests = -1;

}  // namespace

int AssistantFd() {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_owner == getpid()) return g_requests;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  try {
    std::thread(Serve, fds[0]).detach();
  } catch (const std::system_error& e) {
    // No thread to be had (the pids limit counts threads): this spawn fails
    // with the errno, a later one tries again.
    close(fds[0]);
    close(fds[1]);
    errno = e.code().value();
    return -1;
  }
  g_owner = getpid();
  g_requests = fds[1];
  return g_requests;
}

}  // namespace sagewai
