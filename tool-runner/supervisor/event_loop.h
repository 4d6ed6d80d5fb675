// A single-threaded epoll loop with timers and a thread-safe task queue.
// Everything that touches child processes runs on this one thread, so process
// state needs no locks; other threads hand work over with Post().
#ifndef SAGEWAI_TOOL_RUNNER_SUPERVISOR_EVENT_LOOP_H_
#define SAGEWAI_TOOL_RUNNER_SUPERVISOR_EVENT_LOOP_H_

#include <sys/epoll.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace sagewai {

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using FdHandler = std::function<void(uint32_t events)>;
  using TimerId = uint64_t;

  static absl::StatusOr<std::unique_ptr<EventLoop>> Create();
  ~EventLoop();

  // Thread-safe. Runs `fn` on the loop thread, in order. Returns false (and
  // drops `fn`) once Stop() was called.
  bool Post(std::function<void()> fn);

  // Loop thread only (or before Run()).
  absl::Status Watch(int fd, uint32_t events, FdHandler handler);
  absl::Status Modify(int fd, uint32_t events);
  void Unwatch(int fd);
  TimerId AddTimer(Clock::duration after, std::function<void()> fn);
  void CancelTimer(TimerId id);

  // Runs until Stop(); then runs the tasks already posted and returns.
  void Run();
  // Thread-safe.
  void Stop();
  bool InLoopThread() const { return std::this_thread::get_id() == loop_thread_; }

 private:
  EventLoop(UniqueFd epoll, UniqueFd wake);
  void Wake();
  void RunPosted();
  int NextTimeoutMs();
  void RunDueTimers();

  UniqueFd epoll_;
  UniqueFd wake_;  // eventfd
  std::thread::id loop_thread_;

  std::mutex mu_;
  std::vector<std::function<void()>> posted_;  // guarded by mu_
  bool stopping_ = false;                      // guarded by mu_

  std::unordered_map<int, std::shared_ptr<FdHandler>> handlers_;
  std::multimap<Clock::time_point, TimerId> timer_order_;
  std::unordered_map<TimerId, std::pair<Clock::time_point, std::function<void()>>> timers_;
  TimerId next_timer_ = 1;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SUPERVISOR_EVENT_LOOP_H_
