#include "tool-runner/fs/fs_io_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace sagewai {
namespace {

TEST(IoPoolTest, RunsEverythingWithBoundedThreadsThatGoAwayWhenIdle) {
  IoPool pool(3, std::chrono::milliseconds(100));
  EXPECT_EQ(pool.threads(), 0u);
  std::atomic<int> running{0}, peak{0}, done{0};
  for (int i = 0; i < 50; ++i) {
    pool.Submit([&] {
      int now = ++running;
      int p = peak.load();
      while (now > p && !peak.compare_exchange_weak(p, now)) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      --running;
      ++done;
    });
  }
  EXPECT_LE(pool.threads(), 3u);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (done < 50 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(done, 50);
  EXPECT_LE(peak, 3);
  EXPECT_GE(peak, 2) << "independent tasks should overlap";
  while (pool.threads() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(pool.threads(), 0u);
  // Work after an idle period starts a thread again.
  std::atomic<bool> ran{false};
  pool.Submit([&] { ran = true; });
  while (!ran && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(ran);
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
