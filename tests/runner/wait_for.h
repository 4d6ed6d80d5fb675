// What the integration tests wait on instead of sleeping: a process's exit
// (pidfd), a path appearing (inotify), a command saying it is running (a
// FIFO), or, where there is no event to wait on, a condition polled until a
// deadline.
#ifndef SAGEWAI_TESTS_RUNNER_WAIT_FOR_H_
#define SAGEWAI_TESTS_RUNNER_WAIT_FOR_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>

#include "common/unique_fd.h"

namespace sagewai::testing {

// True once `pid` has exited (a zombie counts: it can do nothing more) or no
// longer exists; waits on a pidfd at most `timeout` (0: just look).
bool WaitForExit(pid_t pid, std::chrono::milliseconds timeout);
// True once `pid` is reaped (kill gives ESRCH): its exit is waited on by
// pidfd, then the reaping by its parent is polled, both within `timeout`.
bool WaitForReaped(pid_t pid, std::chrono::milliseconds timeout);

// True once `path` exists. Waits on inotify in its directory, and gives up
// early when `pid` (unless 0) exits first.
bool WaitForPath(const std::string& path, std::chrono::milliseconds timeout, pid_t pid = 0);

// For state no event reports: calls `done` every `every` until it returns
// true (then true) or `timeout` passes (then false).
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
               std::chrono::milliseconds every = std::chrono::milliseconds(2));

// Two FIFOs for commands that must be running while the test acts: each one
// writes a line to ready() when it has started, then reads one byte from
// go() before it goes on. The test keeps both open (read-write) so that no
// open blocks and no read sees end-of-file.
class CommandGate {
 public:
  explicit CommandGate(const std::string& dir);
  bool ok() const { return ready_fd_.valid() && go_fd_.valid(); }
  const std::string& ready() const { return ready_; }
  const std::string& go() const { return go_; }
  // Shell words for "say so, then wait for the go".
  std::string Shell() const;
  // Reads `n` lines from ready(); false when `timeout` passes first.
  bool WaitReady(int n, std::chrono::milliseconds timeout);
  // Lets `n` waiting commands go on.
  bool Release(int n);

 private:
  std::string ready_, go_;
  UniqueFd ready_fd_, go_fd_;
};

}  // namespace sagewai::testing

#endif  // SAGEWAI_TESTS_RUNNER_WAIT_FOR_H_
