#include "tool-runner/bash/bash_service.h"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "tool-runner/core/admission.h"
#include "tool-runner/core/grpc_status.h"
#include "tool-runner/core/stream_writer.h"
#include "tool-runner/core/tool_env.h"

namespace sagewai {

namespace v1 = ::sagewai::sandbox::v1;

absl::StatusOr<CommandSpec> BashCommandSpec(const BashDefaults& defaults,
                                            const v1::BashRequest& request,
                                            std::chrono::milliseconds timeout) {
  if (request.command().empty()) return absl::InvalidArgumentError("`command` is empty");
  // execve takes C strings: whatever followed a NUL would be dropped
  // silently, and the command run would not be the one asked for.
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string&>{"command", request.command()},
        {"cwd", request.cwd()}}) {
    if (const size_t nul = value.find('\0'); nul != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("`", field,
                                                     "` contains a NUL byte (at offset ", nul,
                                                     "), which no command or path can hold"));
    }
  }
  CommandSpec spec;
  spec.process.cwd = ResolveCwd(defaults.workdir, request.cwd());
  std::map<std::string, std::string> overrides(request.env().begin(), request.env().end());
  auto env = MergeToolEnvironment(defaults.base_env, overrides, spec.process.cwd);
  if (!env.ok()) return env.status();
  spec.process.env = std::move(*env);
  spec.process.argv = {ShellPath(), "-c", request.command()};
  spec.stdin_data = request.stdin();
  spec.timeout = timeout;
  spec.max_output_bytes = defaults.max_output_bytes;
  return spec;
}

absl::StatusOr<CommandSpec> BashCommandSpec(const RunnerContext& ctx,
                                            const v1::BashRequest& request) {
  const BashDefaults defaults{ctx.workdir(), BaseToolEnvironment(ctx.pass_env()),
                              ctx.limits().max_output_bytes};
  return BashCommandSpec(defaults, request, ctx.EffectiveTimeout(request.timeout_ms()));
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
  out->set_oom_killed(r.oom_killed);
}

namespace {

void LogCall(const Admission& call, const CommandResult& r) {
  log::Info("call finished", {{"method", call.method().name},
                              {"call_id", call.call_id()},
                              {"duration_ms", static_cast<int64_t>(r.duration.count())},
                              {"exit_code", r.exit_code},
                              {"timed_out", r.timed_out},
                              {"cancelled", r.cancelled},
                              {"oom_killed", r.oom_killed}});
  if (!log::Enabled(log::Level::kDebug)) return;
  // Where the call's time went, in microseconds: scripts/bench-profile.sh
  // reads these lines.
  auto us = [](auto from, auto to) -> int64_t {
    return std::chrono::duration_cast<std::chrono::microseconds>(to - from).count();
  };
  const CommandTimeline& t = r.timeline;
  log::Debug("call timeline", {{"method", call.method().name},
                               {"call_id", call.call_id()},
                               {"admit_us", us(call.started(), call.admitted())},
                               {"prepare_us", us(call.admitted(), t.launched)},
                               {"handoff_us", us(t.launched, t.loop_start)},
                               {"spawn_us", us(t.loop_start, t.spawned)},
                               {"run_us", us(t.spawned, t.exited)},
                               {"collect_us", us(t.exited, t.finished)},
                               {"total_us", us(call.started(), t.finished)}});
}

const grpc::Status kCancelled(grpc::StatusCode::CANCELLED, "the call was cancelled");

// ------------------------------------------------------------------ Run --

class RunCall final : public grpc::ServerUnaryReactor {
 public:
  RunCall(Admission admission, const v1::BashRequest* request, v1::BashResult* response)
      : call_(std::move(admission)), response_(response) {
    absl::StatusOr<CommandSpec> spec = BashCommandSpec(call_.ctx(), *request);
    if (!spec.ok()) {
      FinishAndLog(ToGrpcStatus(spec.status()));
      return;
    }
    auto observer = std::make_shared<Observer>(this);
    auto handle = call_.ctx().supervisor().Launch(std::move(*spec), observer);
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
  // The supervisor's thread; after OnStartFailed or OnExit nothing of the
  // call is touched again.
  struct Observer : CommandObserver {
    explicit Observer(RunCall* c) : call(c) {}
    void OnStartFailed(const absl::Status& status) override {
      call->FinishAndLog(ToGrpcStatus(status));
    }
    void OnExit(CommandResult result) override {
      LogCall(call->call_, result);
      if (result.cancelled && !result.timed_out) {
        call->Finish(kCancelled);
        return;
      }
      FillBashResult(result, call->response_);
      call->Finish(grpc::Status::OK);
    }
    RunCall* call;
  };

  void FinishAndLog(const grpc::Status& status) {
    call_.LogFinished(status);
    Finish(status);
  }

  Admission call_;
  v1::BashResult* response_;
  std::mutex mu_;
  std::shared_ptr<CommandHandle> handle_;  // guarded by mu_
  bool cancelled_ = false;                 // guarded by mu_
};

// --------------------------------------------------------------- Stream --

class StreamCall final
    : public grpc::ServerBidiReactor<v1::BashStreamRequest, v1::BashStreamEvent> {
 public:
  explicit StreamCall(Admission admission) : call_(std::move(admission)), out_(this) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (!ok) {
      // The client half-closed (or went away): no more stdin.
      if (handle_) {
        handle_->CloseStdin();
      } else {
        EndLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                               "the stream ended before a `start` message"));
      }
    } else if (!handle_) {
      StartLocked(lock);
    } else {
      OnInputLocked();
    }
    out_.Release(lock);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    auto done = out_.OnWriteDone(ok);
    // A client that is gone ends the command; the call ends once it has.
    if (!ok && handle_) handle_->Cancel();
    if (done.resume && handle_) handle_->ResumeOutput();
    out_.Release(lock);
  }

  void OnCancel() override {
    std::unique_lock<std::mutex> lock(mu_);
    cancelled_ = true;
    out_.ClientGone();
    // Before the command starts, the pending read fails and ends the call.
    if (handle_) handle_->Cancel();
    out_.Release(lock);
  }

  void OnDone() override { delete this; }

 private:
  struct Observer : CommandObserver {
    explicit Observer(StreamCall* c) : call(c) {}
    void OnStartFailed(const absl::Status& status) override {
      std::unique_lock<std::mutex> lock(call->mu_);
      call->EndLocked(ToGrpcStatus(status));
      call->out_.Release(lock);
    }
    void OnStarted(pid_t pid) override {
      v1::BashStreamEvent event;
      event.mutable_started()->set_pid(pid);
      std::unique_lock<std::mutex> lock(call->mu_);
      call->out_.Write(std::move(event), 0);
      call->out_.Release(lock);
    }
    bool OnOutput(OutputStream stream, std::string_view data) override {
      v1::BashStreamEvent event;
      if (stream == OutputStream::kStdout) {
        event.set_stdout(data.data(), data.size());
      } else {
        event.set_stderr(data.data(), data.size());
      }
      std::unique_lock<std::mutex> lock(call->mu_);
      const bool more = call->out_.Write(std::move(event), data.size());
      call->out_.Release(lock);
      return more;
    }
    void OnExit(CommandResult result) override {
      LogCall(call->call_, result);
      v1::BashStreamEvent event;
      FillBashResult(result, event.mutable_exit());
      std::unique_lock<std::mutex> lock(call->mu_);
      if (call->out_.client_gone() || call->cancelled_) {
        call->out_.FinishNow(kCancelled);
      } else {
        call->out_.Write(std::move(event), 0);
        call->out_.FinishAfterQueue(grpc::Status::OK);
      }
      call->out_.Release(lock);
    }
    StreamCall* call;
  };

  // The first message: start the command.
  void StartLocked(std::unique_lock<std::mutex>& lock) {
    if (request_.kind_case() != v1::BashStreamRequest::kStart) {
      EndLocked(
          grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first message must be `start`"));
      return;
    }
    auto spec = BashCommandSpec(call_.ctx(), request_.start());
    if (!spec.ok()) {
      EndLocked(ToGrpcStatus(spec.status()));
      return;
    }
    spec->stream_output = true;
    spec->close_stdin = false;  // until stdin_close or the client half-closes
    auto observer = std::make_shared<Observer>(this);
    lock.unlock();
    auto handle = call_.ctx().supervisor().Launch(std::move(*spec), observer);
    lock.lock();
    handle_ = std::move(handle);
    if (cancelled_) handle_->Cancel();
    StartRead(&request_);
  }

  // Later messages: stdin, stdin close, signals.
  void OnInputLocked() {
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
          log::Warn("ignoring an invalid signal number", {{"call_id", call_.call_id()}});
        } else {
          handle_->Signal(request_.signal());
        }
        break;
      default:
        log::Warn("ignoring an unexpected stream message", {{"call_id", call_.call_id()}});
        break;
    }
    StartRead(&request_);
  }

  // Ends a call whose command never started.
  void EndLocked(const grpc::Status& status) {
    if (out_.closing()) return;
    call_.LogFinished(status);
    out_.FinishNow(status);
  }

  Admission call_;
  v1::BashStreamRequest request_;

  std::mutex mu_;
  StreamWriter<StreamCall, v1::BashStreamEvent> out_;  // guarded by mu_
  std::shared_ptr<CommandHandle> handle_;              // guarded by mu_
  bool cancelled_ = false;                             // guarded by mu_
};

}  // namespace

grpc::ServerUnaryReactor* BashService::Run(grpc::CallbackServerContext* context,
                                           const v1::BashRequest* request,
                                           v1::BashResult* response) {
  return Admit<RunCall>(ctx_, context, rpc::kBashRun, request, response);
}

grpc::ServerBidiReactor<v1::BashStreamRequest, v1::BashStreamEvent>* BashService::Stream(
    grpc::CallbackServerContext* context) {
  return Admit<StreamCall>(ctx_, context, rpc::kBashStream);
}

}  // namespace sagewai
