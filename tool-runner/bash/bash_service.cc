#include "tool-runner/bash/bash_service.h"

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "tool-runner/core/auth_methods.h"
#include "tool-runner/core/grpc_status.h"
#include "tool-runner/core/tool_env.h"

namespace sagewai {

namespace v1 = ::sagewai::sandbox::v1;

absl::StatusOr<CommandSpec> BashCommandSpec(const RunnerContext& ctx,
                                            const v1::BashRequest& request) {
  if (request.command().empty()) return absl::InvalidArgumentError("`command` is empty");
  CommandSpec spec;
  spec.process.cwd = ResolveCwd(ctx.workdir(), request.cwd());
  std::map<std::string, std::string> overrides(request.env().begin(), request.env().end());
  auto env = MergeToolEnvironment(BaseToolEnvironment(ctx.pass_env()), overrides, spec.process.cwd);
  if (!env.ok()) return env.status();
  spec.process.env = std::move(*env);
  spec.process.argv = {ShellPath(), "-c", request.command()};
  spec.stdin_data = request.stdin();
  spec.timeout = ctx.EffectiveTimeout(request.timeout_ms());
  spec.max_output_bytes = ctx.limits().max_output_bytes;
  return spec;
}

void FillBashResult(const CommandResult& r, v1::BashResult* out) {
  out->set_exit_code(r.exit_code);
  out->set_signal(r.signal);
  out->set_stdout(r.stdout_data);
  out->set_stderr(r.stderr_data);
  out->set_stdout_truncated(r.stdout_truncated);
  out->set_stderr_truncated(r.stderr_truncated);
  out->set_timed_out(r.timed_out);
  out->set_duration_ms(static_cast<uint64_t>(r.duration.count()));
  out->set_stdout_bytes(r.stdout_bytes);
  out->set_stderr_bytes(r.stderr_bytes);
  out->set_pid(r.pid);
}

namespace {

void LogCall(absl::string_view method, const std::string& call_id, const CommandResult& r) {
  log::Info("call finished", {{"method", std::string(method)},
                              {"call_id", call_id},
                              {"duration_ms", static_cast<int64_t>(r.duration.count())},
                              {"exit_code", r.exit_code},
                              {"timed_out", r.timed_out},
                              {"cancelled", r.cancelled}});
}

void LogRefused(absl::string_view method, const std::string& call_id, const grpc::Status& s) {
  log::Info("call refused", {{"method", std::string(method)},
                             {"call_id", call_id},
                             {"code", static_cast<int>(s.error_code())},
                             {"error", s.error_message()}});
}

// ------------------------------------------------------------------ Run --

class RunCall final : public grpc::ServerUnaryReactor {
 public:
  RunCall(RunnerContext& ctx, grpc::CallbackServerContext* context,
          const v1::BashRequest* request, v1::BashResult* response)
      : ctx_(ctx), slot_(ctx), call_id_(ctx.CallId(*context)), response_(response) {
    grpc::Status status = ctx.auth().Check(*context, rpc::kBashRun.path);
    if (status.ok() && !slot_.held()) status = slot_.ExhaustedStatus();
    absl::StatusOr<CommandSpec> spec = absl::InternalError("unset");
    if (status.ok()) {
      spec = BashCommandSpec(ctx, *request);
      if (!spec.ok()) status = ToGrpcStatus(spec.status());
    }
    if (!status.ok()) {
      LogRefused("Bash.Run", call_id_, status);
      Finish(status);
      return;
    }
    auto observer = std::make_shared<Observer>(this);
    auto handle = ctx.supervisor().Launch(std::move(*spec), observer);
    std::lock_guard<std::mutex> lock(mu_);
    handle_ = std::move(handle);
    if (cancelled_) handle_->Cancel();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    if (handle_) handle_->Cancel();
  }

  void OnDone() override { delete this; }

 private:
  struct Observer : CommandObserver {
    explicit Observer(RunCall* c) : call(c) {}
    void OnStartFailed(const absl::Status& status) override {
      grpc::Status s = ToGrpcStatus(status);
      LogRefused("Bash.Run", call->call_id_, s);
      call->Finish(s);
    }
    void OnExit(CommandResult result) override {
      LogCall("Bash.Run", call->call_id_, result);
      if (result.cancelled && !result.timed_out) {
        call->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled"));
        return;
      }
      FillBashResult(result, call->response_);
      call->Finish(grpc::Status::OK);
    }
    RunCall* call;
  };

  RunnerContext& ctx_;
  CallSlot slot_;
  std::string call_id_;
  v1::BashResult* response_;
  std::mutex mu_;
  std::shared_ptr<CommandHandle> handle_;  // guarded by mu_
  bool cancelled_ = false;                 // guarded by mu_
};

// --------------------------------------------------------------- Stream --

// Output waiting to be written beyond which the command's pipes are no
// longer read (the client is slower than the command).
constexpr size_t kPauseAboveBytes = 1 << 20;
constexpr size_t kResumeBelowBytes = 256 << 10;

class StreamCall final
    : public grpc::ServerBidiReactor<v1::BashStreamRequest, v1::BashStreamEvent> {
 public:
  StreamCall(RunnerContext& ctx, grpc::CallbackServerContext* context)
      : ctx_(ctx), context_(context), slot_(ctx), call_id_(ctx.CallId(*context)) {
    grpc::Status status = ctx.auth().Check(*context, rpc::kBashStream.path);
    if (status.ok() && !slot_.held()) status = slot_.ExhaustedStatus();
    if (!status.ok()) {
      LogRefused("Bash.Stream", call_id_, status);
      Finish(status);
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (!ok) {
      // The client half-closed (or went away): no more stdin.
      if (!handle_) {
        if (!finished_) {
          FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                    "the stream ended before a `start` message"));
        }
      } else {
        handle_->CloseStdin();
      }
      return;
    }
    if (!handle_) {
      if (request_.kind_case() != v1::BashStreamRequest::kStart) {
        FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                  "the first message must be `start`"));
        return;
      }
      auto spec = BashCommandSpec(ctx_, request_.start());
      if (!spec.ok()) {
        FinishLocked(ToGrpcStatus(spec.status()));
        return;
      }
      spec->stream_output = true;
      spec->close_stdin = false;  // until stdin_close or the client half-closes
      auto observer = std::make_shared<Observer>(this);
      lock.unlock();
      auto handle = ctx_.supervisor().Launch(std::move(*spec), observer);
      lock.lock();
      handle_ = std::move(handle);
      if (cancelled_) handle_->Cancel();
      StartRead(&request_);
      return;
    }
    switch (request_.kind_case()) {
      case v1::BashStreamRequest::kStdin:
        // The next read waits until these bytes are in the pipe: the
        // client cannot make the runner buffer without bound.
        handle_->WriteStdin(request_.stdin(), [this] { StartRead(&request_); });
        return;
      case v1::BashStreamRequest::kStdinClose:
        handle_->CloseStdin();
        break;
      case v1::BashStreamRequest::kSignal:
        if (request_.signal() <= 0 || request_.signal() >= 65) {
          log::Warn("ignoring an invalid signal number", {{"call_id", call_id_}});
        } else {
          handle_->Signal(request_.signal());
        }
        break;
      default:
        log::Warn("ignoring an unexpected stream message", {{"call_id", call_id_}});
        break;
    }
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!queue_.empty()) {
      queued_bytes_ -= queue_.front().second;
      queue_.pop_front();
    }
    if (!ok) {
      // The client is gone: end the command; the call ends once it has.
      write_failed_ = true;
      queue_.clear();
      queued_bytes_ = 0;
      if (handle_) handle_->Cancel();
    }
    if (paused_ && queued_bytes_ < kResumeBelowBytes && handle_) {
      paused_ = false;
      handle_->ResumeOutput();
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    if (handle_) handle_->Cancel();
  }

  void OnDone() override { delete this; }

 private:
  struct Observer : CommandObserver {
    explicit Observer(StreamCall* c) : call(c) {}
    void OnStartFailed(const absl::Status& status) override {
      std::lock_guard<std::mutex> lock(call->mu_);
      LogRefused("Bash.Stream", call->call_id_, ToGrpcStatus(status));
      call->FinishLocked(ToGrpcStatus(status));
    }
    void OnStarted(pid_t pid) override {
      v1::BashStreamEvent event;
      event.mutable_started()->set_pid(pid);
      std::lock_guard<std::mutex> lock(call->mu_);
      call->EnqueueLocked(std::move(event), 0);
    }
    bool OnOutput(OutputStream stream, std::string_view data) override {
      v1::BashStreamEvent event;
      if (stream == OutputStream::kStdout) {
        event.set_stdout(data.data(), data.size());
      } else {
        event.set_stderr(data.data(), data.size());
      }
      std::lock_guard<std::mutex> lock(call->mu_);
      call->EnqueueLocked(std::move(event), data.size());
      if (call->queued_bytes_ > kPauseAboveBytes) {
        call->paused_ = true;
        return false;
      }
      return true;
    }
    void OnExit(CommandResult result) override {
      LogCall("Bash.Stream", call->call_id_, result);
      v1::BashStreamEvent event;
      FillBashResult(result, event.mutable_exit());
      std::lock_guard<std::mutex> lock(call->mu_);
      if (call->write_failed_ || call->cancelled_) {
        call->queue_.clear();
        call->queued_bytes_ = 0;
        call->pending_finish_ =
            grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled");
      } else {
        call->pending_finish_ = grpc::Status::OK;
        call->EnqueueLocked(std::move(event), 0);
      }
      call->WriteNextLocked();
    }
    StreamCall* call;
  };

  void EnqueueLocked(v1::BashStreamEvent event, size_t bytes) {
    if (finished_ || write_failed_) return;
    queue_.emplace_back(std::move(event), bytes);
    queued_bytes_ += bytes;
    WriteNextLocked();
  }

  // One write in flight; when the queue is empty after the exit event, the
  // call is over.
  void WriteNextLocked() {
    if (writing_ || finished_) return;
    if (queue_.empty()) {
      if (pending_finish_.has_value()) FinishLocked(*pending_finish_);
      return;
    }
    writing_ = true;
    StartWrite(&queue_.front().first);
  }

  void FinishLocked(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  RunnerContext& ctx_;
  grpc::CallbackServerContext* context_;
  CallSlot slot_;
  std::string call_id_;
  v1::BashStreamRequest request_;

  std::mutex mu_;
  std::shared_ptr<CommandHandle> handle_;
  std::deque<std::pair<v1::BashStreamEvent, size_t>> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool paused_ = false;
  // Set when the command is over: the status to finish with once the queue
  // has drained.
  std::optional<grpc::Status> pending_finish_;
  bool write_failed_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
};

}  // namespace

grpc::ServerUnaryReactor* BashService::Run(grpc::CallbackServerContext* context,
                                           const v1::BashRequest* request,
                                           v1::BashResult* response) {
  return new RunCall(ctx_, context, request, response);
}

grpc::ServerBidiReactor<v1::BashStreamRequest, v1::BashStreamEvent>* BashService::Stream(
    grpc::CallbackServerContext* context) {
  return new StreamCall(ctx_, context);
}

}  // namespace sagewai
