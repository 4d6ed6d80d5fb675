#include "tool-runner/code_eval/code_eval_service.h"

#include <deque>
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
using code_eval::CodeEvalManager;
using code_eval::EvalControl;
using code_eval::EvalSink;

absl::StatusOr<code_eval::InterpreterSetup> MakeInterpreterSetup(
    absl::string_view language, absl::string_view cwd,
    const std::map<std::string, std::string>& overrides,
    const std::map<std::string, std::string>& base_env, absl::string_view workdir) {
  code_eval::InterpreterSetup setup;
  auto lang = code_eval::ParseLanguage(language.empty() ? "python" : language);
  if (!lang.ok()) return lang.status();
  setup.language = *lang;
  setup.cwd = ResolveCwd(workdir, cwd);
  auto env = MergeToolEnvironment(base_env, overrides, setup.cwd);
  if (!env.ok()) return env.status();
  setup.env = std::move(*env);
  return setup;
}

std::vector<std::string> CodeEvalCapabilities(absl::string_view path_env) {
  std::vector<std::string> out;
  for (code_eval::Language language : code_eval::kAllLanguages) {
    if (!code_eval::FindInterpreter(language, path_env).empty()) {
      out.push_back(absl::StrCat("code_eval.", code_eval::LanguageName(language)));
    }
  }
  return out;
}

namespace {

void LogRefused(absl::string_view method, const std::string& call_id, const grpc::Status& s) {
  log::Info("call refused", {{"method", std::string(method)},
                             {"call_id", call_id},
                             {"code", static_cast<int>(s.error_code())},
                             {"error", s.error_message()}});
}

void LogEval(absl::string_view method, const std::string& call_id, const v1::EvalResult& r) {
  log::Info("call finished", {{"method", std::string(method)},
                              {"call_id", call_id},
                              {"context_id", r.context_id()},
                              {"duration_ms", static_cast<int64_t>(r.duration_ms())},
                              {"error", r.error().name()},
                              {"timed_out", r.timed_out()},
                              {"context_dead", r.context_dead()}});
}

// The manager's request for an EvalRequest.
absl::StatusOr<CodeEvalManager::EvalRequest> MakeEvalRequest(const RunnerContext& ctx,
                                                             const v1::EvalRequest& request) {
  CodeEvalManager::EvalRequest out;
  out.code = request.code();
  out.context_id = request.context_id();
  out.timeout = ctx.EffectiveTimeout(request.timeout_ms());
  if (out.context_id.empty()) {
    std::map<std::string, std::string> overrides(request.env().begin(), request.env().end());
    auto setup = MakeInterpreterSetup(request.language(), request.cwd(), overrides,
                                      BaseToolEnvironment(ctx.pass_env()), ctx.workdir());
    if (!setup.ok()) return setup.status();
    out.setup = std::move(*setup);
  } else if (!request.env().empty() || !request.cwd().empty()) {
    return absl::InvalidArgumentError(
        "`env` and `cwd` apply to one-shot evals only; a context keeps those it was created with");
  }
  return out;
}

// ------------------------------------------------------------------ Eval --

class EvalCall final : public grpc::ServerUnaryReactor {
 public:
  EvalCall(RunnerContext& ctx, CodeEvalManager& manager, grpc::CallbackServerContext* context,
           const v1::EvalRequest* request, v1::EvalResult* response)
      : slot_(ctx), call_id_(ctx.CallId(*context)), response_(response) {
    grpc::Status status = ctx.auth().Check(*context, rpc::kCodeEvalEval.path);
    if (status.ok() && !slot_.held()) status = slot_.ExhaustedStatus();
    absl::StatusOr<CodeEvalManager::EvalRequest> eval = absl::InternalError("unset");
    if (status.ok()) {
      eval = MakeEvalRequest(ctx, *request);
      if (!eval.ok()) status = ToGrpcStatus(eval.status());
    }
    if (!status.ok()) {
      LogRefused("CodeEval.Eval", call_id_, status);
      Finish(status);
      return;
    }
    auto sink = std::make_shared<code_eval::CollectingSink>(
        ctx.limits().max_output_bytes,
        [this](absl::StatusOr<v1::EvalResult> result) { OnEvalDone(std::move(result)); });
    std::shared_ptr<EvalControl> control = manager.Eval(std::move(*eval), std::move(sink));
    std::lock_guard<std::mutex> lock(mu_);
    control_ = std::move(control);
    if (cancelled_) control_->Cancel();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    if (control_ != nullptr) control_->Cancel();
  }

  void OnDone() override { delete this; }

 private:
  void OnEvalDone(absl::StatusOr<v1::EvalResult> result) {
    bool cancelled;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cancelled = cancelled_;
    }
    if (!result.ok()) {
      grpc::Status s = ToGrpcStatus(result.status());
      LogRefused("CodeEval.Eval", call_id_, s);
      Finish(s);
      return;
    }
    LogEval("CodeEval.Eval", call_id_, *result);
    if (cancelled) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled"));
      return;
    }
    *response_ = std::move(*result);
    Finish(grpc::Status::OK);
  }

  CallSlot slot_;
  std::string call_id_;
  v1::EvalResult* response_;
  std::mutex mu_;
  std::shared_ptr<EvalControl> control_;  // guarded by mu_
  bool cancelled_ = false;                // guarded by mu_
};

// ------------------------------------------------------------ EvalStream --

// Bytes waiting to be written beyond which the interpreter's output is no
// longer read (the client is slower than the code).
constexpr size_t kPauseAboveBytes = 1 << 20;
constexpr size_t kResumeBelowBytes = 256 << 10;

class EvalStreamCall final : public grpc::ServerWriteReactor<v1::EvalEvent> {
 public:
  EvalStreamCall(RunnerContext& ctx, CodeEvalManager& manager, grpc::CallbackServerContext* context,
                 const v1::EvalRequest* request)
      : slot_(ctx), call_id_(ctx.CallId(*context)) {
    grpc::Status status = ctx.auth().Check(*context, rpc::kCodeEvalEvalStream.path);
    if (status.ok() && !slot_.held()) status = slot_.ExhaustedStatus();
    absl::StatusOr<CodeEvalManager::EvalRequest> eval = absl::InternalError("unset");
    if (status.ok()) {
      eval = MakeEvalRequest(ctx, *request);
      if (!eval.ok()) status = ToGrpcStatus(eval.status());
    }
    if (!status.ok()) {
      LogRefused("CodeEval.EvalStream", call_id_, status);
      std::lock_guard<std::mutex> lock(mu_);
      FinishLocked(status);
      return;
    }
    std::shared_ptr<EvalControl> control =
        manager.Eval(std::move(*eval), std::make_shared<Sink>(this));
    std::lock_guard<std::mutex> lock(mu_);
    control_ = std::move(control);
    if (cancelled_ || write_failed_) control_->Cancel();
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!queue_.empty()) {
      queued_bytes_ -= queue_.front().second;
      queue_.pop_front();
    }
    if (!ok) {
      // The client is gone: interrupt the code; the call ends once it has.
      write_failed_ = true;
      queue_.clear();
      queued_bytes_ = 0;
      if (control_ != nullptr) control_->Cancel();
    }
    if (paused_ && queued_bytes_ < kResumeBelowBytes && control_ != nullptr) {
      paused_ = false;
      control_->ResumeOutput();
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    if (control_ != nullptr) control_->Cancel();
  }

  void OnDone() override { delete this; }

 private:
  // Called on the supervisor's loop thread; the last call is OnResult or
  // OnFailed, and the reactor finishes only after it.
  class Sink : public EvalSink {
   public:
    explicit Sink(EvalStreamCall* call) : call_(call) {}
    bool OnOutput(OutputStream stream, absl::string_view data) override {
      v1::EvalEvent event;
      if (stream == OutputStream::kStdout) {
        event.set_stdout(data.data(), data.size());
      } else {
        event.set_stderr(data.data(), data.size());
      }
      std::lock_guard<std::mutex> lock(call_->mu_);
      call_->EnqueueLocked(std::move(event), data.size());
      if (call_->queued_bytes_ > kPauseAboveBytes) {
        call_->paused_ = true;
        return false;
      }
      return true;
    }
    void OnDisplay(v1::DisplayOutput output) override {
      const size_t bytes = output.ByteSizeLong();
      v1::EvalEvent event;
      *event.mutable_display() = std::move(output);
      std::lock_guard<std::mutex> lock(call_->mu_);
      call_->EnqueueLocked(std::move(event), bytes);
    }
    void OnResult(v1::EvalResult result) override {
      LogEval("CodeEval.EvalStream", call_->call_id_, result);
      v1::EvalEvent event;
      *event.mutable_result() = std::move(result);
      std::lock_guard<std::mutex> lock(call_->mu_);
      if (call_->write_failed_ || call_->cancelled_) {
        call_->queue_.clear();
        call_->queued_bytes_ = 0;
        call_->pending_finish_ =
            grpc::Status(grpc::StatusCode::CANCELLED, "the call was cancelled");
      } else {
        call_->EnqueueLocked(std::move(event), 0);
        call_->pending_finish_ = grpc::Status::OK;
      }
      call_->WriteNextLocked();
    }
    void OnFailed(const absl::Status& status) override {
      grpc::Status s = ToGrpcStatus(status);
      LogRefused("CodeEval.EvalStream", call_->call_id_, s);
      std::lock_guard<std::mutex> lock(call_->mu_);
      call_->pending_finish_ = s;
      call_->WriteNextLocked();
    }

   private:
    EvalStreamCall* call_;
  };

  void EnqueueLocked(v1::EvalEvent event, size_t bytes) {
    if (finished_ || write_failed_) return;
    queue_.emplace_back(std::move(event), bytes);
    queued_bytes_ += bytes;
    WriteNextLocked();
  }

  // One write in flight; once the queue is empty after the last event, the
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

  CallSlot slot_;
  std::string call_id_;
  std::mutex mu_;
  std::shared_ptr<EvalControl> control_;
  std::deque<std::pair<v1::EvalEvent, size_t>> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool paused_ = false;
  std::optional<grpc::Status> pending_finish_;
  bool write_failed_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
};

// Finishes `reactor` with a context, or the error.
void FinishWithContext(grpc::ServerUnaryReactor* reactor, v1::Context* response,
                       absl::string_view method, const std::string& call_id,
                       absl::StatusOr<v1::Context> result) {
  if (!result.ok()) {
    grpc::Status s = ToGrpcStatus(result.status());
    LogRefused(method, call_id, s);
    reactor->Finish(s);
    return;
  }
  *response = std::move(*result);
  reactor->Finish(grpc::Status::OK);
}

}  // namespace

grpc::ServerUnaryReactor* CodeEvalService::CreateContext(grpc::CallbackServerContext* context,
                                                         const v1::CreateContextRequest* request,
                                                         v1::Context* response) {
  auto* reactor = context->DefaultReactor();
  const std::string call_id = ctx_.CallId(*context);
  auto slot = std::make_shared<CallSlot>(ctx_);
  grpc::Status status = ctx_.auth().Check(*context, rpc::kCodeEvalCreateContext.path);
  if (status.ok() && !slot->held()) status = slot->ExhaustedStatus();
  absl::StatusOr<code_eval::InterpreterSetup> setup = absl::InternalError("unset");
  if (status.ok()) {
    std::map<std::string, std::string> overrides(request->env().begin(), request->env().end());
    setup = MakeInterpreterSetup(request->language(), request->cwd(), overrides,
                                 BaseToolEnvironment(ctx_.pass_env()), ctx_.workdir());
    if (!setup.ok()) status = ToGrpcStatus(setup.status());
  }
  if (!status.ok()) {
    LogRefused("CodeEval.CreateContext", call_id, status);
    reactor->Finish(status);
    return reactor;
  }
  manager_.Create(std::move(*setup), "",
                  [reactor, response, call_id, slot](absl::StatusOr<v1::Context> result) {
                    FinishWithContext(reactor, response, "CodeEval.CreateContext", call_id,
                                      std::move(result));
                  });
  return reactor;
}

grpc::ServerUnaryReactor* CodeEvalService::RestartContext(grpc::CallbackServerContext* context,
                                                          const v1::RestartContextRequest* request,
                                                          v1::Context* response) {
  auto* reactor = context->DefaultReactor();
  const std::string call_id = ctx_.CallId(*context);
  auto slot = std::make_shared<CallSlot>(ctx_);
  grpc::Status status = ctx_.auth().Check(*context, rpc::kCodeEvalRestartContext.path);
  if (status.ok() && !slot->held()) status = slot->ExhaustedStatus();
  if (!status.ok()) {
    LogRefused("CodeEval.RestartContext", call_id, status);
    reactor->Finish(status);
    return reactor;
  }
  manager_.Restart(request->context_id(), [reactor, response, call_id,
                                           slot](absl::StatusOr<v1::Context> result) {
    FinishWithContext(reactor, response, "CodeEval.RestartContext", call_id, std::move(result));
  });
  return reactor;
}

grpc::ServerUnaryReactor* CodeEvalService::DeleteContext(grpc::CallbackServerContext* context,
                                                         const v1::DeleteContextRequest* request,
                                                         v1::DeleteContextResponse* response) {
  auto* reactor = context->DefaultReactor();
  grpc::Status status = ctx_.auth().Check(*context, rpc::kCodeEvalDeleteContext.path);
  if (!status.ok()) {
    reactor->Finish(status);
    return reactor;
  }
  manager_.Delete(request->context_id(), [reactor, id = request->context_id()](absl::Status st) {
    if (st.ok()) log::Info("code-eval context deleted", {{"context_id", id}});
    reactor->Finish(ToGrpcStatus(st));
  });
  return reactor;
}

grpc::ServerUnaryReactor* CodeEvalService::ListContexts(grpc::CallbackServerContext* context,
                                                        const v1::ListContextsRequest* request,
                                                        v1::ListContextsResponse* response) {
  auto* reactor = context->DefaultReactor();
  grpc::Status status = ctx_.auth().Check(*context, rpc::kCodeEvalListContexts.path);
  if (!status.ok()) {
    reactor->Finish(status);
    return reactor;
  }
  manager_.List([reactor, response](std::vector<v1::Context> contexts) {
    for (v1::Context& c : contexts) *response->add_contexts() = std::move(c);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* CodeEvalService::Eval(grpc::CallbackServerContext* context,
                                                const v1::EvalRequest* request,
                                                v1::EvalResult* response) {
  return new EvalCall(ctx_, manager_, context, request, response);
}

grpc::ServerWriteReactor<v1::EvalEvent>* CodeEvalService::EvalStream(
    grpc::CallbackServerContext* context, const v1::EvalRequest* request) {
  return new EvalStreamCall(ctx_, manager_, context, request);
}

}  // namespace sagewai
