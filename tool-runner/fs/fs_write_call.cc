// Filesystem.Write: a client stream made atomic on disk (fs_write.h). One
// message is read from the client while earlier ones go to disk and are
// hashed on the I/O pool, the disk and the hash as two pipelines of their
// own (each in order, each one task at a time, the two at once); a
// cancelled or failed write leaves the old file.
#include <deque>
#include <memory>
#include <mutex>

#include "common/fs_path.h"
#include "tool-runner/core/grpc_status.h"
#include "tool-runner/core/stream_writer.h"
#include "tool-runner/fs/fs_service.h"
#include "tool-runner/fs/fs_stream_calls.h"
#include "tool-runner/fs/fs_write.h"

namespace sagewai::fs_internal {
namespace {

namespace v1 = ::sagewai::sandbox::v1;

// Write messages held at once: one being read from the client, the others
// on their way to disk and through the hash or waiting for them (so the
// client is not held up by a slow write()) — but no more read ahead once
// kWriteAheadBytes wait for the disk, so that large messages do not
// multiply the memory a call holds.
constexpr int kWriteBuffers = 4;
constexpr size_t kWriteAheadBytes = 4 << 20;

// ----------------------------------------------------------------- Write --

class WriteCall final : public grpc::ServerReadReactor<v1::WriteRequest> {
 public:
  WriteCall(Admission admission, FilesystemService& service, v1::WriteResponse* response)
      : call_(std::move(admission)), service_(service), response_(response), finish_(this) {
    std::unique_lock<std::mutex> lock(mu_);
    StartReadLocked(0);
  }

  void OnReadDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    const int idx = reading_;
    reading_ = -1;
    if (!ok) {
      eof_ = true;
      idx_free_[idx] = true;
    } else if (finish_.finished()) {
      idx_free_[idx] = true;
    } else {
      if (!have_first_) TakeFirstLocked(msgs_[idx]);
      to_disk_.push_back(idx);
      to_hash_.push_back(idx);
      uses_[idx] = 2;
      pending_bytes_ += msgs_[idx].data().size();
    }
    ProgressLocked();
    finish_.Release(lock);
  }

  void OnCancel() override {
    std::unique_lock<std::mutex> lock(mu_);
    cancelled_ = true;
    ProgressLocked();
    finish_.Release(lock);
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
    path_ = fs::Resolve(call_.ctx().workdir(), *path);
    options_.mode = first.mode();
    options_.append = first.append();
    options_.create_parents = first.create_parents();
  }

  // A message goes back to the free list once the disk and the hash are
  // both done with it.
  void DoneWithLocked(int idx) {
    if (--uses_[idx] > 0) return;
    msgs_[idx].Clear();  // keeps the data's capacity for the next read
    idx_free_[idx] = true;
  }

  // Hands `task` to the I/O pool; when the pool can run nothing (no thread
  // can be started), clears `busy` and makes the pool's error the call's.
  bool SubmitLocked(IoPool::Task task, bool& busy) {
    absl::Status started = service_.pool().Submit(std::move(task));
    if (started.ok()) return true;
    busy = false;
    error_ = std::move(started);
    return false;
  }

  void ProgressLocked() {
    if (finish_.finished()) return;
    if (cancelled_ || !error_.ok()) {
      if (!disk_busy_ && !hash_busy_) {
        writer_.reset();  // discards the temporary file
        FinishLocked(cancelled_ ? kCancelled : ToGrpcStatus(error_));
      }
      return;
    }
    if (!disk_busy_ && !to_disk_.empty()) {
      const int idx = to_disk_.front();
      to_disk_.pop_front();
      pending_bytes_ -= msgs_[idx].data().size();
      disk_busy_ = true;
      if (!SubmitLocked([this, idx] { WriteToDisk(idx); }, disk_busy_)) return ProgressLocked();
    }
    // The hash starts once the first message has opened the file.
    if (!hash_busy_ && writer_open_ && !to_hash_.empty()) {
      const int idx = to_hash_.front();
      to_hash_.pop_front();
      hash_busy_ = true;
      if (!SubmitLocked([this, idx] { Hash(idx); }, hash_busy_)) return ProgressLocked();
    }
    if (!disk_busy_ && !hash_busy_ && eof_ && reading_ < 0 && to_disk_.empty() &&
        to_hash_.empty()) {
      if (!have_first_) {
        FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                  "the stream ended before its first message (with `path`)"));
        return;
      }
      disk_busy_ = true;
      if (!SubmitLocked([this] { Commit(); }, disk_busy_)) ProgressLocked();
      return;
    }
    // Read the next message while earlier ones go to disk.
    if (reading_ < 0 && !eof_ && pending_bytes_ < kWriteAheadBytes) {
      for (int i = 0; i < kWriteBuffers; ++i) {
        if (idx_free_[i]) {
          StartReadLocked(i);
          break;
        }
      }
    }
  }

  // I/O pool: the disk pipeline.
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
    if (status.ok() && !msgs_[idx].data().empty()) status = writer_->WriteData(msgs_[idx].data());
    std::unique_lock<std::mutex> lock(mu_);
    disk_busy_ = false;
    writer_open_ = writer_ != nullptr;
    DoneWithLocked(idx);
    if (!status.ok()) error_ = status;
    ProgressLocked();
    finish_.Release(lock);
  }

  // I/O pool: the hash pipeline, alongside the disk one (only reads the
  // message, as WriteToDisk does).
  void Hash(int idx) {
    if (!msgs_[idx].data().empty()) writer_->HashData(msgs_[idx].data());
    std::unique_lock<std::mutex> lock(mu_);
    hash_busy_ = false;
    DoneWithLocked(idx);
    ProgressLocked();
    finish_.Release(lock);
  }

  // I/O pool.
  void Commit() {
    absl::Status status = writer_->Sync();
    bool cancelled;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // The fsync took a while: a client that cancelled instead of
      // half-closing is known by now, and its partial data is dropped.
      cancelled = cancelled_ || call_.context()->IsCancelled();
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
    finish_.Release(lock);
  }

  void FinishLocked(const grpc::Status& status) {
    if (finish_.finished()) return;
    call_.LogFinished(status);
    finish_.Set(status);
  }

  Admission call_;
  FilesystemService& service_;
  v1::WriteResponse* response_;

  std::mutex mu_;
  // One message being read from the client, the others read and on their
  // way to disk and through the hash.
  v1::WriteRequest msgs_[kWriteBuffers];
  bool idx_free_[kWriteBuffers] = {true, true, true, true};
  int uses_[kWriteBuffers] = {};  // of the disk and the hash, still to come
  int reading_ = -1;              // the message being read, or -1
  std::deque<int> to_disk_;       // read, waiting for the disk
  std::deque<int> to_hash_;       // read, waiting for the hash
  size_t pending_bytes_ = 0;      // in to_disk_
  bool disk_busy_ = false;        // a WriteToDisk or Commit task is queued or running
  bool hash_busy_ = false;
  bool writer_open_ = false;  // writer_ exists: the hash may use it
  bool have_first_ = false;
  bool eof_ = false;
  bool cancelled_ = false;
  std::string path_;
  fs::WriteOptions options_;
  // Set by the first WriteToDisk; then used by one disk task and one hash
  // task at a time (disjoint halves, fs_write.h), and by Commit alone.
  std::unique_ptr<fs::AtomicWriter> writer_;
  absl::Status error_;
  DeferredFinish<WriteCall> finish_;
};

}  // namespace

grpc::ServerReadReactor<v1::WriteRequest>* NewWriteCall(FilesystemService& service,
                                                        grpc::CallbackServerContext* context,
                                                        v1::WriteResponse* response) {
  return Admit<WriteCall>(service.ctx(), context, rpc::kFilesystemWrite, service, response);
}

}  // namespace sagewai::fs_internal
