#include "tool-runner/fs/fs_service.h"

#include <malloc.h>

#include <cstdlib>
#include <utility>
#include <vector>

#include "common/fs_path.h"
#include "common/log.h"
#include "tool-runner/core/admission.h"
#include "tool-runner/core/grpc_status.h"
#include "tool-runner/fs/fs_glob.h"
#include "tool-runner/fs/fs_ops.h"
#include "tool-runner/fs/fs_stream_calls.h"
#include "tool-runner/supervisor/spawn_limits.h"
#include "tool-runner/supervisor/tool_credentials.h"

namespace sagewai {

namespace v1 = ::sagewai::sandbox::v1;

namespace {

// Every file operation of a call acts with the agent's permissions and
// creates files the agent owns. A thread that cannot must not do the work as
// the runner instead.
void ActAsToolOrDie() {
  if (absl::Status st = ActAsToolForFiles(); !st.ok()) {
    log::Error("cannot take the tool user's file credentials",
               {{"error", std::string(st.message())}});
    abort();
  }
}

// gRPC allocates a slice for every message and socket read of a transfer
// and frees it soon after; glibc's defaults hand that memory back to the
// kernel at once (its per-thread arenas trim with madvise), so every MiB
// moved faulted fresh pages in again: a fifth of the runner's CPU in a
// transfer, measured. A few MiB kept at the top of each arena end the churn
// (the peak RSS of a 1 GiB transfer grows by a few MiB; allocations above
// 2 MiB still come from mmap and go back at once). Process-wide: the runner is one process, and
// the Filesystem service is where its large transient buffers are.
void KeepTransferMemory() {
  mallopt(M_MMAP_THRESHOLD, 2 << 20);
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
}

}  // namespace

FilesystemService::FilesystemService(RunnerContext& ctx)
    : ctx_(ctx), pool_(kIoThreads, std::chrono::seconds(10), ActAsToolOrDie, [](int err) {
        return SpawnFailureStatus("a thread for file I/O", err);
      }) {
  KeepTransferMemory();
}

FilesystemService::~FilesystemService() = default;

void FilesystemService::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shut_down_ = true;
  // Each call finishes on its own thread later; RemoveWatch waits for mu_.
  for (fs_internal::WatchCall* call : watches_) fs_internal::EndWatch(call);
}

bool FilesystemService::AddWatch(fs_internal::WatchCall* call) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return false;
  watches_.insert(call);
  return true;
}

void FilesystemService::RemoveWatch(fs_internal::WatchCall* call) {
  std::lock_guard<std::mutex> lock(mu_);
  watches_.erase(call);
}

// Passes the gate on the gRPC thread, then runs `fn` (which returns an
// absl::Status and fills the response) on the I/O pool.
template <typename Fn>
grpc::ServerUnaryReactor* FilesystemService::RunUnary(const rpc::Method& method,
                                                      grpc::CallbackServerContext* context, Fn fn) {
  return AdmitUnary(ctx_, context, method, [&](Admission admission, auto* reactor) {
    absl::Status started =
        pool_.Submit([reactor, call = std::move(admission), fn = std::move(fn)]() mutable {
          grpc::Status result = ToGrpcStatus(fn());
          call.LogFinished(result);
          reactor->Finish(result);
        });
    // (The task, and the call's admission with it, is gone then.)
    if (!started.ok()) reactor->Finish(ToGrpcStatus(started));
  });
}

grpc::ServerWriteReactor<v1::ReadChunk>* FilesystemService::Read(
    grpc::CallbackServerContext* context, const v1::ReadRequest* request) {
  return fs_internal::NewReadCall(*this, context, request);
}

grpc::ServerReadReactor<v1::WriteRequest>* FilesystemService::Write(
    grpc::CallbackServerContext* context, v1::WriteResponse* response) {
  return fs_internal::NewWriteCall(*this, context, response);
}

grpc::ServerWriteReactor<v1::WatchEvent>* FilesystemService::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest* request) {
  return fs_internal::NewWatchCall(*this, context, request);
}

grpc::ServerUnaryReactor* FilesystemService::Stat(grpc::CallbackServerContext* context,
                                                  const v1::StatRequest* request,
                                                  v1::FileInfo* response) {
  return RunUnary(rpc::kFilesystemStat, context, [this, request, response]() -> absl::Status {
    auto path = fs::PathArg("path", request->path(), request->path_bytes(), true);
    if (!path.ok()) return path.status();
    auto info = fs::StatPath(fs::Resolve(ctx_.workdir(), *path), request->follow_symlinks());
    if (!info.ok()) return info.status();
    *response = *std::move(info);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* FilesystemService::List(grpc::CallbackServerContext* context,
                                                  const v1::ListRequest* request,
                                                  v1::ListResponse* response) {
  return RunUnary(rpc::kFilesystemList, context, [this, request, response]() -> absl::Status {
    auto path = fs::PathArg("path", request->path(), request->path_bytes(), true);
    if (!path.ok()) return path.status();
    return fs::List(fs::Resolve(ctx_.workdir(), *path), request->depth(), request->max_entries(),
                    response);
  });
}

grpc::ServerUnaryReactor* FilesystemService::MakeDir(grpc::CallbackServerContext* context,
                                                     const v1::MakeDirRequest* request,
                                                     v1::MakeDirResponse* response) {
  return RunUnary(rpc::kFilesystemMakeDir, context, [this, request, response]() -> absl::Status {
    auto path = fs::PathArg("path", request->path(), request->path_bytes(), false);
    if (!path.ok()) return path.status();
    return fs::MakeDir(fs::Resolve(ctx_.workdir(), *path), request->parents(), request->mode(),
                       response);
  });
}

grpc::ServerUnaryReactor* FilesystemService::Remove(grpc::CallbackServerContext* context,
                                                    const v1::RemoveRequest* request,
                                                    v1::RemoveResponse* response) {
  return RunUnary(rpc::kFilesystemRemove, context, [this, request, response]() -> absl::Status {
    auto path = fs::PathArg("path", request->path(), request->path_bytes(), false);
    if (!path.ok()) return path.status();
    auto removed =
        fs::Remove(fs::Resolve(ctx_.workdir(), *path), request->recursive(), ctx_.workdir());
    if (!removed.ok()) return removed.status();
    response->set_removed_entries(*removed);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* FilesystemService::Move(grpc::CallbackServerContext* context,
                                                  const v1::MoveRequest* request,
                                                  v1::MoveResponse* response) {
  return RunUnary(rpc::kFilesystemMove, context, [this, request, response]() -> absl::Status {
    auto source = fs::PathArg("source", request->source(), request->source_bytes(), false);
    if (!source.ok()) return source.status();
    auto destination =
        fs::PathArg("destination", request->destination(), request->destination_bytes(), false);
    if (!destination.ok()) return destination.status();
    auto info =
        fs::Move(fs::Resolve(ctx_.workdir(), *source), fs::Resolve(ctx_.workdir(), *destination),
                 request->overwrite(), request->create_parents());
    if (!info.ok()) return info.status();
    *response->mutable_info() = *std::move(info);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* FilesystemService::Glob(grpc::CallbackServerContext* context,
                                                  const v1::GlobRequest* request,
                                                  v1::GlobResponse* response) {
  return RunUnary(rpc::kFilesystemGlob, context, [this, request, response]() -> absl::Status {
    auto path = fs::PathArg("path", request->path(), request->path_bytes(), true);
    if (!path.ok()) return path.status();
    if (request->pattern().find('\0') != std::string::npos) {
      return absl::InvalidArgumentError("`pattern` contains a NUL byte");
    }
    return fs::Glob(fs::Resolve(ctx_.workdir(), *path), request->pattern(), request->max_entries(),
                    response);
  });
}

}  // namespace sagewai
