#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "cli/fs_session.h"
#include "common/fd_io.h"
#include "common/sha256.h"

// fs put and fs cat: files streamed in 1 MiB pieces, never held whole; put
// hashes what it sends on a thread of its own and compares the runner's hash.

namespace sagewai::cli {

namespace pb = sagewai::sandbox::v1;

namespace {

constexpr size_t kChunk = 1 << 20;
// The most one write(2) of `cat` hands stdout: a file there gets small
// page-cache folios, which cost far less than 1 MiB ones on a VM whose free
// memory goes back to the host (see tool-runner/fs/fs_write.cc).
constexpr size_t kStdoutPiece = 128 << 10;

// gRPC allocates a slice for every message and socket read and frees it
// soon after; glibc's defaults give that memory back to the kernel at once
// (the per-thread arenas trim with madvise), so every message faults fresh
// pages in again. Keeping a few MiB at the top of each arena ends the churn
// (measured: a fifth of the CPU of a transfer). The CLI is one process per
// command, so the setting ends with it.
void KeepTransferMemory() {
  mallopt(M_MMAP_THRESHOLD, 2 << 20);
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
}

// Fills `buf` from `fd` until it is full or EOF (so a short result means
// EOF, and a pipe still gives whole messages). The bytes read, or -1.
long ReadFull(int fd, char* buf, size_t size) {
  size_t done = 0;
  while (done < size) {
    const long n = ReadSome(fd, buf + done, size - done);
    if (n < 0) return -1;
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<long>(done);
}

// Hashes pieces in order on its own thread, so that hashing overlaps reading
// the file and sending it. Callers keep each piece's bytes unchanged until
// Pending() says its hash is done.
class BackgroundHash {
 public:
  BackgroundHash() : thread_([this] { Loop(); }) {}
  ~BackgroundHash() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Add(const char* data, size_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.emplace_back(data, size);
    cv_.notify_all();
  }
  // Waits until at most `n` pieces are queued or being hashed.
  void WaitForPending(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() + (busy_ ? 1 : 0) <= n; });
  }
  std::string FinishHex() {
    WaitForPending(0);
    return hash_.FinishHex();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto [data, size] = queue_.front();
      queue_.pop_front();
      busy_ = true;
      lock.unlock();
      hash_.Update(data, size);
      lock.lock();
      busy_ = false;
      cv_.notify_all();
    }
  }

  Sha256 hash_;  // touched by the thread only, until FinishHex
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<const char*, size_t>> queue_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int FsSession::Put() {
  KeepTransferMemory();
  const std::string& local = options_.paths[0];
  int fd = STDIN_FILENO;
  if (local != "-") {
    fd = open(local.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return LocalError(absl::StrCat("cannot read ", local, ": ", strerror(errno)));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      close(fd);
      return LocalError(absl::StrCat("cannot send ", local, ": it is a directory"));
    }
  }
  auto context = Context(/*streaming=*/true);
  pb::WriteResponse response;
  auto writer = stub_->Write(context.get(), &response);
  pb::WriteRequest msg;
  SetPath(options_.paths[1], msg.mutable_path(), msg.mutable_path_bytes());
  msg.set_mode(options_.mode);
  msg.set_append(options_.append);
  msg.set_create_parents(options_.parents);
  // Two buffers: one is read into and sent while the other may still be
  // hashing. Each is swapped into the message for Write (no copy).
  std::string bufs[2];
  BackgroundHash hash;
  uint64_t sent = 0;
  int read_errno = 0;
  for (int i = 0;; ++i) {
    std::string& buf = bufs[i % 2];
    hash.WaitForPending(1);  // the hash of what `buf` held is done
    buf.resize(kChunk);
    const long n = ReadFull(fd, buf.data(), kChunk);
    if (n < 0) {
      read_errno = errno;
      break;
    }
    buf.resize(static_cast<size_t>(n));
    if (n == 0 && i > 0) break;
    hash.Add(buf.data(), buf.size());
    sent += static_cast<uint64_t>(n);
    msg.mutable_data()->swap(buf);
    const bool ok = writer->Write(msg);
    msg.mutable_data()->swap(buf);
    // A failed Write means the runner ended the call: Finish says why.
    if (!ok) break;
    if (i == 0) msg.Clear();
    if (static_cast<size_t>(n) < kChunk) break;  // ReadFull stops short only at EOF
  }
  if (fd != STDIN_FILENO) close(fd);
  if (read_errno != 0) {
    // The runner drops what it got: the remote file stays as it was.
    context->TryCancel();
    writer->Finish();
    return LocalError(absl::StrCat("cannot read ", local == "-" ? "standard input" : local, ": ",
                                   strerror(read_errno), " (", options_.paths[1],
                                   " was left as it was)"));
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return Fail(status, "Filesystem.Write");
  const std::string sent_sha = hash.FinishHex();
  const std::string& stored_sha = options_.append ? response.data_sha256() : response.sha256();
  if (response.bytes_written() != sent || stored_sha != sent_sha) {
    fprintf(stderr,
            "sagewai-sandbox fs put: checksum mismatch: sent %llu bytes with sha256 %s, the "
            "runner stored %llu bytes with sha256 %s — do not trust %s; send it again\n",
            static_cast<unsigned long long>(sent), sent_sha.c_str(),
            static_cast<unsigned long long>(response.bytes_written()), stored_sha.c_str(),
            options_.paths[1].c_str());
    return kExitSoftware;
  }
  return kExitOk;
}

int FsSession::Cat() {
  KeepTransferMemory();
  pb::ReadRequest req;
  SetPath(options_.paths[0], req.mutable_path(), req.mutable_path_bytes());
  req.set_offset(options_.offset);
  req.set_length(options_.length);
  auto context = Context(/*streaming=*/true);
  auto reader = stub_->Read(context.get(), req);
  pb::ReadChunk chunk;
  while (reader->Read(&chunk)) {
    const absl::string_view data = chunk.data();
    int code = kExitOk;
    for (size_t off = 0; off < data.size() && code == kExitOk; off += kStdoutPiece) {
      code = WriteStdout(data.substr(off, kStdoutPiece));
    }
    if (code != kExitOk) {
      context->TryCancel();
      while (reader->Read(&chunk)) {
      }
      reader->Finish();
      return code;
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return Fail(status, "Filesystem.Read");
  return kExitOk;
}

}  // namespace sagewai::cli
