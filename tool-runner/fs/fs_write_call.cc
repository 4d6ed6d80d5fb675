// Filesystem.Write: a client stream made atomic on disk (fs_write.h). One
// message is read from the client while the previous one goes to disk on
// the I/O pool; a cancelled or failed write leaves the old file.
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

// Write messages held at once: one being read from the client, one on its
// way to disk, the rest waiting (so the client is not held up by a slow
// write()) — but no more read ahead once kWriteAheadBytes are waiting, so
// that large messages do not multiply the memory a call holds.
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
    } else if (!finish_.finished()) {
      if (!have_first_) TakeFirstLocked(msgs_[idx]);
      pending_.push_back(idx);
      pending_bytes_ += msgs_[idx].data().size();
      idx_free_[idx] = false;
    }
    if (!ok || finish_.finished()) idx_free_[idx] = true;
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
  DeferredFinish<WriteCall> finish_;
};

}  // namespace

grpc::ServerReadReactor<v1::WriteRequest>* NewWriteCall(FilesystemService& service,
                                                        grpc::CallbackServerContext* context,
                                                        v1::WriteResponse* response) {
  return Admit<WriteCall>(service.ctx(), context, rpc::kFilesystemWrite, service, response);
}

}  // namespace sagewai::fs_internal
