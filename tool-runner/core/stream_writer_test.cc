#include "tool-runner/core/stream_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sagewai {
namespace {

// A stand-in for a gRPC reactor (the real library cannot be made to hit
// its races on demand): StartWrite records, Finish plays OnDone by deleting
// the call at once — the worst timing gRPC allows — and checks that nobody
// holds the call's lock at that moment.
class FakeCall {
 public:
  explicit FakeCall(std::atomic<int>* finishes, StreamWriterLimits limits = {})
      : finishes_(finishes), out_(this, limits) {}

  void StartWrite(const std::string* message) { started_.push_back(*message); }
  void Finish(grpc::Status status) {
    // The owner's lock must be free: OnDone deletes the mutex with us.
    EXPECT_TRUE(mu_.try_lock()) << "Finish() called under the owner's lock";
    mu_.unlock();
    last_status_code_ = status.error_code();
    finishes_->fetch_add(1);
    delete this;
  }

  std::mutex mu_;
  std::atomic<int>* finishes_;
  std::vector<std::string> started_;
  grpc::StatusCode last_status_code_ = grpc::StatusCode::UNKNOWN;
  StreamWriter<FakeCall, std::string> out_;
};

// For the tests that look at a call after it has ended: Finish only counts.
class KeptCall {
 public:
  explicit KeptCall(StreamWriterLimits limits = {}) : out_(this, limits) {}
  void StartWrite(const std::string* message) { started.push_back(*message); }
  void Finish(grpc::Status status) {
    EXPECT_TRUE(mu.try_lock()) << "Finish() called under the owner's lock";
    mu.unlock();
    ++finishes;
    code = status.error_code();
  }
  void Do(const std::function<void(StreamWriter<KeptCall, std::string>&)>& fn) {
    std::unique_lock<std::mutex> lock(mu);
    fn(out_);
    out_.Release(lock);
  }
  std::mutex mu;
  std::vector<std::string> started;
  int finishes = 0;
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  StreamWriter<KeptCall, std::string> out_;
};

TEST(StreamWriterTest, OneWriteInFlightInOrder) {
  KeptCall call;
  call.Do([](auto& out) {
    out.Write("a", 1);
    out.Write("b", 1);
    out.Write("c", 1);
  });
  ASSERT_EQ(call.started, std::vector<std::string>({"a"}));
  call.Do([](auto& out) { EXPECT_EQ(*out.OnWriteDone(true).written, "a"); });
  EXPECT_EQ(call.started, std::vector<std::string>({"a", "b"}));
  call.Do([](auto& out) { out.OnWriteDone(true); });
  call.Do([](auto& out) { out.OnWriteDone(true); });
  EXPECT_EQ(call.started, std::vector<std::string>({"a", "b", "c"}));
  EXPECT_EQ(call.finishes, 0);
}

TEST(StreamWriterTest, FinishAfterQueueSendsEverythingFirst) {
  KeptCall call;
  call.Do([](auto& out) {
    out.Write("a", 1);
    out.Write("b", 1);
    out.FinishAfterQueue(grpc::Status::OK);
    out.Write("dropped: the call is ending", 1);
  });
  EXPECT_EQ(call.finishes, 0);
  call.Do([](auto& out) { out.OnWriteDone(true); });
  EXPECT_EQ(call.finishes, 0);
  call.Do([](auto& out) { out.OnWriteDone(true); });
  EXPECT_EQ(call.finishes, 1);
  EXPECT_EQ(call.code, grpc::StatusCode::OK);
  EXPECT_EQ(call.started, std::vector<std::string>({"a", "b"}));
}

TEST(StreamWriterTest, FinishNowDropsTheQueueButWaitsForTheWriteInFlight) {
  KeptCall call;
  call.Do([](auto& out) {
    out.Write("a", 1);
    out.Write("b", 1);
    out.FinishNow(grpc::Status(grpc::StatusCode::CANCELLED, "x"));
  });
  EXPECT_EQ(call.finishes, 0) << "a write is still in flight";
  call.Do([](auto& out) { out.OnWriteDone(true); });
  EXPECT_EQ(call.finishes, 1);
  EXPECT_EQ(call.code, grpc::StatusCode::CANCELLED);
  EXPECT_EQ(call.started, std::vector<std::string>({"a"}));
}

TEST(StreamWriterTest, TheFirstStatusWins) {
  KeptCall call;
  call.Do([](auto& out) {
    out.FinishNow(grpc::Status(grpc::StatusCode::NOT_FOUND, "x"));
    out.FinishNow(grpc::Status::OK);
    out.FinishAfterQueue(grpc::Status::OK);
  });
  EXPECT_EQ(call.finishes, 1);
  EXPECT_EQ(call.code, grpc::StatusCode::NOT_FOUND);
}

TEST(StreamWriterTest, BackPressurePausesAboveAndResumesBelow) {
  KeptCall call(StreamWriterLimits{.pause_above = 10, .resume_below = 4});
  bool more = true;
  call.Do([&](auto& out) {
    more = out.Write("aaaaaa", 6);  // in flight
    EXPECT_TRUE(more);
    more = out.Write("bbbbbb", 6);  // 12 queued: pause
  });
  EXPECT_FALSE(more);
  bool resume = true;
  call.Do([&](auto& out) { resume = out.OnWriteDone(true).resume; });  // 6 left
  EXPECT_FALSE(resume);
  call.Do([&](auto& out) { resume = out.OnWriteDone(true).resume; });  // 0 left
  EXPECT_TRUE(resume);
}

TEST(StreamWriterTest, AFailedWriteDropsTheQueueAndLaterWrites) {
  KeptCall call;
  call.Do([](auto& out) {
    out.Write("a", 1);
    out.Write("b", 1);
  });
  call.Do([](auto& out) {
    out.OnWriteDone(false);
    EXPECT_TRUE(out.client_gone());
    EXPECT_EQ(out.queued(), 0u);
    EXPECT_TRUE(out.Write("c", 1)) << "a gone client never pauses the producer";
    out.FinishAfterQueue(grpc::Status(grpc::StatusCode::CANCELLED, "gone"));
  });
  EXPECT_EQ(call.started, std::vector<std::string>({"a"}));
  EXPECT_EQ(call.finishes, 1);
}

TEST(StreamWriterTest, LastWaitingIsTheNewestMessageNotYetHandedToGrpc) {
  KeptCall call;
  call.Do([](auto& out) {
    EXPECT_EQ(out.last_waiting(), nullptr);
    out.Write("a", 1);
    EXPECT_EQ(out.last_waiting(), nullptr) << "a is in flight";
    out.Write("b", 1);
    ASSERT_NE(out.last_waiting(), nullptr);
    EXPECT_EQ(*out.last_waiting(), "b");
    EXPECT_EQ(out.waiting(), 1u);
    EXPECT_EQ(out.queued(), 2u);
  });
}

// Each way a call can end, with the call deleted inside Finish.
TEST(StreamWriterTest, FinishRunsAfterTheLockOnEveryPath) {
  std::atomic<int> finishes{0};
  {
    auto* call = new FakeCall(&finishes);
    std::unique_lock<std::mutex> lock(call->mu_);
    auto& out = call->out_;
    out.FinishAfterQueue(grpc::Status::OK);  // nothing queued: due at once
    out.Release(lock);
  }
  {
    auto* call = new FakeCall(&finishes);
    std::unique_lock<std::mutex> lock(call->mu_);
    call->out_.Write("last", 4);
    call->out_.FinishAfterQueue(grpc::Status::OK);
    call->out_.Release(lock);
    // The final write completes: this is where Bash.Stream used to finish
    // under its lock.
    std::unique_lock<std::mutex> again(call->mu_);
    auto& out = call->out_;
    out.OnWriteDone(true);
    out.Release(again);
  }
  {
    auto* call = new FakeCall(&finishes);
    std::unique_lock<std::mutex> lock(call->mu_);
    auto& out = call->out_;
    out.Write("x", 1);
    out.OnWriteDone(false);
    out.FinishNow(grpc::Status(grpc::StatusCode::CANCELLED, "gone"));
    out.Release(lock);
  }
  EXPECT_EQ(finishes.load(), 3);
}

TEST(StreamWriterTest, DeferredFinishAloneFinishesAfterTheLock) {
  struct ReadOnlyCall {
    void Finish(grpc::Status) {
      EXPECT_TRUE(mu.try_lock());
      mu.unlock();
      ++finishes;
    }
    std::mutex mu;
    int finishes = 0;
  } call;
  DeferredFinish<ReadOnlyCall> finish(&call);
  std::unique_lock<std::mutex> lock(call.mu);
  finish.Set(grpc::Status::OK);
  finish.Set(grpc::Status(grpc::StatusCode::INTERNAL, "ignored"));
  EXPECT_TRUE(finish.finished());
  finish.Release(lock);
  EXPECT_EQ(call.finishes, 1);
  lock.lock();
  finish.Release(lock);  // nothing due any more
  EXPECT_EQ(call.finishes, 1);
}

// The race of a real stream: a producer thread writes and ends the call
// while a "transport" thread completes writes, and whichever thread makes
// Finish due deletes the call inside it. Under ASan or TSan (the
// stream_writer_asan_test and stream_writer_tsan_test builds of this file)
// any touch of the call after Finish is reported.
class Transport {
 public:
  ~Transport() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Complete(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !pending_.empty(); });
      if (pending_.empty()) return;
      auto fn = std::move(pending_.front());
      pending_.pop_front();
      lock.unlock();
      fn();
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> pending_;
  bool stop_ = false;
  std::thread thread_{[this] { Run(); }};
};

class RacingCall {
 public:
  RacingCall(Transport* transport, std::atomic<int>* finishes)
      : transport_(transport), finishes_(finishes), out_(this, {.pause_above = 64, .resume_below = 16}) {}

  void StartWrite(const std::string*) {
    transport_->Complete([this] { OnWriteDone(true); });
  }
  void Finish(grpc::Status) {
    finishes_->fetch_add(1);
    delete this;
  }
  void OnWriteDone(bool ok) {
    std::unique_lock<std::mutex> lock(mu_);
    out_.OnWriteDone(ok);
    out_.Release(lock);
  }
  // The producer: `n` messages, then the end of the call.
  void Produce(int n) {
    for (int i = 0; i < n; ++i) {
      std::unique_lock<std::mutex> lock(mu_);
      out_.Write(std::string(8, static_cast<char>('a' + i % 26)), 8);
      out_.Release(lock);
    }
    std::unique_lock<std::mutex> lock(mu_);
    out_.Write("exit", 4);
    out_.FinishAfterQueue(grpc::Status::OK);
    out_.Release(lock);
    // Nothing of the call may be touched from here on.
  }

 private:
  Transport* transport_;
  std::atomic<int>* finishes_;
  std::mutex mu_;
  StreamWriter<RacingCall, std::string> out_;
};

TEST(StreamWriterTest, OnDoneRacesTheFinalWrite) {
  std::atomic<int> finishes{0};
  constexpr int kCalls = 500;
  {
    Transport transport;
    for (int i = 0; i < kCalls; ++i) {
      auto* call = new RacingCall(&transport, &finishes);
      std::thread producer([call, i] { call->Produce(i % 7); });
      producer.join();
    }
  }  // the transport drains every completion before it stops
  EXPECT_EQ(finishes.load(), kCalls);
}

}  // namespace
}  // namespace sagewai
