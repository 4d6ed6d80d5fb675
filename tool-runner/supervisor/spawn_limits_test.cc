#include "tool-runner/supervisor/spawn_limits.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/errno_status.h"

namespace sagewai {
namespace {

namespace fs = std::filesystem;

// A fake /proc/self/{cgroup,mountinfo} and cgroup tree in a temp directory.
class FakeCgroups : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sagewai-spawn-limits-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    sources_.proc_self_cgroup = dir_ + "/cgroup";
    sources_.proc_self_mountinfo = dir_ + "/mountinfo";
    sources_.cgroup_root = dir_ + "/sys";
    sources_.nproc_limit = UINT64_MAX;
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& path, const std::string& text) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << text;
  }
  // pids.max and pids.current of the cgroup directory `cg`.
  void Pids(const std::string& cg, const std::string& max, int64_t current) {
    Write(cg + "/pids.max", max + "\n");
    Write(cg + "/pids.current", std::to_string(current) + "\n");
  }
  void MountInfo(const std::string& root, const std::string& point, const std::string& type,
                 const std::string& super) {
    Write(sources_.proc_self_mountinfo,
          "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
          "30 25 0:26 " +
              root + " " + point + " rw,nosuid,nodev,noexec - " + type + " " + type + " " + super +
              "\n");
  }

  std::string dir_;
  SpawnLimitSources sources_;
};

TEST_F(FakeCgroups, V2NamespaceRootIsTheContainersLimit) {
  // What a container with a private cgroup namespace sees.
  Write(sources_.proc_self_cgroup, "0::/\n");
  MountInfo("/", dir_ + "/cg", "cgroup2", "rw,nsdelegate");
  Pids(dir_ + "/cg", "256", 256);
  auto usage = TightestPidsLimit(sources_);
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->max, 256);
  EXPECT_EQ(usage->current, 256);
  EXPECT_EQ(usage->dir, dir_ + "/cg");
}

TEST_F(FakeCgroups, V2TakesTheAncestorWithTheLeastRoom) {
  Write(sources_.proc_self_cgroup, "0::/pod/runner\n");
  MountInfo("/", dir_ + "/cg", "cgroup2", "rw");
  Pids(dir_ + "/cg/pod/runner", "max", 40);
  Pids(dir_ + "/cg/pod", "64", 60);
  Pids(dir_ + "/cg", "1000", 100);
  auto usage = TightestPidsLimit(sources_);
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->dir, dir_ + "/cg/pod");
  EXPECT_EQ(usage->max, 64);
  EXPECT_EQ(usage->current, 60);
}

TEST_F(FakeCgroups, V1PidsControllerUnderAMountedSubtree) {
  // Host cgroup namespace on v1: the container's cgroup is mounted as the root.
  Write(sources_.proc_self_cgroup, "12:pids:/docker/abc\n5:memory:/docker/abc\n0::/\n");
  MountInfo("/docker/abc", dir_ + "/pids", "cgroup", "rw,pids");
  Pids(dir_ + "/pids", "128", 127);
  auto usage = TightestPidsLimit(sources_);
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->max, 128);
  EXPECT_EQ(usage->current, 127);
}

TEST_F(FakeCgroups, V1WalksUpFromTheOwnCgroup) {
  Write(sources_.proc_self_cgroup, "3:cpu,cpuacct:/x\n7:pids:/docker/abc\n");
  MountInfo("/", dir_ + "/my\\040pids", "cgroup", "rw,pids");
  Pids(dir_ + "/my pids/docker/abc", "100", 99);
  Pids(dir_ + "/my pids/docker", "max", 500);
  auto usage = TightestPidsLimit(sources_);
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->dir, dir_ + "/my pids/docker/abc");
}

TEST_F(FakeCgroups, WithoutMountinfoTheDefaultRootIsRead) {
  Write(sources_.proc_self_cgroup, "0::/\n");
  Pids(sources_.cgroup_root, "64", 10);
  auto usage = TightestPidsLimit(sources_);
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->max, 64);
}

TEST_F(FakeCgroups, APathOutsideTheMountFallsBackToItsRoot) {
  Write(sources_.proc_self_cgroup, "0::/elsewhere/deep\n");
  MountInfo("/mine", dir_ + "/cg", "cgroup2", "rw");
  Pids(dir_ + "/cg", "32", 5);
  auto usage = TightestPidsLimit(sources_);
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->dir, dir_ + "/cg");
}

TEST_F(FakeCgroups, NoLimitAnywhere) {
  Write(sources_.proc_self_cgroup, "0::/a\n");
  MountInfo("/", dir_ + "/cg", "cgroup2", "rw");
  Pids(dir_ + "/cg/a", "max", 3);
  EXPECT_FALSE(TightestPidsLimit(sources_).has_value());
  fs::remove_all(dir_ + "/cg");
  EXPECT_FALSE(TightestPidsLimit(sources_).has_value());
  fs::remove(sources_.proc_self_cgroup);
  EXPECT_FALSE(TightestPidsLimit(sources_).has_value());
}

TEST_F(FakeCgroups, EagainNamesThePidsLimit) {
  Write(sources_.proc_self_cgroup, "0::/\n");
  MountInfo("/", dir_ + "/cg", "cgroup2", "rw");
  Pids(dir_ + "/cg", "256", 256);
  absl::Status st = SpawnFailureStatus("clone", EAGAIN, sources_);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(st.message(),
            "cannot start the command: the sandbox's process limit is reached (pids.current 256 "
            "of pids.max 256; docker run --pids-limit) — retry later or raise the limit [clone: "
            "Resource temporarily unavailable]");
  EXPECT_EQ(StatusErrno(st), EAGAIN);
}

TEST_F(FakeCgroups, EagainWithRoomInTheCgroupNamesRlimitNproc) {
  Write(sources_.proc_self_cgroup, "0::/\n");
  MountInfo("/", dir_ + "/cg", "cgroup2", "rw");
  Pids(dir_ + "/cg", "256", 20);
  sources_.nproc_limit = 50;
  absl::Status st = SpawnFailureStatus("clone", EAGAIN, sources_);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("RLIMIT_NPROC 50; docker run --ulimit nproc"), std::string::npos)
      << st.message();
}

TEST_F(FakeCgroups, EagainWithNoLimitFoundStillSaysWhatFailed) {
  absl::Status st = SpawnFailureStatus("clone", EAGAIN, sources_);
  EXPECT_EQ(st.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("cannot start the command: the kernel refused"), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("[clone: "), std::string::npos) << st.message();
}

TEST_F(FakeCgroups, OtherErrnosAreErrnoStatus) {
  Write(sources_.proc_self_cgroup, "0::/\n");
  Pids(sources_.cgroup_root, "8", 8);
  absl::Status st = SpawnFailureStatus("clone", ENOMEM, sources_);
  EXPECT_EQ(st, ErrnoStatus("clone", ENOMEM));
  EXPECT_EQ(StatusErrno(st), ENOMEM);
}

TEST(ConcurrentCallsForPidsLimit, LeavesTheReserveButKeepsAQuarter) {
  EXPECT_EQ(ConcurrentCallsForPidsLimit(256, 50, 1024), 206u);
  EXPECT_EQ(ConcurrentCallsForPidsLimit(64, 50, 1024), 16u);
  EXPECT_EQ(ConcurrentCallsForPidsLimit(100000, 50, 1024), 1024u);
  EXPECT_EQ(ConcurrentCallsForPidsLimit(2, 50, 1024), 1u);
}

}  // namespace
}  // namespace sagewai
