#include "common/fd_io.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

namespace sagewai {
namespace {

struct TestPipe {
  TestPipe() { EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0); }
  ~TestPipe() {
    for (int fd : fds)
      if (fd >= 0) close(fd);
  }
  void CloseWrite() {
    close(fds[1]);
    fds[1] = -1;
  }
  int fds[2] = {-1, -1};
};

TEST(FdIoTest, WriteAllWritesMoreThanThePipeHoldsWhileAReaderDrains) {
  TestPipe p;
  const std::string data(1 << 20, 'x');  // 16x a default pipe buffer
  std::string got;
  std::thread reader([&] { EXPECT_TRUE(ReadToEnd(p.fds[0], &got)); });
  EXPECT_TRUE(WriteAll(p.fds[1], data));
  p.CloseWrite();
  reader.join();
  EXPECT_EQ(got, data);
}

TEST(FdIoTest, WriteAllReportsABrokenPipe) {
  TestPipe p;
  close(p.fds[0]);
  p.fds[0] = -1;
  signal(SIGPIPE, SIG_IGN);
  EXPECT_FALSE(WriteAll(p.fds[1], "abc"));
  EXPECT_EQ(errno, EPIPE);
}

TEST(FdIoTest, ReadToEndStopsAtTheLimitWithEfbig) {
  TestPipe p;
  ASSERT_TRUE(WriteAll(p.fds[1], "0123456789"));
  p.CloseWrite();
  std::string got;
  EXPECT_FALSE(ReadToEnd(p.fds[0], &got, 4));
  EXPECT_EQ(errno, EFBIG);
  EXPECT_EQ(got, "0123");
}

TEST(FdIoTest, ReadToEndOfAnEmptyPipeIsEmpty) {
  TestPipe p;
  p.CloseWrite();
  std::string got = "kept";
  EXPECT_TRUE(ReadToEnd(p.fds[0], &got));
  EXPECT_EQ(got, "kept");
  EXPECT_EQ(ReadSome(p.fds[0], got.data(), 1), 0);
}

TEST(FdIoTest, ReadSomeOfABadFdFails) {
  char c;
  EXPECT_EQ(ReadSome(-1, &c, 1), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace sagewai
