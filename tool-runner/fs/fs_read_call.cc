// Filesystem.Read: a file sent in chunks, one being written to the client
// while the next is read from disk on the I/O pool (two chunks in memory per
// call, whatever the file size).
#include <algorithm>
#include <deque>
#include <mutex>

#include "common/fs_path.h"
#include "tool-runner/core/grpc_status.h"
#include "tool-runner/core/stream_writer.h"
#include "tool-runner/fs/fs_ops.h"
#include "tool-runner/fs/fs_service.h"
#include "tool-runner/fs/fs_stream_calls.h"

namespace sagewai::fs_internal {
namespace {

namespace v1 = ::sagewai::sandbox::v1;

constexpr size_t kDefaultChunk = 1 << 20;
constexpr size_t kMinChunk = 4 << 10;
constexpr size_t kMaxChunk = 4 << 20;

class ReadCall final : public grpc::ServerWriteReactor<v1::ReadChunk> {
 public:
  ReadCall(Admission admission, FilesystemService& service, const v1::ReadRequest* request)
      : call_(std::move(admission)), service_(service), out_(this) {
    std::unique_lock<std::mutex> lock(mu_);
    auto path = fs::PathArg("path", request->path(), request->path_bytes(), false);
    if (!path.ok()) {
      EndLocked(ToGrpcStatus(path.status()));
      out_.Release(lock);
      return;
    }
    path_ = fs::Resolve(call_.ctx().workdir(), *path);
    chunk_ = request->chunk_size() == 0
                 ? kDefaultChunk
                 : std::clamp<size_t>(request->chunk_size(), kMinChunk, kMaxChunk);
    offset_ = request->offset();
    remaining_ = request->length() == 0 ? UINT64_MAX : request->length();
    reading_ = true;
    if (absl::Status started = service_.pool().Submit([this] { OpenAndRead(); }); !started.ok()) {
      reading_ = false;
      EndLocked(ToGrpcStatus(started));
      out_.Release(lock);
    }
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    auto done = out_.OnWriteDone(ok);
    if (done.written.has_value()) free_.push_back(std::move(*done.written));
    ProgressLocked();
    out_.Release(lock);
  }

  void OnCancel() override {
    std::unique_lock<std::mutex> lock(mu_);
    out_.ClientGone();
    ProgressLocked();
    out_.Release(lock);
  }

  void OnDone() override { delete this; }

 private:
  // I/O pool.
  void OpenAndRead() {
    auto file = fs::OpenForRead(path_);
    std::unique_lock<std::mutex> lock(mu_);
    if (!file.ok()) {
      reading_ = false;
      error_ = file.status();
      ProgressLocked();
      out_.Release(lock);
      return;
    }
    file_ = std::move(file->fd);
    lock.unlock();
    ReadChunk();
  }

  // I/O pool, with reading_ set and a free buffer.
  void ReadChunk() {
    std::unique_lock<std::mutex> lock(mu_);
    v1::ReadChunk chunk = std::move(free_.front());
    free_.pop_front();
    const uint64_t offset = offset_;
    const size_t want = static_cast<size_t>(std::min<uint64_t>(chunk_, remaining_));
    lock.unlock();

    std::string* data = chunk.mutable_data();
    data->resize(want);
    auto n = want == 0 ? absl::StatusOr<size_t>(0)
                       : fs::ReadAt(file_.get(), data->data(), want, offset, path_);

    lock.lock();
    reading_ = false;
    if (!n.ok() || *n == 0) {
      if (!n.ok()) error_ = n.status();
      eof_ = true;
      free_.push_back(std::move(chunk));
    } else {
      data->resize(*n);
      chunk.set_offset(offset);
      offset_ += *n;
      remaining_ -= *n;
      if (*n < want || remaining_ == 0) eof_ = true;
      out_.Write(std::move(chunk), *n);
    }
    ProgressLocked();
    out_.Release(lock);
  }

  // Reads ahead while a buffer is free; ends once nothing is being read.
  void ProgressLocked() {
    if (out_.closing() || reading_) return;
    if (out_.client_gone()) {
      EndLocked(kCancelled);
    } else if (eof_ || !error_.ok()) {
      EndLocked(ToGrpcStatus(error_));
    } else if (!free_.empty() && file_.valid()) {
      reading_ = true;
      if (absl::Status started = service_.pool().Submit([this] { ReadChunk(); }); !started.ok()) {
        reading_ = false;
        error_ = std::move(started);
        EndLocked(ToGrpcStatus(error_));
      }
    }
  }

  // What is queued is still sent (for an error: the chunks before it).
  void EndLocked(const grpc::Status& status) {
    if (out_.closing()) return;
    call_.LogFinished(status);
    out_.FinishAfterQueue(status);
  }

  Admission call_;
  FilesystemService& service_;
  std::string path_;
  size_t chunk_ = kDefaultChunk;

  std::mutex mu_;
  StreamWriter<ReadCall, v1::ReadChunk> out_;  // guarded by mu_
  UniqueFd file_;                              // set once, before the first read
  std::deque<v1::ReadChunk> free_ = std::deque<v1::ReadChunk>(2);
  uint64_t offset_ = 0;
  uint64_t remaining_ = 0;
  bool reading_ = false;  // a pool task is (or will be) running
  bool eof_ = false;
  absl::Status error_;
};

}  // namespace

grpc::ServerWriteReactor<v1::ReadChunk>* NewReadCall(FilesystemService& service,
                                                     grpc::CallbackServerContext* context,
                                                     const v1::ReadRequest* request) {
  return Admit<ReadCall>(service.ctx(), context, rpc::kFilesystemRead, service, request);
}

}  // namespace sagewai::fs_internal
