#include "tests/runner/wait_for.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

namespace sagewai::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int Remaining(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// -1 with errno ESRCH when the process is already gone.
UniqueFd OpenPidfd(pid_t pid) {
  return UniqueFd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
}

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

}  // namespace

bool WaitForExit(pid_t pid, milliseconds timeout) {
  UniqueFd fd = OpenPidfd(pid);
  if (!fd) return errno == ESRCH;
  pollfd p{fd.get(), POLLIN, 0};
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    const int n = poll(&p, 1, Remaining(deadline));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

bool WaitForReaped(pid_t pid, milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  if (!WaitForExit(pid, timeout)) return false;
  return WaitUntil([pid] { return kill(pid, 0) != 0 && errno == ESRCH; },
                   milliseconds(Remaining(deadline)));
}

bool WaitForPath(const std::string& path, milliseconds timeout, pid_t pid) {
  const Clock::time_point deadline = Clock::now() + timeout;
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  UniqueFd watch(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (!watch || inotify_add_watch(watch.get(), dir.c_str(), IN_CREATE | IN_MOVED_TO) < 0) {
    return WaitUntil([&] { return Exists(path); }, timeout);
  }
  UniqueFd process = pid > 0 ? OpenPidfd(pid) : UniqueFd();
  // Checked only after the watch is in place, so that no creation is missed.
  while (!Exists(path)) {
    if (pid > 0 && !process) return false;  // already gone
    pollfd fds[2] = {{watch.get(), POLLIN, 0}, {process.get(), POLLIN, 0}};
    const int n = poll(fds, process ? 2 : 1, Remaining(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Exists(path);
    if (fds[1].revents != 0) return Exists(path);
    char events[4096];
    while (read(watch.get(), events, sizeof events) > 0) {
    }
  }
  return true;
}

bool WaitUntil(const std::function<bool()>& done, milliseconds timeout, milliseconds every) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

CommandGate::CommandGate(const std::string& dir)
    : ready_(dir + "/gate-ready"), go_(dir + "/gate-go") {
  if (mkfifo(ready_.c_str(), 0600) != 0 || mkfifo(go_.c_str(), 0600) != 0) return;
  ready_fd_ = UniqueFd(open(ready_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
  go_fd_ = UniqueFd(open(go_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
}

std::string CommandGate::Shell() const {
  return "echo >> '" + ready_ + "'; read -r gate < '" + go_ + "'";
}

bool CommandGate::WaitReady(int n, milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (n > 0) {
    pollfd p{ready_fd_.get(), POLLIN, 0};
    const int r = poll(&p, 1, Remaining(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    char buf[512];
    const ssize_t got = read(ready_fd_.get(), buf, sizeof buf);
    for (ssize_t i = 0; i < got; ++i) n -= buf[i] == '\n';
  }
  return true;
}

bool CommandGate::Release(int n) {
  const std::string lines(static_cast<size_t>(n), '\n');
  return write(go_fd_.get(), lines.data(), lines.size()) == static_cast<ssize_t>(lines.size());
}

}  // namespace sagewai::testing
