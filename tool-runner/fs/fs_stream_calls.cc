#include "tool-runner/fs/fs_stream_calls.h"

#include <sys/epoll.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "tool-runner/core/auth_methods.h"
#include "tool-runner/fs/fs_ops.h"
#include "common/fs_path.h"
#include "tool-runner/fs/fs_service.h"
#include "tool-runner/fs/fs_watch.h"
#include "tool-runner/fs/fs_write.h"
#include "tool-runner/core/grpc_status.h"

namespace sagewai::fs_internal {

namespace v1 = ::sagewai::sandbox::v1;
using Clock = std::chrono::steady_clock;

grpc::Status Admit(RunnerContext& ctx, const grpc::CallbackServerContext& context,
                   const CallSlot& slot, const char* method) {
  grpc::Status status = ctx.auth().Check(context, method);
  if (status.ok() && !slot.held()) status = slot.ExhaustedStatus();
  return status;
}

void LogFinished(const char* method, const std::string& call_id, const grpc::Status& status,
                 Clock::time_point started) {
  const int64_t ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  if (status.ok()) {
    log::Debug("call finished", {{"method", method}, {"call_id", call_id}, {"duration_ms", ms}});
  } else {
    log::Info("call finished", {{"method", method},
                                {"call_id", call_id},
                                {"duration_ms", ms},
                                {"code", static_cast<int>(status.error_code())},
                                {"error", status.error_message()}});
  }
}

namespace {

constexpr size_t kDefaultChunk = 1 << 20;
constexpr size_t kMinChunk = 4 << 10;
constexpr size_t kMaxChunk = 4 << 20;
constexpr size_t kDefaultWatchQueue = 4096;
// Write messages held at once: one being read from the client, one on its
// way to disk, the rest waiting (so the client is not held up by a slow
// write()) — but no more read ahead once kWriteAheadBytes are waiting, so
// that large messages do not multiply the memory a call holds.
constexpr int kWriteBuffers = 4;
constexpr size_t kWriteAheadBytes = 4 << 20;
constexpr size_t kMaxWatchQueue = 1 << 20;

const grpc::Status kCancelled(grpc::StatusCode::CANCELLED, "the call was cancelled");

// Finish() must come after the reactor's own lock is released: once it is
// called, OnDone may delete the reactor on another thread.
class PendingFinish {
 public:
  bool finished() const { return finished_; }
  void Set(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    status_ = status;
  }
  template <typename Reactor>
  void UnlockAndRun(Reactor* reactor, std::unique_lock<std::mutex>& lock) {
    std::optional<grpc::Status> status = std::move(status_);
    status_.reset();
    lock.unlock();
    if (status) reactor->Finish(*status);
  }

 private:
  bool finished_ = false;
  std::optional<grpc::Status> status_;
};

// ------------------------------------------------------------------ Read --

class ReadCall final : public grpc::ServerWriteReactor<v1::ReadChunk> {
 public:
  ReadCall(FilesystemService& service, grpc::CallbackServerContext* context,
           const v1::ReadRequest* request)
      : service_(service),
        slot_(service.ctx()),
        call_id_(service.ctx().CallId(*context)),
        started_(Clock::now()) {
    std::unique_lock<std::mutex> lock(mu_);
    grpc::Status status = Admit(service.ctx(), *context, slot_, rpc::kFilesystemRead.path);
    if (status.ok()) {
      auto path = fs::PathArg("path", request->path(), request->path_bytes(), false);
      if (path.ok()) {
        path_ = fs::Resolve(service.ctx().workdir(), *path);
      } else {
        status = ToGrpcStatus(path.status());
      }
    }
    if (!status.ok()) {
      FinishLocked(status);
      finish_.UnlockAndRun(this, lock);
      return;
    }
    chunk_ = request->chunk_size() == 0
                 ? kDefaultChunk
                 : std::clamp<size_t>(request->chunk_size(), kMinChunk, kMaxChunk);
    offset_ = request->offset();
    remaining_ = request->length() == 0 ? UINT64_MAX : request->length();
    reading_ = true;
    service_.pool().Submit([this] { OpenAndRead(); });
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    writing_ = false;
    free_.push_back(ready_.front());
    ready_.pop_front();
    if (!ok) client_gone_ = true;
    ProgressLocked();
    finish_.UnlockAndRun(this, lock);
  }

  void OnCancel() override {
    std::unique_lock<std::mutex> lock(mu_);
    client_gone_ = true;
    ProgressLocked();
    finish_.UnlockAndRun(this, lock);
  }

  void OnDone() override { delete this; }

 private:
  // I/O pool.
  void OpenAndRead() {
    auto file = fs::OpenForRead(path_);
    if (!file.ok()) {
      std::unique_lock<std::mutex> lock(mu_);
      reading_ = false;
      error_ = file.status();
      ProgressLocked();
      finish_.UnlockAndRun(this, lock);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      file_ = std::move(file->fd);
    }
    ReadChunk();
  }

  // I/O pool, with reading_ set and a free buffer.
  void ReadChunk() {
    int idx;
    uint64_t offset;
    size_t want;
    {
      std::lock_guard<std::mutex> lock(mu_);
      idx = free_.front();
      free_.pop_front();
      offset = offset_;
      want = static_cast<size_t>(std::min<uint64_t>(chunk_, remaining_));
    }
    std::string* data = chunks_[idx].mutable_data();
    data->resize(want);
    auto n = want == 0 ? absl::StatusOr<size_t>(0)
                       : fs::ReadAt(file_.get(), data->data(), want, offset, path_);
    std::unique_lock<std::mutex> lock(mu_);
    reading_ = false;
    if (!n.ok() || *n == 0) {
      if (!n.ok()) error_ = n.status();
      eof_ = true;
      free_.push_back(idx);
    } else {
      data->resize(*n);
      chunks_[idx].set_offset(offset);
      offset_ += *n;
      remaining_ -= *n;
      if (*n < want || remaining_ == 0) eof_ = true;
      ready_.push_back(idx);
    }
    ProgressLocked();
    finish_.UnlockAndRun(this, lock);
  }

  // One chunk is sent while the next is read: one write in flight, one
  // read ahead.
  void ProgressLocked() {
    if (finish_.finished()) return;
    if (client_gone_) {
      if (!writing_ && !reading_) FinishLocked(kCancelled);
      return;
    }
    if (!writing_ && !ready_.empty()) {
      writing_ = true;
      StartWrite(&chunks_[ready_.front()]);
    }
    if (!reading_ && !eof_ && error_.ok() && !free_.empty() && file_.valid()) {
      reading_ = true;
      service_.pool().Submit([this] { ReadChunk(); });
    }
    if (!writing_ && !reading_ && (eof_ || !error_.ok())) FinishLocked(ToGrpcStatus(error_));
  }

  void FinishLocked(const grpc::Status& status) {
    if (finish_.finished()) return;
    LogFinished("Filesystem.Read", call_id_, status, started_);
    finish_.Set(status);
  }

  FilesystemService& service_;
  CallSlot slot_;
  std::string call_id_;
  Clock::time_point started_;
  std::string path_;
  size_t chunk_ = kDefaultChunk;
  UniqueFd file_;  // set once (under mu_) by the first pool task

  std::mutex mu_;
  v1::ReadChunk chunks_[2];
  std::deque<int> free_{0, 1};
  std::deque<int> ready_;  // front is being written when writing_
  uint64_t offset_ = 0;
  uint64_t remaining_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  bool eof_ = false;
  bool client_gone_ = false;
  absl::Status error_;
  PendingFinish finish_;
};

// ----------------------------------------------------------------- Write --

class WriteCall final : public grpc::ServerReadReactor<v1::WriteRequest> {
 public:
  WriteCall(FilesystemService& service, grpc::CallbackServerContext* context,
            v1::WriteResponse* response)
      : service_(service),
        context_(context),
        slot_(service.ctx()),
        call_id_(service.ctx().CallId(*context)),
        started_(Clock::now()),
        response_(response) {
    std::unique_lock<std::mutex> lock(mu_);
    grpc::Status status = Admit(service.ctx(), *context, slot_, rpc::kFilesystemWrite.path);
    if (!status.ok()) {
      FinishLocked(status);
      finish_.UnlockAndRun(this, lock);
      return;
    }
    StartReadLocked(0);
  }

  void OnReadDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    const int idx = reading_;
    reading_ = -1;
    if (!ok) {
      eof_ = true;
    } else if (!finish_.finished()) {
      if (!have_first_) TakeFirstLocked(msgs_[idx]);
      pending_.push_back(idx);
      pending_bytes_ += msgs_[idx].data().size();
      idx_free_[idx] = false;
    }
    if (!ok || finish_.finished()) idx_free_[idx] = true;
    ProgressLocked();
    finish_.UnlockAndRun(this, lock);
  }

  void OnCancel() override {
    std::unique_lock<std::mutex> lock(mu_);
    cancelled_ = true;
    ProgressLocked();
    finish_.UnlockAndRun(this, lock);
  }

  void OnDone() override { delete this; }

 private:
  void StartReadLocked(int idx) {
    reading_ = idx;
    idx_free_[idx] = false;
    StartRead(&msgs_[idx]);
  }

  void TakeFirstLocked(const v1::WriteRequest& first) {
    have_first_ = true;
    auto path = fs::PathArg("path", first.path(), first.path_bytes(), false);
    if (!path.ok()) {
      error_ = path.status();
      return;
    }
    path_ = fs::Resolve(service_.ctx().workdir(), *path);
    options_.mode = first.mode();
    options_.append = first.append();
    options_.create_parents = first.create_parents();
  }

  void ProgressLocked() {
    if (finish_.finished()) return;
    if (cancelled_ || !error_.ok()) {
      if (!disk_busy_) {
        writer_.reset();  // discards the temporary file
        FinishLocked(cancelled_ ? kCancelled : ToGrpcStatus(error_));
      }
      return;
    }
    if (!disk_busy_ && !pending_.empty()) {
      const int idx = pending_.front();
      pending_.pop_front();
      pending_bytes_ -= msgs_[idx].data().size();
      disk_busy_ = true;
      service_.pool().Submit([this, idx] { WriteToDisk(idx); });
    } else if (!disk_busy_ && eof_ && reading_ < 0 && pending_.empty()) {
      if (!have_first_) {
        FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                  "the stream ended before its first message (with `path`)"));
        return;
      }
      disk_busy_ = true;
      service_.pool().Submit([this] { Commit(); });
      return;
    }
    // Read the next message while the previous one goes to disk.
    if (reading_ < 0 && !eof_ && pending_bytes_ < kWriteAheadBytes) {
      for (int i = 0; i < kWriteBuffers; ++i) {
        if (idx_free_[i]) {
          StartReadLocked(i);
          break;
        }
      }
    }
  }

  // I/O pool.
  void WriteToDisk(int idx) {
    absl::Status status;
    if (!writer_) {
      auto writer = fs::AtomicWriter::Open(path_, options_);
      if (writer.ok()) {
        writer_ = std::move(*writer);
      } else {
        status = writer.status();
      }
    }
    if (status.ok() && !msgs_[idx].data().empty()) status = writer_->Write(msgs_[idx].data());
    msgs_[idx].Clear();
    std::unique_lock<std::mutex> lock(mu_);
    disk_busy_ = false;
    idx_free_[idx] = true;
    if (!status.ok()) error_ = status;
    ProgressLocked();
    finish_.UnlockAndRun(this, lock);
  }

  // I/O pool.
  void Commit() {
    absl::Status status = writer_->Sync();
    bool cancelled;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // The fsync took a while: a client that cancelled instead of
      // half-closing is known by now, and its partial data is dropped.
      cancelled = cancelled_ || context_->IsCancelled();
    }
    absl::StatusOr<fs::WriteResult> result = absl::CancelledError("cancelled");
    if (status.ok() && !cancelled) {
      result = writer_->Publish();
      if (!result.ok()) status = result.status();
    }
    std::unique_lock<std::mutex> lock(mu_);
    disk_busy_ = false;
    if (cancelled) {
      cancelled_ = true;
    } else if (!status.ok()) {
      error_ = status;
    } else {
      const std::string& p = result->path;
      if (fs::IsValidUtf8(p)) {
        response_->set_path(p);
      } else {
        response_->set_path(fs::DisplayName(p));
      }
      response_->set_bytes_written(result->bytes_written);
      response_->set_sha256(result->sha256);
      response_->set_data_sha256(result->data_sha256);
      *response_->mutable_info() = std::move(result->info);
      writer_.reset();
      FinishLocked(grpc::Status::OK);
    }
    ProgressLocked();
    finish_.UnlockAndRun(this, lock);
  }

  void FinishLocked(const grpc::Status& status) {
    if (finish_.finished()) return;
    LogFinished("Filesystem.Write", call_id_, status, started_);
    finish_.Set(status);
  }

  FilesystemService& service_;
  grpc::CallbackServerContext* context_;
  CallSlot slot_;
  std::string call_id_;
  Clock::time_point started_;
  v1::WriteResponse* response_;

  std::mutex mu_;
  // One message being read from the client, one on its way to disk, the
  // rest read and waiting for the disk.
  v1::WriteRequest msgs_[kWriteBuffers];
  bool idx_free_[kWriteBuffers] = {true, true, true, true};
  int reading_ = -1;         // the message being read, or -1
  std::deque<int> pending_;  // read, waiting for the disk
  size_t pending_bytes_ = 0;
  bool disk_busy_ = false;
  bool have_first_ = false;
  bool eof_ = false;
  bool cancelled_ = false;
  std::string path_;
  fs::WriteOptions options_;
  std::unique_ptr<fs::AtomicWriter> writer_;  // used by one pool task at a time
  absl::Status error_;
  PendingFinish finish_;
};

}  // namespace

// ----------------------------------------------------------------- Watch --

class WatchCall final : public grpc::ServerWriteReactor<v1::WatchEvent> {
 public:
  WatchCall(FilesystemService& service, grpc::CallbackServerContext* context,
            const v1::WatchRequest* request)
      : service_(service),
        slot_(service.ctx()),
        call_id_(service.ctx().CallId(*context)),
        started_(Clock::now()) {
    std::unique_lock<std::mutex> lock(mu_);
    grpc::Status status = Admit(service.ctx(), *context, slot_, rpc::kFilesystemWatch.path);
    if (status.ok()) {
      auto path = fs::PathArg("path", request->path(), request->path_bytes(), true);
      if (path.ok()) {
        path_ = fs::Resolve(service.ctx().workdir(), *path);
      } else {
        status = ToGrpcStatus(path.status());
      }
    }
    if (status.ok() && !service.AddWatch(this)) {
      status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the runner is shutting down");
    }
    if (!status.ok()) {
      FinishLocked(status);
      finish_.UnlockAndRun(this, lock);
      return;
    }
    registered_ = true;
    recursive_ = request->recursive();
    max_queue_ = request->max_queued_events() == 0
                     ? kDefaultWatchQueue
                     : std::min<size_t>(request->max_queued_events(), kMaxWatchQueue);
    setting_up_ = true;
    service_.pool().Submit([this] { SetUp(); });
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    writing_ = false;
    queue_.pop_front();
    if (!ok) EndLocked(kCancelled, /*client_gone=*/true);
    ProgressLocked();
    finish_.UnlockAndRun(this, lock);
  }

  void OnCancel() override {
    std::unique_lock<std::mutex> lock(mu_);
    EndLocked(kCancelled, /*client_gone=*/true);
    ProgressLocked();
    finish_.UnlockAndRun(this, lock);
  }

  void OnDone() override {
    if (registered_) service_.RemoveWatch(this);
    delete this;
  }

  void EndForShutdown() {
    std::unique_lock<std::mutex> lock(mu_);
    EndLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the runner is shutting down"),
              /*client_gone=*/false);
    ProgressLocked();
    finish_.UnlockAndRun(this, lock);
  }

 private:
  // I/O pool: the recursive walk may take a while.
  void SetUp() {
    auto tree = fs::TreeWatch::Create(path_, recursive_);
    std::unique_lock<std::mutex> lock(mu_);
    setting_up_ = false;
    if (!tree.ok()) {
      EndLocked(ToGrpcStatus(tree.status()), false);
    } else if (!ended_) {
      tree_ = std::move(*tree);
      ++posted_;
      if (!service_.loop().Post([this] { StartOnLoop(); })) {
        --posted_;
        EndLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the runner is shutting down"),
                  false);
      }
    }
    ProgressLocked();
    finish_.UnlockAndRun(this, lock);
  }

  // Event-loop thread.
  void StartOnLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    --posted_;
    if (!ended_) {
      absl::Status st =
          service_.loop().Watch(tree_->fd(), EPOLLIN, [this](uint32_t) { OnInotify(); });
      if (st.ok()) {
        watching_ = true;
        // The response headers say "the watch is in place": a client that
        // waits for them misses no event after that.
        StartSendInitialMetadata();
        log::Debug("watch started",
                   {{"call_id", call_id_},
                    {"directories", static_cast<uint64_t>(tree_->watched_directories())}});
      } else {
        EndLocked(ToGrpcStatus(st), false);
      }
    }
    ProgressLocked();
    finish_.UnlockAndRun(this, lock);
  }

  // Event-loop thread.
  void OnInotify() {
    std::vector<v1::WatchEvent> batch;
    absl::Status st = tree_->ReadEvents(&batch);
    std::unique_lock<std::mutex> lock(mu_);
    for (v1::WatchEvent& e : batch) EnqueueLocked(std::move(e));
    if (!st.ok()) {
      EndLocked(ToGrpcStatus(st), false);
    } else if (tree_->root_gone()) {
      EndLocked(grpc::Status::OK, false);
    }
    if (ended_) StopOnLoopLocked();
    ProgressLocked();
    finish_.UnlockAndRun(this, lock);
  }

  // Event-loop thread.
  void StopOnLoopLocked() {
    if (watching_) service_.loop().Unwatch(tree_->fd());
    watching_ = false;
  }

  void EnqueueLocked(v1::WatchEvent event) {
    const size_t in_flight = writing_ ? 1 : 0;
    if (queue_.size() - in_flight >= max_queue_) {
      overflowed_ = true;
      return;
    }
    if (event.kind() == v1::WatchEvent::KIND_MODIFY && queue_.size() > in_flight) {
      const v1::WatchEvent& last = queue_.back();
      if (last.kind() == v1::WatchEvent::KIND_MODIFY && last.path() == event.path() &&
          last.path_bytes() == event.path_bytes()) {
        return;
      }
    }
    queue_.push_back(std::move(event));
  }

  // Any thread. The first end wins; a client that went away also drops
  // what is still queued.
  void EndLocked(const grpc::Status& status, bool client_gone) {
    if (client_gone) client_gone_ = true;
    if (ended_) return;
    ended_ = true;
    status_ = status;
    // Only the loop thread may take our fd off the loop. (A StartOnLoop
    // still queued sees ended_ and does not add it.)
    if (watching_ && !service_.loop().InLoopThread()) {
      ++posted_;
      const bool posted = service_.loop().Post([this] {
        std::unique_lock<std::mutex> lock(mu_);
        --posted_;
        StopOnLoopLocked();
        ProgressLocked();
        finish_.UnlockAndRun(this, lock);
      });
      if (!posted) {
        // The loop has stopped: no handler of ours can run any more.
        --posted_;
        watching_ = false;
      }
    }
  }

  void ProgressLocked() {
    if (finish_.finished()) return;
    if (overflowed_ && queue_.size() - (writing_ ? 1 : 0) < max_queue_) {
      overflowed_ = false;
      queue_.push_back(
          fs::MakeWatchEvent(v1::WatchEvent::KIND_OVERFLOW, path_, v1::FILE_TYPE_UNSPECIFIED));
    }
    if (!writing_ && !queue_.empty() && !client_gone_) {
      writing_ = true;
      StartWrite(&queue_.front());
    }
    // Finished only when no pool task, loop task or fd handler can still
    // reach this object.
    if (ended_ && !setting_up_ && posted_ == 0 && !watching_ && !writing_ &&
        (queue_.empty() || client_gone_)) {
      FinishLocked(status_);
    }
  }

  void FinishLocked(const grpc::Status& status) {
    if (finish_.finished()) return;
    LogFinished("Filesystem.Watch", call_id_, status, started_);
    finish_.Set(status);
  }

  FilesystemService& service_;
  CallSlot slot_;
  std::string call_id_;
  Clock::time_point started_;
  bool registered_ = false;
  std::string path_;
  bool recursive_ = false;
  size_t max_queue_ = kDefaultWatchQueue;
  std::unique_ptr<fs::TreeWatch> tree_;  // read on the loop thread only

  std::mutex mu_;
  std::deque<v1::WatchEvent> queue_;  // front is being written when writing_
  bool writing_ = false;
  bool overflowed_ = false;
  bool setting_up_ = false;
  int posted_ = 0;         // tasks posted to the loop that have not run yet
  bool watching_ = false;  // the loop has our fd
  bool ended_ = false;
  bool client_gone_ = false;
  grpc::Status status_;
  PendingFinish finish_;
};

void EndWatch(WatchCall* call) { call->EndForShutdown(); }

grpc::ServerWriteReactor<v1::ReadChunk>* NewReadCall(FilesystemService& service,
                                                     grpc::CallbackServerContext* context,
                                                     const v1::ReadRequest* request) {
  return new ReadCall(service, context, request);
}

grpc::ServerReadReactor<v1::WriteRequest>* NewWriteCall(FilesystemService& service,
                                                        grpc::CallbackServerContext* context,
                                                        v1::WriteResponse* response) {
  return new WriteCall(service, context, response);
}

grpc::ServerWriteReactor<v1::WatchEvent>* NewWatchCall(FilesystemService& service,
                                                       grpc::CallbackServerContext* context,
                                                       const v1::WatchRequest* request) {
  return new WatchCall(service, context, request);
}

}  // namespace sagewai::fs_internal
