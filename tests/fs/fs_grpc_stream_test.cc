// The Filesystem service's long-lived and concurrent calls over a real
// runner: Watch (changes, overflow, deletion, shutdown) and the bounds on
// threads under many calls in flight.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <map>
#include <thread>
#include <vector>

#include "common/sha256.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tests/fs/fs_grpc_fixture.h"
#include "tests/fs/fs_test_client.h"
#include "tests/runner/runner_process.h"
#include "tests/runner/wait_for.h"

namespace sagewai::testing {
namespace {

using std::chrono::milliseconds;

TEST_F(FsGrpcTest, WatchReportsChangesAndEndsOnCancel) {
  mkdir(Work("watched").c_str(), 0755);
  v1::WatchRequest req;
  req.set_path("watched");
  req.set_recursive(true);
  auto ctx = runner_->Context();
  auto reader = fs_->Watch(ctx.get(), req);
  reader->WaitForInitialMetadata();  // the watch is in place
  mkdir(Work("watched/sub").c_str(), 0755);
  ASSERT_TRUE(Write("watched/sub/file", "1").status.ok());
  unlink(Work("watched/sub/file").c_str());
  std::vector<v1::WatchEvent> events;
  v1::WatchEvent e;
  while (reader->Read(&e)) {
    events.push_back(e);
    if (e.kind() == v1::WatchEvent::KIND_DELETE) break;
  }
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events[0].kind(), v1::WatchEvent::KIND_CREATE);
  EXPECT_EQ(events[0].path(), Work("watched/sub"));
  EXPECT_EQ(events[0].type(), v1::FILE_TYPE_DIRECTORY);
  bool saw_file = false;
  for (const auto& ev : events) {
    EXPECT_EQ(ev.path().find(".sagewai-tmp-"), std::string::npos) << ev.path();
    if (ev.path() == Work("watched/sub/file") &&
        (ev.kind() == v1::WatchEvent::KIND_MOVED_TO || ev.kind() == v1::WatchEvent::KIND_CREATE)) {
      saw_file = true;
    }
  }
  EXPECT_TRUE(saw_file);
  EXPECT_EQ(events.back().path(), Work("watched/sub/file"));
  ctx->TryCancel();
  while (reader->Read(&e)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(FsGrpcTest, WatchOfASlowClientOverflowsInsteadOfGrowing) {
  mkdir(Work("busy").c_str(), 0755);
  v1::WatchRequest req;
  req.set_path("busy");
  req.set_max_queued_events(16);
  auto ctx = runner_->Context();
  auto reader = fs_->Watch(ctx.get(), req);
  reader->WaitForInitialMetadata();
  // Long names fill the stream's flow-control window quickly while this
  // client does not read.
  const std::string stem(180, 'n');
  for (int i = 0; i < 3000; ++i) {
    Spit(Work("busy/" + stem + std::to_string(i)), "");
  }
  // Pacing, not proof: a slow client is one that does not read for a while
  // (the runner's queue is not visible from here); OVERFLOW must then come.
  std::this_thread::sleep_for(milliseconds(300));
  v1::WatchEvent e;
  bool overflow = false;
  int seen = 0;
  while (seen < 3000 && reader->Read(&e)) {
    ++seen;
    if (e.kind() == v1::WatchEvent::KIND_OVERFLOW) {
      overflow = true;
      break;
    }
  }
  EXPECT_TRUE(overflow) << "read " << seen << " events of 3000+ without an OVERFLOW";
#ifndef SAGEWAI_SANITIZED  // ASan's shadow memory and quarantine are not ours to bound
  EXPECT_LT(runner_->StatusField("VmRSS"), 64 * 1024);
#endif
  ctx->TryCancel();
  while (reader->Read(&e)) {
  }
  reader->Finish();
}

TEST_F(FsGrpcTest, WatchOfTheDeletedDirectoryEndsWithItsDelete) {
  mkdir(Work("gone").c_str(), 0755);
  v1::WatchRequest req;
  req.set_path("gone");
  auto ctx = runner_->Context();
  auto reader = fs_->Watch(ctx.get(), req);
  reader->WaitForInitialMetadata();
  rmdir(Work("gone").c_str());
  v1::WatchEvent e, last;
  while (reader->Read(&e)) last = e;
  EXPECT_TRUE(reader->Finish().ok());
  EXPECT_EQ(last.kind(), v1::WatchEvent::KIND_DELETE);
  EXPECT_EQ(last.path(), Work("gone"));
}

TEST_F(FsGrpcTest, ShutdownEndsRunningWatchesAtOnce) {
  v1::WatchRequest req;
  auto ctx = runner_->Context();
  auto reader = fs_->Watch(ctx.get(), req);
  reader->WaitForInitialMetadata();
  std::atomic<int64_t> ended_at_ms{-1};
  grpc::Status status;
  const auto killed = std::chrono::steady_clock::now();
  std::thread watcher([&] {
    v1::WatchEvent e;
    while (reader->Read(&e)) {
    }
    status = reader->Finish();
    ended_at_ms =
        std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - killed).count();
  });
  milliseconds took;
  const int exit_status = runner_->Stop(&took);
  watcher.join();
  EXPECT_LT(took, milliseconds(1500)) << "an open Watch held the shutdown";
  EXPECT_TRUE(WIFEXITED(exit_status) && WEXITSTATUS(exit_status) == 0) << exit_status;
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_LT(ended_at_ms, 1000) << "the Watch did not end promptly at shutdown";
}

// Counts the runner's threads named `name` (the I/O pool names its own).
long ThreadsNamed(pid_t pid, const std::string& name) {
  long n = 0;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  for (const std::string& tid : DirNames(dir)) {
    std::string comm = Slurp(dir + "/" + tid + "/comm");
    if (comm == name + "\n") ++n;
  }
  return n;
}

// "name x count, ..." of the runner's threads, for failure messages.
std::string ThreadNames(pid_t pid) {
  std::map<std::string, int> names;
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  for (const std::string& tid : DirNames(dir)) {
    std::string comm = Slurp(dir + "/" + tid + "/comm");
    if (!comm.empty()) comm.pop_back();
    ++names[comm];
  }
  std::string out;
  for (const auto& [n, c] : names) out += n + " x" + std::to_string(c) + ", ";
  return out;
}

// Threads are the runner's scarce resource (Docker's --pids-limit counts
// them): many calls in flight must not mean many threads.
TEST_F(FsGrpcTest, ManyCallsInFlightKeepThreadsBounded) {
  // inotify instances are limited per user (128 by default), and other tests
  // may run at the same time as the same user.
  constexpr int kWatches = 40;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::WatchEvent>>> readers;
  for (int i = 0; i < kWatches; ++i) {
    contexts.push_back(runner_->Context());
    v1::WatchRequest req;
    req.set_recursive(true);
    readers.push_back(fs_->Watch(contexts.back().get(), req));
  }
  for (auto& r : readers) r->WaitForInitialMetadata();
  std::vector<std::thread> clients;
  std::atomic<int> failures{0};
  // Counted down by each client after its first round trip.
  std::latch all_busy(16);
  for (int i = 0; i < 16; ++i) {
    clients.emplace_back([&, i] {
      for (int k = 0; k < 20; ++k) {
        if (k == 1) all_busy.count_down();
        WriteOutcome w = Write("small-" + std::to_string(i), Pattern(i, k, 1000));
        ReadOutcome r = Read("small-" + std::to_string(i));
        v1::ListRequest list;
        v1::ListResponse listing;
        auto ctx = runner_->Context();
        if (!w.status.ok() || !r.status.ok() || !fs_->List(ctx.get(), list, &listing).ok()) {
          ++failures;
        }
      }
    });
  }
  // Measured while all sixteen clients are at work.
  all_busy.wait();
  const long threads = runner_->StatusField("Threads");
  const std::string names = ThreadNames(runner_->pid());
  for (auto& c : clients) c.join();
  EXPECT_EQ(failures, 0);
  // gRPC's own threads reach about 16 when many streams finish at once (its
  // executor grows to 2 per core); the I/O pool adds at most its 2.
  EXPECT_LE(threads, 16 + 2) << "the runner's threads must stay bounded: " << names;
  EXPECT_LE(ThreadsNamed(runner_->pid(), "sagewai-fs-io"), 2);
  for (auto& c : contexts) c->TryCancel();
  for (auto& r : readers) {
    v1::WatchEvent e;
    while (r->Read(&e)) {
    }
    EXPECT_EQ(r->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
}

TEST_F(FsGrpcTest, ConcurrentTransfersUseAtMostTwoIoThreads) {
  constexpr int kCalls = 48;
  std::atomic<int> failures{0};
  std::atomic<long> peak_io{0}, peak_threads{0};
  std::atomic<bool> done{false};
  std::thread sampler([&] {
    while (!done) {
      const long io = ThreadsNamed(runner_->pid(), "sagewai-fs-io");
      const long all = runner_->StatusField("Threads");
      if (io > peak_io) peak_io = io;
      if (all > peak_threads) peak_threads = all;
      std::this_thread::sleep_for(milliseconds(5));
    }
  });
  std::vector<std::thread> clients;
  for (int i = 0; i < kCalls; ++i) {
    clients.emplace_back([&, i] {
      const std::string name = "c" + std::to_string(i);
      v1::WriteRequest first;
      first.set_path(name);
      auto wctx = runner_->Context(std::chrono::minutes(2));
      WriteOutcome w = WriteGenerated(*fs_, wctx.get(), first, 4 << 20, i, 256 << 10);
      if (!w.status.ok() || w.response.sha256() != w.sent_sha256) ++failures;
      v1::ReadRequest req;
      req.set_path(name);
      auto rctx = runner_->Context(std::chrono::minutes(2));
      ReadOutcome r = ReadAll(*fs_, rctx.get(), req, false);
      if (!r.status.ok() || r.sha256 != w.sent_sha256) ++failures;
    });
  }
  for (auto& c : clients) c.join();
  done = true;
  sampler.join();
  EXPECT_EQ(failures, 0);
  EXPECT_GE(peak_io, 1) << "the I/O pool's threads were not seen (renamed?)";
  EXPECT_LE(peak_io, 2);
  // gRPC alone grows to about 16 threads while it moves large messages; the
  // pool adds at most its two.
  EXPECT_LE(peak_threads, 16 + 2);
}

}  // namespace
}  // namespace sagewai::testing
