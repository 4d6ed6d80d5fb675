#include "tool-runner/fs/fs_io_pool.h"

#include <pthread.h>

#include <cerrno>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"

namespace sagewai {

IoPool::IoPool(size_t max_threads, std::chrono::milliseconds idle,
               absl::AnyInvocable<void() const> on_thread_start,
               absl::AnyInvocable<absl::Status(int err) const> thread_failure)
    : max_threads_(max_threads == 0 ? 1 : max_threads),
      idle_(idle),
      on_thread_start_(std::move(on_thread_start)),
      thread_failure_(std::move(thread_failure)) {}

IoPool::~IoPool() {
  std::unique_lock<std::mutex> lock(mu_);
  stopping_ = true;
  work_cv_.notify_all();
  exit_cv_.wait(lock, [this] { return threads_ == 0; });
}

absl::Status IoPool::Submit(Task task) {
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(std::move(task));
  work_cv_.notify_one();
  if (queue_.size() <= idle_threads_ || threads_ >= max_threads_) return absl::OkStatus();
  ++threads_;
  try {
    // Detached: the destructor waits for threads_ to reach zero instead, so
    // a thread that ends on its own leaves nothing to join.
    std::thread([this] { WorkerLoop(); }).detach();
    return absl::OkStatus();
  } catch (const std::system_error& e) {
    --threads_;
    if (threads_ > 0) return absl::OkStatus();  // a running thread gets to it
    // Nothing will ever run the queue: this task (the only one, as every
    // earlier one had a thread) goes back to the caller's hands as an error.
    Task unrun = std::move(queue_.back());
    queue_.pop_back();
    lock.unlock();  // the task's captures may take locks of their own
    unrun = nullptr;
    const int err = e.code().value() != 0 ? e.code().value() : EAGAIN;
    if (thread_failure_) return thread_failure_(err);
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot start a thread for file I/O: ", e.code().message()));
  }
}

size_t IoPool::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_;
}

size_t IoPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

void IoPool::WorkerLoop() {
  pthread_setname_np(pthread_self(), "sagewai-fs-io");
  if (on_thread_start_) on_thread_start_();
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (!queue_.empty()) {
      Task task = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      std::move(task)();
      lock.lock();
      continue;
    }
    if (stopping_) break;
    ++idle_threads_;
    const bool woke =
        work_cv_.wait_for(lock, idle_, [this] { return !queue_.empty() || stopping_; });
    --idle_threads_;
    if (!woke) break;
  }
  --threads_;
  // Notified under the lock: the destructor cannot return (and free the
  // condition variable) before this thread has let go of the mutex.
  exit_cv_.notify_all();
}

}  // namespace sagewai
