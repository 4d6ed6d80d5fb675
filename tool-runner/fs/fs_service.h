// sagewai.sandbox.v1.Filesystem on the callback API.
//
// What callers can rely on (the API decisions):
//
// Paths. Relative paths resolve against the work directory (`/workspace`);
// "" is the work directory. Nothing is normalized or confined: calls run
// with the runner's uid, so they can do exactly what the agent user can.
// Every path field has a `*_bytes` twin for names that are not UTF-8 (proto3
// strings must be UTF-8): in requests a non-empty `*_bytes` wins; responses
// set `*_bytes` only when needed, the string then holding a display form
// with "\xNN" for each invalid byte. NUL bytes are INVALID_ARGUMENT.
//
// Errors. errno maps to the code (ENOENT NOT_FOUND, EACCES/EPERM
// PERMISSION_DENIED, EEXIST ALREADY_EXISTS, ENOSPC/EDQUOT
// RESOURCE_EXHAUSTED, EISDIR/ENOTDIR/ENOTEMPTY/ELOOP FAILED_PRECONDITION);
// the message is "<operation> <path>: <strerror>", the path with control
// characters escaped so it stays on one line.
//
// Read: regular files only (symlinks followed); a directory, FIFO, socket
// or device is FAILED_PRECONDITION without being opened for long (open is
// O_NONBLOCK, then fstat). Chunks of `chunk_size` (default 1 MiB, 4 KiB to
// 4 MiB). One chunk is being sent while the next is read from disk: memory
// per call is two chunks whatever the file size. An offset at or past the
// end yields no chunks and OK.
//
// Write: atomic (see fs_write.h): O_TMPFILE in the target's directory,
// fsync, link, rename over the target, fsync the directory. A write that
// fails, is cancelled, or hits a full disk leaves the old file as it was
// and no temporary file. A symlink is written through (its target is
// replaced, the link stays). `mode` 0 keeps an existing file's mode and
// owner, 0644 for a new file. `append` copies the old content into the
// temporary file first (copy_file_range) and stays atomic. The response
// carries the SHA-256 of the whole new file and of the bytes sent.
// Messages go to disk one at a time while the next ones are read from the
// client (at most four messages, and reading ahead only while less than
// 4 MiB waits, so memory per call stays a few messages); the data is handed to
// writeback every 8 MiB, so a large write does not pile up dirty pages and
// its final fsync is short.
//
// List: `depth` levels (default 1, at most 128), sorted pre-order, names
// relative to the listed directory; symlinks are listed with their target,
// never followed (a symlink as the listed path itself is followed).
// `max_entries` (default 10000, at most 100000) caps the answer, with
// `truncated`.
//
// MakeDir: `parents` is mkdir -p (`created` false when it existed). Remove:
// files, symlinks (never their targets) and empty directories; non-empty
// ones need `recursive`; "/", the work directory and its ancestors are
// refused with FAILED_PRECONDITION. Move: rename(2); an existing
// destination is ALREADY_EXISTS unless `overwrite`; across filesystems it
// copies (under a temporary name, then renamed into place) and removes the
// source.
//
// Glob (beyond the usual file calls): `*`, `?`, `[...]`, `**` under `path`
// (see fs_glob.h for the rules on hidden names and symlinks), sorted,
// capped like List.
//
// Watch (beyond the usual file calls): inotify events (CREATE, MODIFY,
// DELETE, MOVED_FROM/MOVED_TO with a shared `cookie`) under a directory,
// optionally recursive (see fs_watch.h). KIND_OVERFLOW when the kernel
// queue overflowed or when more than `max_queued_events` (default 4096)
// wait for a slow client (the excess is dropped). Consecutive MODIFY events
// of one path that wait in the queue are merged. The stream ends when the
// client cancels, when the watched directory is deleted or moved (after
// that event; status OK), or when the runner shuts down (UNAVAILABLE). The
// response headers go out once the watch is in place: a client that waits
// for them (grpcio `initial_metadata()`, C++ `WaitForInitialMetadata()`)
// misses nothing that happens after. Each Watch is one inotify instance
// (the kernel allows 128 per user by default: beyond, RESOURCE_EXHAUSTED).
//
// Threads. Blocking file work runs on a small I/O pool (kIoThreads threads
// named "sagewai-fs-io", started on demand and ended after 10 s idle),
// never on gRPC's callback threads; inotify is read on the supervisor's
// event-loop thread. Every call passes the authorization check and takes a call
// slot (RESOURCE_EXHAUSTED when none is left) at the gate (core/admission.h); a Watch holds its slot while
// it runs.
#ifndef SAGEWAI_TOOL_RUNNER_FS_FS_SERVICE_H_
#define SAGEWAI_TOOL_RUNNER_FS_FS_SERVICE_H_

#include <memory>
#include <mutex>
#include <unordered_set>

#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tool-runner/core/auth_methods.h"
#include "tool-runner/supervisor/event_loop.h"
#include "tool-runner/fs/fs_io_pool.h"
#include "tool-runner/core/runner_context.h"

namespace sagewai {

namespace fs_internal {
class WatchCall;
}

class FilesystemService final : public sagewai::sandbox::v1::Filesystem::CallbackService {
 public:
  // I/O threads at most; the runner's thread count stays well under 16.
  static constexpr size_t kIoThreads = 2;

  explicit FilesystemService(RunnerContext& ctx);
  ~FilesystemService() override;

  // Ends every running Watch (UNAVAILABLE). Call at shutdown, before the
  // supervisor's event loop stops; calls that end on their own are left to
  // finish.
  void Shutdown();

  grpc::ServerWriteReactor<sagewai::sandbox::v1::ReadChunk>* Read(
      grpc::CallbackServerContext* context,
      const sagewai::sandbox::v1::ReadRequest* request) override;
  grpc::ServerReadReactor<sagewai::sandbox::v1::WriteRequest>* Write(
      grpc::CallbackServerContext* context, sagewai::sandbox::v1::WriteResponse* response) override;
  grpc::ServerUnaryReactor* Stat(grpc::CallbackServerContext* context,
                                 const sagewai::sandbox::v1::StatRequest* request,
                                 sagewai::sandbox::v1::FileInfo* response) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* context,
                                 const sagewai::sandbox::v1::ListRequest* request,
                                 sagewai::sandbox::v1::ListResponse* response) override;
  grpc::ServerUnaryReactor* MakeDir(grpc::CallbackServerContext* context,
                                    const sagewai::sandbox::v1::MakeDirRequest* request,
                                    sagewai::sandbox::v1::MakeDirResponse* response) override;
  grpc::ServerUnaryReactor* Remove(grpc::CallbackServerContext* context,
                                   const sagewai::sandbox::v1::RemoveRequest* request,
                                   sagewai::sandbox::v1::RemoveResponse* response) override;
  grpc::ServerUnaryReactor* Move(grpc::CallbackServerContext* context,
                                 const sagewai::sandbox::v1::MoveRequest* request,
                                 sagewai::sandbox::v1::MoveResponse* response) override;
  grpc::ServerUnaryReactor* Glob(grpc::CallbackServerContext* context,
                                 const sagewai::sandbox::v1::GlobRequest* request,
                                 sagewai::sandbox::v1::GlobResponse* response) override;
  grpc::ServerWriteReactor<sagewai::sandbox::v1::WatchEvent>* Watch(
      grpc::CallbackServerContext* context,
      const sagewai::sandbox::v1::WatchRequest* request) override;

  // For the calls (fs_stream_calls.cc).
  RunnerContext& ctx() { return ctx_; }
  IoPool& pool() { return pool_; }
  EventLoop& loop() { return ctx_.supervisor().loop(); }
  // False once Shutdown() has run.
  bool AddWatch(fs_internal::WatchCall* call);
  void RemoveWatch(fs_internal::WatchCall* call);

 private:
  template <typename Fn>
  grpc::ServerUnaryReactor* RunUnary(const rpc::Method& method, grpc::CallbackServerContext* context,
                                     Fn fn);

  RunnerContext& ctx_;
  IoPool pool_;
  std::mutex mu_;
  std::unordered_set<fs_internal::WatchCall*> watches_;  // guarded by mu_
  bool shut_down_ = false;                               // guarded by mu_
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_FS_FS_SERVICE_H_
