#include "tool-runner/supervisor/event_loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace sagewai {
namespace {

TEST(EventLoopTest, RunsPostedTasksInOrderAndStops) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  std::vector<int> seen;
  std::thread t([&] { (*loop)->Run(); });
  for (int i = 0; i < 100; ++i) (*loop)->Post([&seen, i] { seen.push_back(i); });
  (*loop)->Post([&] { (*loop)->Stop(); });
  t.join();
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
}

TEST(EventLoopTest, TimersFireInDeadlineOrderAndCanBeCancelled) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  EventLoop& l = **loop;
  std::vector<int> order;
  l.AddTimer(std::chrono::milliseconds(30), [&] { order.push_back(2); });
  auto cancelled = l.AddTimer(std::chrono::milliseconds(10), [&] { order.push_back(99); });
  l.AddTimer(std::chrono::milliseconds(5), [&] { order.push_back(1); });
  l.AddTimer(std::chrono::milliseconds(50), [&] { l.Stop(); });
  l.CancelTimer(cancelled);
  const auto start = EventLoop::Clock::now();
  l.Run();
  EXPECT_GE(EventLoop::Clock::now() - start, std::chrono::milliseconds(50));
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(EventLoopTest, WatchesFdsAndAllowsUnwatchFromHandler) {
  auto loop = EventLoop::Create();
  ASSERT_TRUE(loop.ok());
  EventLoop& l = **loop;
  auto pipe = MakePipe();
  ASSERT_TRUE(pipe.ok());
  int calls = 0;
  const int fd = pipe->read.get();
  ASSERT_TRUE(l.Watch(fd, EPOLLIN, [&](uint32_t) {
                 char c;
                 ASSERT_EQ(read(fd, &c, 1), 1);
                 ++calls;
                 l.Unwatch(fd);
                 l.Stop();
               }).ok());
  ASSERT_EQ(write(pipe->write.get(), "xy", 2), 2);
  l.Run();
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace sagewai
