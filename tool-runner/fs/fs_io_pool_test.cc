#include "tool-runner/fs/fs_io_pool.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

namespace sagewai {
namespace {

TEST(IoPoolTest, RunsEverythingWithBoundedThreadsThatGoAwayWhenIdle) {
  IoPool pool(3, std::chrono::milliseconds(100));
  EXPECT_EQ(pool.threads(), 0u);
  std::mutex mu;
  std::condition_variable changed;
  int running = 0, peak = 0, done = 0;
  bool release = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(pool.Submit([&] {
                      std::unique_lock<std::mutex> lock(mu);
                      peak = std::max(peak, ++running);
                      changed.notify_all();
                      changed.wait_until(lock, deadline, [&] { return release; });
                      --running;
                      ++done;
                      changed.notify_all();
                    })
                    .ok());
  }
  EXPECT_LE(pool.threads(), 3u);
  {
    // Every task holds its thread until released: with all of them
    // submitted, the pool must be running three at once and no more.
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(changed.wait_until(lock, deadline, [&] { return running == 3; }));
    EXPECT_EQ(pool.threads(), 3u);
    EXPECT_EQ(pool.queued(), 47u);
    release = true;
    changed.notify_all();
    changed.wait_until(lock, deadline, [&] { return done == 50; });
    EXPECT_EQ(done, 50);
    EXPECT_LE(peak, 3);
    EXPECT_GE(peak, 2) << "independent tasks should overlap";
  }
  // The idle timeout (100 ms) is what runs here; the test only looks often.
  while (pool.threads() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(pool.threads(), 0u);
  // Work after an idle period starts a thread again.
  std::promise<void> ran;
  std::future<void> ran_future = ran.get_future();
  ASSERT_TRUE(pool.Submit([&] { ran.set_value(); }).ok());
  EXPECT_EQ(ran_future.wait_until(deadline), std::future_status::ready);
}

TEST(IoPoolTest, DestructorRunsQueuedTasks) {
  std::atomic<int> done{0};
  {
    IoPool pool(1);
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(pool.Submit([&] { ++done; }).ok());
  }
  EXPECT_EQ(done, 10);
}

// Threads that cannot be created (a full pids limit: here RLIMIT_NPROC 0
// for an unprivileged user, in a child process of its own): with no thread
// running the task comes back unrun as the error; with one running, that
// thread runs it later. Never an exception out of Submit.
void DropToNobodyWithNoRoomForThreads() {
  if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(10);
  const rlimit none{0, 0};
  if (setrlimit(RLIMIT_NPROC, &none) != 0) _exit(11);
}

// Each runs in the death test's child and exits 0 when all held.
[[noreturn]] void NoThreadToRunOn() {
  DropToNobodyWithNoRoomForThreads();
  IoPool pool(2, std::chrono::milliseconds(100), nullptr, [](int err) {
    return absl::ResourceExhaustedError(err == EAGAIN ? "EAGAIN" : "other");
  });
  auto task_state = std::make_shared<int>(0);
  std::weak_ptr<int> alive = task_state;
  absl::Status s = pool.Submit([state = std::move(task_state)] { *state = 1; });
  const bool ok = s.code() == absl::StatusCode::kResourceExhausted && s.message() == "EAGAIN" &&
                  alive.expired() && pool.threads() == 0 && pool.queued() == 0;
  _exit(ok ? 0 : 1);
}

[[noreturn]] void RunningThreadTakesOver() {
  IoPool pool(2, std::chrono::seconds(10));
  std::promise<void> started, release;
  std::shared_future<void> released = release.get_future().share();
  if (!pool.Submit([&started, released] {
             started.set_value();
             released.wait();
           })
           .ok()) {
    _exit(2);
  }
  started.get_future().wait();
  DropToNobodyWithNoRoomForThreads();
  std::promise<void> second;
  std::future<void> second_done = second.get_future();
  absl::Status s = pool.Submit([&second] { second.set_value(); });
  if (!s.ok() || pool.threads() != 1) _exit(3);
  release.set_value();
  _exit(second_done.wait_for(std::chrono::seconds(30)) == std::future_status::ready ? 0 : 4);
}

TEST(IoPoolDeathTest, NoThreadToRunOnIsAnErrorNotACrash) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(NoThreadToRunOn(), testing::ExitedWithCode(0), "");
}

TEST(IoPoolDeathTest, ARunningThreadTakesWhatANewOneCouldNot) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(RunningThreadTakesOver(), testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace sagewai
