#include "tool-runner/fs/fs_io_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
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
    pool.Submit([&] {
      std::unique_lock<std::mutex> lock(mu);
      peak = std::max(peak, ++running);
      changed.notify_all();
      changed.wait_until(lock, deadline, [&] { return release; });
      --running;
      ++done;
      changed.notify_all();
    });
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
  pool.Submit([&] { ran.set_value(); });
  EXPECT_EQ(ran_future.wait_until(deadline), std::future_status::ready);
}

TEST(IoPoolTest, DestructorRunsQueuedTasks) {
  std::atomic<int> done{0};
  {
    IoPool pool(1);
    for (int i = 0; i < 10; ++i) pool.Submit([&] { ++done; });
  }
  EXPECT_EQ(done, 10);
}

}  // namespace
}  // namespace sagewai
