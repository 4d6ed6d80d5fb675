#include "tool-runner/supervisor/oom_counter.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace sagewai {
namespace {

TEST(OomCounterTest, ParsesBothFormats) {
  EXPECT_EQ(ParseOomKillCount("low 0\nhigh 0\nmax 3\noom 2\noom_kill 2\noom_group_kill 0\n"), 2u);
  EXPECT_EQ(ParseOomKillCount("oom_kill_disable 0\nunder_oom 0\noom_kill 7\n"), 7u);
  EXPECT_FALSE(ParseOomKillCount("oom_kill_disable 0\nunder_oom 0\n"));  // old v1 kernels
  EXPECT_FALSE(ParseOomKillCount(""));
  EXPECT_FALSE(ParseOomKillCount("oom_kill x\n"));
}

TEST(OomCounterTest, MissingOrUnreadableFilesAreNone) {
  EXPECT_FALSE(ReadOomKillCount("/nonexistent/memory.events"));
  EXPECT_FALSE(ReadOomKillCount("/proc/self"));  // a directory: read fails
}

TEST(OomCounterTest, AKillTheRunnerDidNotSendWhileTheCountRose) {
  const OomEvidence oom{.signal = SIGKILL, .exit_code = 137, .count_before = 3, .count_after = 4};
  EXPECT_TRUE(KilledByOomKiller(oom));
  // A shell reporting its child's SIGKILL (`head -c 1g /dev/zero | tail`).
  EXPECT_TRUE(KilledByOomKiller({.exit_code = 137, .count_before = 0, .count_after = 1}));

  OomEvidence e = oom;
  e.runner_sent_sigkill = true;  // timeout, cancel, shutdown, a client's SIGKILL
  EXPECT_FALSE(KilledByOomKiller(e));
  e = oom;
  e.count_after = 3;  // no OOM kill meanwhile: someone else's kill -9
  EXPECT_FALSE(KilledByOomKiller(e));
  e = oom;
  e.signal = SIGSEGV;
  e.exit_code = 128 + SIGSEGV;
  EXPECT_FALSE(KilledByOomKiller(e));
  e = oom;
  e.count_before.reset();  // no counter: never claimed
  EXPECT_FALSE(KilledByOomKiller(e));
  e = oom;
  e.count_after.reset();
  EXPECT_FALSE(KilledByOomKiller(e));
  EXPECT_FALSE(KilledByOomKiller({.exit_code = 0, .count_before = 0, .count_after = 1}));
}

class FakeCgroupTree : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sagewai-oom-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    sources_.proc_self_cgroup = root_ + "/cgroup";
    sources_.cgroup_root = root_ + "/sys";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void Write(const std::string& rel, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root_ + "/" + rel).parent_path());
    std::ofstream(root_ + "/" + rel) << text;
  }
  std::string root_;
  OomCounterSources sources_;
};

TEST_F(FakeCgroupTree, V2TheRunnersOwnCgroupFirst) {
  Write("cgroup", "0::/sandbox/runner\n");
  Write("sys/sandbox/runner/memory.events", "oom 0\noom_kill 4\n");
  Write("sys/memory.events", "oom_kill 9\n");
  EXPECT_EQ(FindOomCounterFile(sources_), root_ + "/sys/sandbox/runner/memory.events");
  EXPECT_EQ(ReadOomKillCount(*FindOomCounterFile(sources_)), 4u);
}

TEST_F(FakeCgroupTree, V2InAContainersNamespaceIsTheRoot) {
  Write("cgroup", "0::/\n");
  Write("sys/memory.events", "oom_kill 1\n");
  EXPECT_EQ(FindOomCounterFile(sources_), root_ + "/sys/memory.events");
}

TEST_F(FakeCgroupTree, V1MemoryControllerAtItsPathOrTheMountsRoot) {
  Write("cgroup", "12:pids:/docker/abc\n4:memory:/docker/abc\n1:name=systemd:/docker/abc\n");
  Write("sys/memory/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
  // The container sees its own cgroup at the mount's root.
  EXPECT_EQ(FindOomCounterFile(sources_), root_ + "/sys/memory/memory.oom_control");
  Write("sys/memory/docker/abc/memory.oom_control", "oom_kill 5\n");
  EXPECT_EQ(FindOomCounterFile(sources_), root_ + "/sys/memory/docker/abc/memory.oom_control");
}

TEST_F(FakeCgroupTree, NothingReadableIsNone) {
  Write("cgroup", "0::/x\n");
  EXPECT_FALSE(FindOomCounterFile(sources_));
  EXPECT_FALSE(ReadOomKillCount(root_ + "/missing"));
}

}  // namespace
}  // namespace sagewai
