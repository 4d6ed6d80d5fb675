// The one writer of every streaming call the runner serves (Bash.Stream,
// CodeEval.EvalStream, Filesystem.Read and Watch): a queue of messages with
// one write in flight, back-pressure by queued bytes, and the call's end
// deferred until the owner's lock is released.
//
// Why the last point matters: once a reactor calls Finish(), gRPC may run
// OnDone on another thread at once, and OnDone deletes the reactor — with
// the reactor's own mutex inside it. So Finish() is never called while that
// mutex is held: Finish*() only records the status, and every entry point
// of the owner ends with Release(lock), which unlocks first and finishes
// after.
//
// Thread safety: every method needs the owner's mutex held (the same one
// passed to Release). `Reactor` is a grpc::ServerWriteReactor<Message> or a
// grpc::ServerBidiReactor<Request, Message> (or, in tests, anything with
// StartWrite(const Message*) and Finish(grpc::Status)).
#ifndef SAGEWAI_TOOL_RUNNER_CORE_STREAM_WRITER_H_
#define SAGEWAI_TOOL_RUNNER_CORE_STREAM_WRITER_H_

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

#include "grpcpp/support/status.h"

namespace sagewai {

// Finish() after the owner's lock: also used alone by calls that only read
// (Filesystem.Write).
template <typename Reactor>
class DeferredFinish {
 public:
  explicit DeferredFinish(Reactor* reactor) : reactor_(reactor) {}

  // True once a status was set: nothing more may be written.
  bool finished() const { return finished_; }
  // The first status wins.
  void Set(grpc::Status status) {
    if (finished_) return;
    finished_ = true;
    due_ = std::move(status);
  }
  // Unlocks, then finishes the call if a status became due. After this the
  // owner may be gone: touch nothing of it.
  void Release(std::unique_lock<std::mutex>& lock) {
    std::optional<grpc::Status> due = std::exchange(due_, std::nullopt);
    Reactor* reactor = reactor_;
    lock.unlock();
    if (due.has_value()) reactor->Finish(*due);
  }

 private:
  Reactor* reactor_;
  bool finished_ = false;
  std::optional<grpc::Status> due_;
};

struct StreamWriterLimits {
  // Above this many queued bytes the producer is asked to pause; it is told
  // to resume once the queue is below resume_below.
  size_t pause_above = size_t{1} << 20;
  size_t resume_below = size_t{256} << 10;
};

template <typename Reactor, typename Message>
class StreamWriter {
 public:
  explicit StreamWriter(Reactor* reactor, StreamWriterLimits limits = {})
      : reactor_(reactor), limits_(limits), finish_(reactor) {}

  // Queues `message`, counting `bytes` against the limits. Returns false
  // when the producer should pause (it is then told by OnWriteDone's
  // `resume`). Dropped once the call is ending or the client has gone.
  bool Write(Message message, size_t bytes) {
    if (closing() || client_gone_) return true;
    queue_.push_back({std::move(message), bytes});
    queued_bytes_ += bytes;
    StartNext();
    if (queued_bytes_ > limits_.pause_above) paused_ = true;
    return !paused_;
  }

  struct WriteDone {
    std::optional<Message> written;  // the message just sent, for reuse
    bool resume = false;             // a paused producer may go on
  };
  // From the reactor's OnWriteDone. ok == false: the client has gone; what
  // is queued is dropped and the owner should end its work.
  WriteDone OnWriteDone(bool ok) {
    WriteDone done;
    in_flight_ = false;
    if (!queue_.empty()) {
      queued_bytes_ -= queue_.front().bytes;
      done.written = std::move(queue_.front().message);
      queue_.pop_front();
    }
    if (!ok) DropQueue();
    if (paused_ && queued_bytes_ < limits_.resume_below) {
      paused_ = false;
      done.resume = true;
    }
    StartNext();
    return done;
  }

  // The client went away (OnCancel): drop the queue, write nothing more.
  void ClientGone() { DropQueue(); }
  bool client_gone() const { return client_gone_; }

  // Ends the call with `status` once what is queued has been written.
  void FinishAfterQueue(grpc::Status status) {
    if (closing()) return;
    closing_ = std::move(status);
    StartNext();
  }
  // Ends the call with `status` as soon as no write is in flight; what is
  // queued is dropped.
  void FinishNow(grpc::Status status) {
    queue_.erase(queue_.begin() + (in_flight_ ? 1 : 0), queue_.end());
    RecountQueued();
    FinishAfterQueue(std::move(status));
  }

  // Queued messages, the one in flight included, and the last one not yet
  // handed to gRPC (nullptr when none): for coalescing.
  size_t queued() const { return queue_.size(); }
  size_t waiting() const { return queue_.size() - (in_flight_ ? 1 : 0); }
  Message* last_waiting() { return waiting() == 0 ? nullptr : &queue_.back().message; }
  bool in_flight() const { return in_flight_; }
  // A status to end with was given (the call may still be draining).
  bool closing() const { return closing_.has_value() || finish_.finished(); }
  bool finished() const { return finish_.finished(); }

  // Every entry point of the owner ends here: unlocks, then finishes the
  // call if it became due. The owner may be gone afterwards.
  void Release(std::unique_lock<std::mutex>& lock) { finish_.Release(lock); }

 private:
  struct Queued {
    Message message;
    size_t bytes;
  };

  void StartNext() {
    if (in_flight_ || finish_.finished()) return;
    if (queue_.empty()) {
      if (closing_.has_value()) finish_.Set(*std::exchange(closing_, std::nullopt));
      return;
    }
    in_flight_ = true;
    reactor_->StartWrite(&queue_.front().message);
  }

  void DropQueue() {
    client_gone_ = true;
    queue_.erase(queue_.begin() + (in_flight_ ? 1 : 0), queue_.end());
    RecountQueued();
  }

  void RecountQueued() {
    queued_bytes_ = 0;
    for (const Queued& q : queue_) queued_bytes_ += q.bytes;
  }

  Reactor* reactor_;
  StreamWriterLimits limits_;
  DeferredFinish<Reactor> finish_;
  std::deque<Queued> queue_;  // front is in flight when in_flight_
  size_t queued_bytes_ = 0;
  bool in_flight_ = false;
  bool paused_ = false;
  bool client_gone_ = false;
  std::optional<grpc::Status> closing_;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_CORE_STREAM_WRITER_H_
