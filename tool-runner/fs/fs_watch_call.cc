// Filesystem.Watch: inotify events under a directory (fs_watch.h), read on
// the supervisor's event-loop thread and queued for the client with a cap
// (KIND_OVERFLOW beyond it) and merged MODIFY events.
#include <sys/epoll.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "common/fs_path.h"
#include "common/log.h"
#include "tool-runner/core/grpc_status.h"
#include "tool-runner/core/stream_writer.h"
#include "tool-runner/fs/fs_service.h"
#include "tool-runner/fs/fs_stream_calls.h"
#include "tool-runner/fs/fs_watch.h"

namespace sagewai::fs_internal {

namespace v1 = ::sagewai::sandbox::v1;

namespace {
constexpr size_t kDefaultWatchQueue = 4096;
constexpr size_t kMaxWatchQueue = 1 << 20;
}  // namespace

// ----------------------------------------------------------------- Watch --

class WatchCall final : public grpc::ServerWriteReactor<v1::WatchEvent> {
 public:
  WatchCall(Admission admission, FilesystemService& service, const v1::WatchRequest* request)
      : call_(std::move(admission)), service_(service), out_(this) {
    std::unique_lock<std::mutex> lock(mu_);
    grpc::Status status;
    auto path = fs::PathArg("path", request->path(), request->path_bytes(), true);
    if (path.ok()) {
      path_ = fs::Resolve(call_.ctx().workdir(), *path);
    } else {
      status = ToGrpcStatus(path.status());
    }
    if (status.ok() && !service.AddWatch(this)) {
      status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the runner is shutting down");
    }
    if (!status.ok()) {
      FinishLocked(status);
      out_.Release(lock);
      return;
    }
    registered_ = true;
    recursive_ = request->recursive();
    max_queue_ = request->max_queued_events() == 0
                     ? kDefaultWatchQueue
                     : std::min<size_t>(request->max_queued_events(), kMaxWatchQueue);
    setting_up_ = true;
    if (absl::Status started = service_.pool().Submit([this] { SetUp(); }); !started.ok()) {
      setting_up_ = false;
      EndLocked(ToGrpcStatus(started), /*client_gone=*/false);
      ProgressLocked();
      out_.Release(lock);
    }
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    out_.OnWriteDone(ok);
    if (!ok) EndLocked(kCancelled, /*client_gone=*/true);
    ProgressLocked();
    out_.Release(lock);
  }

  void OnCancel() override {
    std::unique_lock<std::mutex> lock(mu_);
    EndLocked(kCancelled, /*client_gone=*/true);
    ProgressLocked();
    out_.Release(lock);
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
    out_.Release(lock);
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
    out_.Release(lock);
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
                   {{"call_id", call_.call_id()},
                    {"directories", static_cast<uint64_t>(tree_->watched_directories())}});
      } else {
        EndLocked(ToGrpcStatus(st), false);
      }
    }
    ProgressLocked();
    out_.Release(lock);
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
    out_.Release(lock);
  }

  // Event-loop thread.
  void StopOnLoopLocked() {
    if (watching_) service_.loop().Unwatch(tree_->fd());
    watching_ = false;
  }

  void EnqueueLocked(v1::WatchEvent event) {
    if (out_.waiting() >= max_queue_) {
      overflowed_ = true;
      return;
    }
    const v1::WatchEvent* last = out_.last_waiting();
    if (event.kind() == v1::WatchEvent::KIND_MODIFY && last != nullptr &&
        last->kind() == v1::WatchEvent::KIND_MODIFY && last->path() == event.path() &&
        last->path_bytes() == event.path_bytes()) {
      return;
    }
    out_.Write(std::move(event), 0);
  }

  // Any thread. The first end wins; a client that went away also drops
  // what is still queued.
  void EndLocked(const grpc::Status& status, bool client_gone) {
    if (client_gone) out_.ClientGone();
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
        out_.Release(lock);
      });
      if (!posted) {
        // The loop has stopped: no handler of ours can run any more.
        --posted_;
        watching_ = false;
      }
    }
  }

  void ProgressLocked() {
    if (out_.closing()) return;
    if (overflowed_ && out_.waiting() < max_queue_) {
      overflowed_ = false;
      out_.Write(
          fs::MakeWatchEvent(v1::WatchEvent::KIND_OVERFLOW, path_, v1::FILE_TYPE_UNSPECIFIED), 0);
    }
    // Finished only when no pool task, loop task or fd handler can still
    // reach this object (and, unless the client is gone, once the queue
    // has drained).
    if (ended_ && !setting_up_ && posted_ == 0 && !watching_) FinishLocked(status_);
  }

  void FinishLocked(const grpc::Status& status) {
    if (out_.closing()) return;
    call_.LogFinished(status);
    out_.FinishAfterQueue(status);
  }

  Admission call_;
  FilesystemService& service_;
  bool registered_ = false;
  std::string path_;
  bool recursive_ = false;
  size_t max_queue_ = kDefaultWatchQueue;
  std::unique_ptr<fs::TreeWatch> tree_;  // read on the loop thread only

  std::mutex mu_;
  StreamWriter<WatchCall, v1::WatchEvent> out_;  // guarded by mu_
  bool overflowed_ = false;
  bool setting_up_ = false;
  int posted_ = 0;         // tasks posted to the loop that have not run yet
  bool watching_ = false;  // the loop has our fd
  bool ended_ = false;
  grpc::Status status_;
};

void EndWatch(WatchCall* call) { call->EndForShutdown(); }

grpc::ServerWriteReactor<v1::WatchEvent>* NewWatchCall(FilesystemService& service,
                                                       grpc::CallbackServerContext* context,
                                                       const v1::WatchRequest* request) {
  return Admit<WatchCall>(service.ctx(), context, rpc::kFilesystemWatch, service, request);
}

}  // namespace sagewai::fs_internal
