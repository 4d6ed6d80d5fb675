#include "tool-runner/fs/fs_watch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <set>

#include "tool-runner/fs/fs_ops.h"
#include "common/fs_test_util.h"
#include "tool-runner/fs/fs_write.h"

namespace sagewai::fs {
namespace {

namespace v1 = ::sagewai::sandbox::v1;
using testing::TempDir;
using testing::WriteFile;

// Reads events until `until` is seen (or 3 s pass).
std::vector<v1::WatchEvent> Collect(TreeWatch& w, v1::WatchEvent::Kind until_kind,
                                    const std::string& until_path) {
  std::vector<v1::WatchEvent> all;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{w.fd(), POLLIN, 0};
    poll(&p, 1, 100);
    std::vector<v1::WatchEvent> batch;
    EXPECT_TRUE(w.ReadEvents(&batch).ok());
    for (auto& e : batch) {
      const bool done = e.kind() == until_kind && e.path() == until_path;
      all.push_back(std::move(e));
      if (done) return all;
    }
  }
  ADD_FAILURE() << "no event " << until_kind << " for " << until_path;
  return all;
}

bool Has(const std::vector<v1::WatchEvent>& events, v1::WatchEvent::Kind kind,
         const std::string& path) {
  for (const auto& e : events) {
    if (e.kind() == kind && e.path() == path) return true;
  }
  return false;
}

TEST(FsWatchTest, ReportsCreateModifyMoveAndDeleteRecursively) {
  TempDir dir;
  mkdir((dir / "old").c_str(), 0755);
  auto w = TreeWatch::Create(dir.path(), true);
  ASSERT_TRUE(w.ok()) << w.status();
  WriteFile(dir / "f", "1");
  mkdir((dir / "sub").c_str(), 0755);
  WriteFile(dir / "sub/inner", "2");
  WriteFile(dir / "old/x", "3");
  auto events = Collect(**w, v1::WatchEvent::KIND_CREATE, dir / "old/x");
  rename((dir / "f").c_str(), (dir / "g").c_str());
  unlink((dir / "sub/inner").c_str());
  auto more = Collect(**w, v1::WatchEvent::KIND_DELETE, dir / "sub/inner");
  events.insert(events.end(), more.begin(), more.end());
  EXPECT_TRUE(Has(events, v1::WatchEvent::KIND_CREATE, dir / "f"));
  EXPECT_TRUE(Has(events, v1::WatchEvent::KIND_MODIFY, dir / "f"));
  EXPECT_TRUE(Has(events, v1::WatchEvent::KIND_CREATE, dir / "sub"));
  EXPECT_TRUE(Has(events, v1::WatchEvent::KIND_CREATE, dir / "sub/inner"));
  EXPECT_TRUE(Has(events, v1::WatchEvent::KIND_CREATE, dir / "old/x"));
  EXPECT_TRUE(Has(events, v1::WatchEvent::KIND_MOVED_FROM, dir / "f"));
  EXPECT_TRUE(Has(events, v1::WatchEvent::KIND_MOVED_TO, dir / "g"));
  uint32_t from_cookie = 0, to_cookie = 1;
  for (const auto& e : events) {
    if (e.kind() == v1::WatchEvent::KIND_MOVED_FROM) from_cookie = e.cookie();
    if (e.kind() == v1::WatchEvent::KIND_MOVED_TO) to_cookie = e.cookie();
    if (e.path() == dir / "sub") {
      EXPECT_EQ(e.type(), v1::FILE_TYPE_DIRECTORY);
    }
  }
  EXPECT_EQ(from_cookie, to_cookie);
  EXPECT_NE(from_cookie, 0u);
}

TEST(FsWatchTest, RenamedDirectoriesKeepReportingUnderTheirNewPath) {
  TempDir dir;
  mkdir((dir / "a").c_str(), 0755);
  auto w = TreeWatch::Create(dir.path(), true);
  ASSERT_TRUE(w.ok());
  rename((dir / "a").c_str(), (dir / "b").c_str());
  Collect(**w, v1::WatchEvent::KIND_MOVED_TO, dir / "b");
  WriteFile(dir / "b/new", "x");
  auto events = Collect(**w, v1::WatchEvent::KIND_CREATE, dir / "b/new");
  EXPECT_FALSE(Has(events, v1::WatchEvent::KIND_CREATE, dir / "a/new"));
}

TEST(FsWatchTest, AtomicWritesShowAsOneMoveOfTheTarget) {
  TempDir dir;
  WriteFile(dir / "t", "old");
  auto w = TreeWatch::Create(dir.path(), false);
  ASSERT_TRUE(w.ok());
  auto writer = AtomicWriter::Open(dir / "t", {});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Write("new").ok());
  ASSERT_TRUE((*writer)->Sync().ok());
  ASSERT_TRUE((*writer)->Publish().ok());
  auto events = Collect(**w, v1::WatchEvent::KIND_MOVED_TO, dir / "t");
  for (const auto& e : events) {
    EXPECT_EQ(e.path().find(kTempMarker), std::string::npos) << e.path();
  }
}

TEST(FsWatchTest, DeletingTheRootEndsTheWatch) {
  TempDir dir;
  const std::string root = dir / "root";
  mkdir(root.c_str(), 0755);
  auto w = TreeWatch::Create(root, true);
  ASSERT_TRUE(w.ok());
  rmdir(root.c_str());
  Collect(**w, v1::WatchEvent::KIND_DELETE, root);
  EXPECT_TRUE((*w)->root_gone());
}

TEST(FsWatchTest, AKernelQueueOverflowIsReported) {
  long max_events = 0;
  if (FILE* f = fopen("/proc/sys/fs/inotify/max_queued_events", "re")) {
    if (fscanf(f, "%ld", &max_events) != 1) max_events = 0;
    fclose(f);
  }
  if (max_events <= 0 || max_events > 100000) {
    GTEST_SKIP() << "fs.inotify.max_queued_events is " << max_events
                 << ": too many events to overflow it in a test";
  }
  TempDir dir;
  auto w = TreeWatch::Create(dir.path(), false);
  ASSERT_TRUE(w.ok());
  // More events than the kernel queues, none read meanwhile.
  for (long i = 0; i <= max_events + 10; ++i) {
    int fd = open((dir / ("f" + std::to_string(i))).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    close(fd);
  }
  std::vector<v1::WatchEvent> events;
  ASSERT_TRUE((*w)->ReadEvents(&events).ok());
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind(), v1::WatchEvent::KIND_OVERFLOW);
  EXPECT_EQ(events.back().path(), dir.path());
}

TEST(FsWatchTest, RefusesFilesAndMissingPaths) {
  TempDir dir;
  WriteFile(dir / "f", "");
  EXPECT_EQ(TreeWatch::Create(dir / "f", false).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(TreeWatch::Create(dir / "nope", false).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sagewai::fs
