#include "common/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace sagewai::log {
namespace {

// Runs `fn` with stderr redirected to a pipe and returns what it wrote.
template <typename Fn>
std::string CaptureStderr(Fn fn) {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  int saved = dup(STDERR_FILENO);
  dup2(fds[1], STDERR_FILENO);
  close(fds[1]);
  fn();
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, n);
  close(fds[0]);
  return out;
}

TEST(LogTest, ParsesLevels) {
  Level l;
  EXPECT_TRUE(ParseLevel("debug", &l));
  EXPECT_EQ(l, Level::kDebug);
  EXPECT_TRUE(ParseLevel("warning", &l));
  EXPECT_EQ(l, Level::kWarn);
  EXPECT_FALSE(ParseLevel("loud", &l));
}

TEST(LogTest, WritesOneJsonLinePerEvent) {
  SetLevel(Level::kInfo);
  std::string out = CaptureStderr([] {
    Info("call done", {{"method", "Bash.Run"}, {"exit_code", 3}, {"ok", false}});
    Debug("not shown");
  });
  EXPECT_NE(out.find(R"("level":"info")"), std::string::npos) << out;
  EXPECT_NE(out.find(R"("msg":"call done","method":"Bash.Run","exit_code":3,"ok":false})"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("not shown"), std::string::npos);
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\n'), out.size() - 1);
}

TEST(LogTest, OffSilencesEverything) {
  SetLevel(Level::kOff);
  EXPECT_FALSE(Enabled(Level::kError));
  EXPECT_EQ(CaptureStderr([] { Error("x"); }), "");
  SetLevel(Level::kInfo);
}

}  // namespace
}  // namespace sagewai::log
