#include "cli/runner_death.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace sagewai::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RunnerDeathTest, TheEntrypointsCodeForAKilledRunnerIsNamed) {
  EXPECT_THAT(ContainerExitMeaning(3, false), HasSubstr("did not send"));
  EXPECT_THAT(ContainerExitMeaning(137, false), HasSubstr("docker kill"));
  EXPECT_THAT(ContainerExitMeaning(3, true), HasSubstr("OOM killer"));
  EXPECT_THAT(ContainerExitMeaning(139, false), HasSubstr("signal 11"));
  EXPECT_THAT(ContainerExitMeaning(1, false), HasSubstr("code 1"));
}

TEST(RunnerDeathTest, TheMessageCarriesTheLogTail) {
  const std::string text =
      FormatRunnerDeath("0123456789abcdef0123", 3, false, "line one\nline two\n");
  EXPECT_THAT(text, HasSubstr("the runner died: container 0123456789ab exited with code 3"));
  EXPECT_THAT(text, HasSubstr("\n  line one\n  line two"));
  EXPECT_THAT(text, Not(HasSubstr("0123456789abcdef0123")));
  EXPECT_THAT(FormatRunnerDeath("c", 0, false, "\n"), HasSubstr("its log is empty"));
}

// A fake engine: `inspect` prints what the test says, `logs` a fixed tail.
class FakeEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sagewai-death-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    docker_ = dir_ + "/docker";
  }
  void TearDown() override { (void)!std::system(("rm -rf '" + dir_ + "'").c_str()); }
  void Engine(const std::string& inspect_output) {
    std::ofstream(docker_) << "#!/bin/sh\ncase $1 in\n  inspect) echo '" << inspect_output
                           << "';;\n  logs) echo 'the last line' >&2;;\nesac\n";
    chmod(docker_.c_str(), 0755);
  }
  std::string dir_, docker_;
};

TEST_F(FakeEngine, AStoppedContainerIsReportedWithItsLog) {
  Engine("false 3 false");
  std::optional<std::string> report = RunnerDeathReport("abc", absl::ZeroDuration(), docker_);
  ASSERT_TRUE(report.has_value());
  EXPECT_THAT(*report, HasSubstr("exited with code 3"));
  EXPECT_THAT(*report, HasSubstr("  the last line"));
}

TEST_F(FakeEngine, ARunningContainerOrNoEngineIsNoReport) {
  Engine("true 0 false");
  EXPECT_FALSE(RunnerDeathReport("abc", absl::Milliseconds(150), docker_).has_value());
  EXPECT_FALSE(
      RunnerDeathReport("abc", absl::ZeroDuration(), dir_ + "/no-such-docker").has_value());
}

}  // namespace
}  // namespace sagewai::cli
