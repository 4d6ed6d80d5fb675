// A small pool of threads for blocking file I/O, so that gRPC's callback
// threads never wait on a disk. Threads start when work arrives (up to
// `max_threads`) and end after `idle` without work: an idle runner has none,
// and the runner's thread count stays bounded under any load.
#ifndef SAGEWAI_TOOL_RUNNER_FS_FS_IO_POOL_H_
#define SAGEWAI_TOOL_RUNNER_FS_FS_IO_POOL_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>

#include "absl/base/attributes.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"

namespace sagewai {

class IoPool {
 public:
  using Task = absl::AnyInvocable<void() &&>;

  // `on_thread_start` runs first on every new thread (e.g. to take the
  // credentials its file work needs). `thread_failure` turns the errno of a
  // thread that could not be created into the status Submit returns (by
  // default RESOURCE_EXHAUSTED naming the errno).
  explicit IoPool(size_t max_threads, std::chrono::milliseconds idle = std::chrono::seconds(10),
                  absl::AnyInvocable<void() const> on_thread_start = nullptr,
                  absl::AnyInvocable<absl::Status(int err) const> thread_failure = nullptr);
  // Runs the tasks already queued, then joins every thread.
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  // Thread-safe. Tasks run in FIFO order, at most max_threads at once. When
  // no thread runs and none can be started (a full pids limit), the task is
  // destroyed unrun and the error comes back: the caller ends its call with
  // it. OK otherwise (a thread that could not be added leaves the task to
  // the ones running).
  ABSL_MUST_USE_RESULT absl::Status Submit(Task task);

  size_t threads() const;
  size_t queued() const;

 private:
  void WorkerLoop();

  const size_t max_threads_;
  const std::chrono::milliseconds idle_;
  const absl::AnyInvocable<void() const> on_thread_start_;
  const absl::AnyInvocable<absl::Status(int err) const> thread_failure_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable exit_cv_;
  std::deque<Task> queue_;   // guarded by mu_
  size_t threads_ = 0;       // guarded by mu_
  size_t idle_threads_ = 0;  // guarded by mu_
  bool stopping_ = false;    // guarded by mu_
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_FS_FS_IO_POOL_H_
