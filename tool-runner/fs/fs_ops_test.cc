#include "tool-runner/fs/fs_ops.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/fs_test_util.h"

namespace sagewai::fs {
namespace {

namespace v1 = ::sagewai::sandbox::v1;
using testing::Exists;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

std::vector<std::string> ListedNames(const v1::ListResponse& r) {
  std::vector<std::string> out;
  for (const auto& e : r.entries()) out.push_back(e.name());
  return out;
}

TEST(FsOpsTest, ReadRefusesWhatIsNotARegularFileWithoutHanging) {
  TempDir dir;
  ASSERT_EQ(mkfifo((dir / "fifo").c_str(), 0600), 0);
  mkdir((dir / "sub").c_str(), 0755);
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& p : {dir / "fifo", dir / "sub", std::string("/dev/null")}) {
    auto f = OpenForRead(p);
    EXPECT_EQ(f.status().code(), absl::StatusCode::kFailedPrecondition) << p;
    EXPECT_NE(f.status().message().find(p), std::string::npos) << f.status();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(OpenForRead(dir / "none").status().code(), absl::StatusCode::kNotFound);
}

// Under --cap-drop ALL the I/O thread's fsuid owns the runner's own /proc
// files: reading them would hand out the runner's memory.
TEST(FsOpsTest, ReadRefusesProcfsByEverySpelling) {
  for (const std::string& p :
       std::vector<std::string>{"/proc/self/mem", "/proc/self/environ", "/proc/thread-self/status",
                                "/proc/" + std::to_string(getpid()) + "/maps"}) {
    auto f = OpenForRead(p);
    EXPECT_EQ(f.status().code(), absl::StatusCode::kPermissionDenied) << p;
  }
}

TEST(FsOpsTest, ReadAtReadsRangesAndStopsAtEof) {
  TempDir dir;
  WriteFile(dir / "f", "0123456789");
  auto f = OpenForRead(dir / "f");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->size, 10u);
  char buf[16];
  auto n = ReadAt(f->fd.get(), buf, 4, 3, dir / "f");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "3456");
  n = ReadAt(f->fd.get(), buf, 16, 8, dir / "f");
  EXPECT_EQ(std::string(buf, *n), "89");
  EXPECT_EQ(*ReadAt(f->fd.get(), buf, 16, 100, dir / "f"), 0u);
}

TEST(FsOpsTest, ListIsSortedDepthLimitedAndNeverFollowsLinks) {
  TempDir dir;
  mkdir((dir / "b").c_str(), 0755);
  mkdir((dir / "b/c").c_str(), 0755);
  WriteFile(dir / "b/c/deep", "x");
  WriteFile(dir / "a", "xy");
  ASSERT_EQ(symlink(dir.path().c_str(), (dir / "loop").c_str()), 0);
  v1::ListResponse one;
  ASSERT_TRUE(List(dir.path(), 0, 0, &one).ok());
  EXPECT_EQ(ListedNames(one), (std::vector<std::string>{"a", "b", "loop"}));
  EXPECT_FALSE(one.truncated());
  EXPECT_EQ(one.entries(0).size(), 2u);
  EXPECT_EQ(one.entries(0).path(), dir / "a");
  EXPECT_EQ(one.entries(2).type(), v1::FILE_TYPE_SYMLINK);
  EXPECT_EQ(one.entries(2).symlink_target(), dir.path());

  v1::ListResponse all;
  ASSERT_TRUE(List(dir.path(), 10, 0, &all).ok());
  EXPECT_EQ(ListedNames(all), (std::vector<std::string>{"a", "b", "b/c", "b/c/deep", "loop"}));

  v1::ListResponse capped;
  ASSERT_TRUE(List(dir.path(), 10, 3, &capped).ok());
  EXPECT_EQ(capped.entries_size(), 3);
  EXPECT_TRUE(capped.truncated());

  v1::ListResponse err;
  EXPECT_EQ(List(dir / "a", 1, 0, &err).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(List(dir / "nope", 1, 0, &err).code(), absl::StatusCode::kNotFound);
}

TEST(FsOpsTest, MakeDirWithAndWithoutParents) {
  TempDir dir;
  v1::MakeDirResponse r;
  EXPECT_EQ(MakeDir(dir / "x/y", false, 0, &r).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(MakeDir(dir / "x/y", true, 0, &r).ok());
  EXPECT_TRUE(r.created());
  EXPECT_EQ(r.info().type(), v1::FILE_TYPE_DIRECTORY);
  ASSERT_TRUE(MakeDir(dir / "x/y", true, 0, &r).ok());
  EXPECT_FALSE(r.created());
  EXPECT_EQ(MakeDir(dir / "x/y", false, 0, &r).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(MakeDir(dir / "m", false, 0700, &r).ok());
  EXPECT_EQ(r.info().mode(), 0700u);
  WriteFile(dir / "file", "");
  EXPECT_EQ(MakeDir(dir / "file", true, 0, &r).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(MakeDir(dir / "file/sub", true, 0, &r).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(FsOpsTest, RemoveFilesLinksAndTrees) {
  TempDir dir;
  const std::string work = dir / "work";
  mkdir(work.c_str(), 0755);
  WriteFile(dir / "target", "keep");
  ASSERT_EQ(symlink((dir / "target").c_str(), (dir / "link").c_str()), 0);
  EXPECT_EQ(*Remove(dir / "link", false, work), 1u);
  EXPECT_EQ(ReadFile(dir / "target"), "keep");

  mkdir((dir / "t").c_str(), 0755);
  mkdir((dir / "t/u").c_str(), 0755);
  WriteFile(dir / "t/u/f", "1");
  WriteFile(dir / "t/g", "2");
  ASSERT_EQ(symlink((dir / "target").c_str(), (dir / "t/l").c_str()), 0);
  auto refused = Remove(dir / "t", false, work);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("recursive"), std::string::npos);
  EXPECT_EQ(*Remove(dir / "t", true, work), 5u);
  EXPECT_FALSE(Exists(dir / "t"));
  EXPECT_EQ(ReadFile(dir / "target"), "keep");

  mkdir((dir / "empty").c_str(), 0755);
  EXPECT_EQ(*Remove(dir / "empty", false, work), 1u);
  EXPECT_EQ(Remove(dir / "gone", false, work).status().code(), absl::StatusCode::kNotFound);
}

TEST(FsOpsTest, RemoveRefusesRootWorkdirAndItsAncestors) {
  TempDir dir;
  const std::string work = dir / "work";
  mkdir(work.c_str(), 0755);
  WriteFile(dir / "work/f", "");
  for (const std::string& p : {std::string("/"), work, work + "/", work + "/.", dir.path()}) {
    auto r = Remove(p, true, work);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << p;
  }
  EXPECT_TRUE(Exists(work + "/f"));
  // A symlink to the work directory is only a link.
  ASSERT_EQ(symlink(work.c_str(), (dir / "wl").c_str()), 0);
  EXPECT_EQ(*Remove(dir / "wl", true, work), 1u);
  EXPECT_TRUE(Exists(work + "/f"));
}

TEST(FsOpsTest, MoveRenamesAndGuardsTheDestination) {
  TempDir dir;
  WriteFile(dir / "a", "A");
  WriteFile(dir / "b", "B");
  EXPECT_EQ(Move(dir / "a", dir / "b", false, false).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFile(dir / "b"), "B");
  auto moved = Move(dir / "a", dir / "b", true, false);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(ReadFile(dir / "b"), "A");
  EXPECT_FALSE(Exists(dir / "a"));
  EXPECT_EQ(Move(dir / "b", dir / "x/y/b", false, false).status().code(),
            absl::StatusCode::kNotFound);
  moved = Move(dir / "b", dir / "x/y/b", false, true);
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->path(), dir / "x/y/b");
  EXPECT_EQ(Move(dir / "none", dir / "z", false, false).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(FsOpsTest, MoveAcrossFilesystemsCopiesThenRemoves) {
  TempDir dir;
  const std::string mnt = dir / "mnt";
  mkdir(mnt.c_str(), 0755);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=8m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << strerror(errno)
                 << "): needs root; the cross-filesystem move is not exercised";
  }
  mkdir((dir / "tree").c_str(), 0750);
  WriteFile(dir / "tree/f", "content");
  chmod((dir / "tree/f").c_str(), 0600);
  ASSERT_EQ(symlink("f", (dir / "tree/l").c_str()), 0);
  auto moved = Move(dir / "tree", mnt + "/tree", false, false);
  EXPECT_TRUE(moved.ok()) << moved.status();
  EXPECT_FALSE(Exists(dir / "tree"));
  EXPECT_EQ(ReadFile(mnt + "/tree/f"), "content");
  struct stat st;
  ASSERT_EQ(stat((mnt + "/tree/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(lstat((mnt + "/tree/l").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(stat((mnt + "/tree").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  // Onto an existing destination across filesystems: refused, both intact.
  WriteFile(dir / "one", "1");
  WriteFile(mnt + "/one", "other");
  EXPECT_EQ(Move(dir / "one", mnt + "/one", false, false).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadFile(dir / "one"), "1");
  EXPECT_EQ(ReadFile(mnt + "/one"), "other");
  auto names = testing::Names(mnt);
  EXPECT_EQ(names.size(), 2u) << "no temporary copy may stay behind";
  umount2(mnt.c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace sagewai::fs
