#include "tool-runner/fs/fs_write.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <thread>

#include "common/sha256.h"
#include "common/fs_test_util.h"

namespace sagewai::fs {
namespace {

using testing::Exists;
using testing::Names;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

absl::StatusOr<WriteResult> WriteWhole(const std::string& path, const std::string& data,
                                       WriteOptions options = {}) {
  auto w = AtomicWriter::Open(path, options);
  if (!w.ok()) return w.status();
  // Odd-sized pieces, so that the hash sees unaligned updates.
  const size_t piece = std::max<size_t>(7, data.size() / 16 + 1);
  for (size_t off = 0; off < data.size(); off += piece) {
    if (absl::Status s = (*w)->Write(absl::string_view(data).substr(off, piece)); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = (*w)->Sync(); !s.ok()) return s;
  return (*w)->Publish();
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  stat(path.c_str(), &st);
  return st.st_mode & 07777;
}

TEST(FsWriteTest, NewFilesGetTheContentTheHashAnd0644) {
  TempDir dir;
  auto r = WriteWhole(dir / "f", "hello world");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(ReadFile(dir / "f"), "hello world");
  EXPECT_EQ(r->bytes_written, 11u);
  EXPECT_EQ(r->sha256, Sha256Hex("hello world"));
  EXPECT_EQ(r->data_sha256, r->sha256);
  EXPECT_EQ(r->info.size(), 11u);
  EXPECT_EQ(r->info.name(), "f");
  EXPECT_EQ(ModeOf(dir / "f"), 0644u);
  EXPECT_EQ(Names(dir.path()).size(), 1u);

  r = WriteWhole(dir / "empty", "");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_TRUE(Exists(dir / "empty"));
}

TEST(FsWriteTest, ExistingFilesKeepTheirModeUnlessOneIsGiven) {
  TempDir dir;
  WriteFile(dir / "f", "old");
  chmod((dir / "f").c_str(), 0750);
  ASSERT_TRUE(WriteWhole(dir / "f", "new").ok());
  EXPECT_EQ(ModeOf(dir / "f"), 0750u);
  WriteOptions o;
  o.mode = 0600;
  ASSERT_TRUE(WriteWhole(dir / "f", "newer", o).ok());
  EXPECT_EQ(ModeOf(dir / "f"), 0600u);
  EXPECT_EQ(ReadFile(dir / "f"), "newer");
  o.mode = 010000;
  EXPECT_EQ(WriteWhole(dir / "f", "x", o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FsWriteTest, ExistingFilesKeepTheirOwnerWhenTheRunnerMaySetIt) {
  if (geteuid() != 0) GTEST_SKIP() << "only root may give a file to another user";
  TempDir dir;
  WriteFile(dir / "f", "old");
  ASSERT_EQ(chown((dir / "f").c_str(), 65534, 65534), 0);
  ASSERT_TRUE(WriteWhole(dir / "f", "new").ok());
  struct stat st;
  ASSERT_EQ(stat((dir / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  EXPECT_EQ(st.st_gid, 65534u);
  EXPECT_EQ(testing::ReadFile(dir / "f"), "new");
}

TEST(FsWriteTest, AppendKeepsTheOldContentAndHashesTheWholeFile) {
  TempDir dir;
  WriteFile(dir / "log", "line1\n");
  WriteOptions o;
  o.append = true;
  auto r = WriteWhole(dir / "log", "line2\n", o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(ReadFile(dir / "log"), "line1\nline2\n");
  EXPECT_EQ(r->sha256, Sha256Hex("line1\nline2\n"));
  EXPECT_EQ(r->data_sha256, Sha256Hex("line2\n"));
  EXPECT_EQ(r->bytes_written, 6u);
  r = WriteWhole(dir / "fresh", "x", o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ReadFile(dir / "fresh"), "x");
}

TEST(FsWriteTest, SymlinksAreWrittenThroughNeverReplaced) {
  TempDir dir;
  WriteFile(dir / "real", "old");
  ASSERT_EQ(symlink("real", (dir / "l1").c_str()), 0);
  ASSERT_EQ(symlink((dir / "l1").c_str(), (dir / "l2").c_str()), 0);
  auto r = WriteWhole(dir / "l2", "new");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->path, dir / "real");
  EXPECT_EQ(ReadFile(dir / "real"), "new");
  struct stat st;
  ASSERT_EQ(lstat((dir / "l2").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  ASSERT_EQ(symlink("created-by-write", (dir / "dangling").c_str()), 0);
  ASSERT_TRUE(WriteWhole(dir / "dangling", "made").ok());
  EXPECT_EQ(ReadFile(dir / "created-by-write"), "made");
  ASSERT_EQ(symlink("loop-b", (dir / "loop-a").c_str()), 0);
  ASSERT_EQ(symlink("loop-a", (dir / "loop-b").c_str()), 0);
  auto loop = WriteWhole(dir / "loop-a", "x");
  EXPECT_EQ(loop.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(loop.status().message().find("symbolic links"), std::string::npos) << loop.status();
}

TEST(FsWriteTest, RefusesDirectoriesAndSpecialFiles) {
  TempDir dir;
  mkdir((dir / "d").c_str(), 0755);
  ASSERT_EQ(mkfifo((dir / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(WriteWhole(dir / "d", "x").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(WriteWhole(dir / "fifo", "x").status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(WriteWhole(dir / "new/", "x").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(FsWriteTest, ParentsAreCreatedOnlyWhenAsked) {
  TempDir dir;
  auto missing = WriteWhole(dir / "a/b/f", "x");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("create_parents"), std::string::npos);
  WriteOptions o;
  o.create_parents = true;
  ASSERT_TRUE(WriteWhole(dir / "a/b/f", "x", o).ok());
  EXPECT_EQ(ReadFile(dir / "a/b/f"), "x");
}

TEST(FsWriteTest, AnAbandonedWriteLeavesTheOldFileAndNoTemporaryFile) {
  TempDir dir;
  WriteFile(dir / "f", "original");
  {
    auto w = AtomicWriter::Open(dir / "f", {});
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(std::string(100000, 'x')).ok());
    ASSERT_TRUE((*w)->Sync().ok());
  }
  EXPECT_EQ(ReadFile(dir / "f"), "original");
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"f"});
}

// Deterministic bytes that differ from one offset to the next.
std::string Bytes(size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + i / 4099) & 0xff);
  return s;
}

TEST(FsWriteTest, WritesAndHashesOnTwoThreadsGiveWhatOneWriteGives) {
  TempDir dir;
  // More than one write piece, with odd sizes at the edges and inside.
  const std::string data = Bytes((3 << 20) + 12345);
  const size_t pieces[] = {1, (128 << 10) - 1, (128 << 10) + 1, 0, 1 << 20, 7};
  for (bool append : {false, true}) {
    SCOPED_TRACE(append ? "append" : "new");
    WriteFile(dir / "f", "old\n");
    WriteOptions o;
    o.append = append;
    auto w = AtomicWriter::Open(dir / "f", o);
    ASSERT_TRUE(w.ok()) << w.status();
    std::vector<absl::string_view> parts;
    for (size_t off = 0, i = 0; off < data.size(); off += pieces[i++ % 6]) {
      parts.push_back(absl::string_view(data).substr(off, pieces[i % 6]));
    }
    // The hash runs on its own thread, each half in order, as Filesystem.Write does.
    std::thread hasher([&] {
      for (absl::string_view p : parts) (*w)->HashData(p);
    });
    for (absl::string_view p : parts) ASSERT_TRUE((*w)->WriteData(p).ok());
    hasher.join();
    ASSERT_TRUE((*w)->Sync().ok());
    auto r = (*w)->Publish();
    ASSERT_TRUE(r.ok()) << r.status();
    const std::string want = append ? "old\n" + data : data;
    EXPECT_TRUE(ReadFile(dir / "f") == want);
    EXPECT_EQ(r->bytes_written, data.size());
    EXPECT_EQ(r->data_sha256, Sha256Hex(data));
    EXPECT_EQ(r->sha256, Sha256Hex(want));
  }
}

TEST(FsWriteTest, APublishWithUnhashedBytesIsRefusedAndLeavesTheOldFile) {
  TempDir dir;
  WriteFile(dir / "f", "original");
  auto w = AtomicWriter::Open(dir / "f", {});
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->WriteData("new content").ok());
  (*w)->HashData("new");
  ASSERT_TRUE((*w)->Sync().ok());
  auto r = (*w)->Publish();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal) << r.status();
  w->reset();
  EXPECT_EQ(ReadFile(dir / "f"), "original");
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"f"});
}

TEST(FsWriteTest, ReadOnlyFilesAreNotReplacedByUnprivilegedUsers) {
  if (geteuid() == 0) GTEST_SKIP() << "root may write any file; covered by the nobody runner test";
  TempDir dir;
  WriteFile(dir / "ro", "keep");
  chmod((dir / "ro").c_str(), 0444);
  EXPECT_EQ(WriteWhole(dir / "ro", "x").status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ReadFile(dir / "ro"), "keep");
}

TEST(FsWriteTest, AFullDiskFailsCleanly) {
  TempDir dir;
  const std::string mnt = dir / "small";
  mkdir(mnt.c_str(), 0755);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=1m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << strerror(errno) << "): needs root";
  }
  WriteFile(mnt + "/f", "old content");
  auto r = WriteWhole(mnt + "/f", std::string(2 << 20, 'z'));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
  EXPECT_EQ(ReadFile(mnt + "/f"), "old content");
  EXPECT_EQ(Names(mnt), std::vector<std::string>{"f"});
  umount2(mnt.c_str(), MNT_DETACH);
}

}  // namespace
}  // namespace sagewai::fs
