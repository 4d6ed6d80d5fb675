#include "tool-runner/code_eval/code_eval_service.h"

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

const grpc::Status kCancelled(grpc::StatusCode::CANCELLED, "the call was cancelled");

void LogEval(const Admission& call, const v1::EvalResult& r) {
  log::Info("call finished", {{"method", call.method().name},
                              {"call_id", call.call_id()},
                              {"context_id", r.context_id()},
                              {"duration_ms", static_cast<int64_t>(r.duration_ms())},
                              {"error", r.error().name()},
                              {"timed_out", r.timed_out()},
                              {"context_dead", r.context_dead()},
                              {"oom_killed", r.oom_killed()}});
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
  EvalCall(Admission admission, CodeEvalManager& manager, const v1::EvalRequest* request,
           v1::EvalResult* response)
      : call_(std::move(admission)), response_(response) {
    auto eval = MakeEvalRequest(call_.ctx(), *request);
    if (!eval.ok()) {
      FinishAndLog(ToGrpcStatus(eval.status()));
      return;
    }
    auto sink = std::make_shared<code_eval::CollectingSink>(
        call_.ctx().limits().max_output_bytes,
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
      FinishAndLog(ToGrpcStatus(result.status()));
      return;
    }
    LogEval(call_, *result);
    if (cancelled) {
      Finish(kCancelled);
      return;
    }
    *response_ = std::move(*result);
    Finish(grpc::Status::OK);
  }

  void FinishAndLog(const grpc::Status& status) {
    call_.LogFinished(status);
    Finish(status);
  }

  Admission call_;
  v1::EvalResult* response_;
  std::mutex mu_;
  std::shared_ptr<EvalControl> control_;  // guarded by mu_
  bool cancelled_ = false;                // guarded by mu_
};

// ------------------------------------------------------------ EvalStream --

class EvalStreamCall final : public grpc::ServerWriteReactor<v1::EvalEvent> {
 public:
  EvalStreamCall(Admission admission, CodeEvalManager& manager, const v1::EvalRequest* request)
      : call_(std::move(admission)), out_(this) {
    auto eval = MakeEvalRequest(call_.ctx(), *request);
    std::unique_lock<std::mutex> lock(mu_);
    if (!eval.ok()) {
      const grpc::Status status = ToGrpcStatus(eval.status());
      call_.LogFinished(status);
      out_.FinishNow(status);
      out_.Release(lock);
      return;
    }
    lock.unlock();
    std::shared_ptr<EvalControl> control =
        manager.Eval(std::move(*eval), std::make_shared<Sink>(this));
    lock.lock();
    control_ = std::move(control);
    if (cancelled_ || out_.client_gone()) control_->Cancel();
    out_.Release(lock);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> lock(mu_);
    auto done = out_.OnWriteDone(ok);
    // A client that is gone interrupts the code; the call ends once it has.
    if (!ok && control_ != nullptr) control_->Cancel();
    if (done.resume && control_ != nullptr) control_->ResumeOutput();
    out_.Release(lock);
  }

  void OnCancel() override {
    std::unique_lock<std::mutex> lock(mu_);
    cancelled_ = true;
    out_.ClientGone();
    if (control_ != nullptr) control_->Cancel();
    out_.Release(lock);
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
      return Write(std::move(event), data.size());
    }
    void OnDisplay(v1::DisplayOutput output) override {
      const size_t bytes = output.ByteSizeLong();
      v1::EvalEvent event;
      *event.mutable_display() = std::move(output);
      Write(std::move(event), bytes);
    }
    void OnResult(v1::EvalResult result) override {
      LogEval(call_->call_, result);
      v1::EvalEvent event;
      *event.mutable_result() = std::move(result);
      std::unique_lock<std::mutex> lock(call_->mu_);
      if (call_->out_.client_gone() || call_->cancelled_) {
        call_->out_.FinishNow(kCancelled);
      } else {
        call_->out_.Write(std::move(event), 0);
        call_->out_.FinishAfterQueue(grpc::Status::OK);
      }
      call_->out_.Release(lock);
    }
    void OnFailed(const absl::Status& status) override {
      const grpc::Status s = ToGrpcStatus(status);
      call_->call_.LogFinished(s);
      std::unique_lock<std::mutex> lock(call_->mu_);
      call_->out_.FinishAfterQueue(s);
      call_->out_.Release(lock);
    }

   private:
    bool Write(v1::EvalEvent event, size_t bytes) {
      std::unique_lock<std::mutex> lock(call_->mu_);
      const bool more = call_->out_.Write(std::move(event), bytes);
      call_->out_.Release(lock);
      return more;
    }
    EvalStreamCall* call_;
  };

  Admission call_;
  std::mutex mu_;
  StreamWriter<EvalStreamCall, v1::EvalEvent> out_;  // guarded by mu_
  std::shared_ptr<EvalControl> control_;              // guarded by mu_
  bool cancelled_ = false;                            // guarded by mu_
};

// Finishes `reactor` with a context, or the error.
void FinishWithContext(grpc::ServerUnaryReactor* reactor, v1::Context* response,
                       const Admission& call, absl::StatusOr<v1::Context> result) {
  if (!result.ok()) {
    grpc::Status s = ToGrpcStatus(result.status());
    call.LogFinished(s);
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
  return AdmitUnary(ctx_, context, rpc::kCodeEvalCreateContext, [&](Admission admission,
                                                                   auto* reactor) {
    std::map<std::string, std::string> overrides(request->env().begin(), request->env().end());
    auto setup = MakeInterpreterSetup(request->language(), request->cwd(), overrides,
                                      BaseToolEnvironment(ctx_.pass_env()), ctx_.workdir());
    if (!setup.ok()) {
      const grpc::Status status = ToGrpcStatus(setup.status());
      admission.LogFinished(status);
      reactor->Finish(status);
      return;
    }
    auto call = std::make_shared<Admission>(std::move(admission));
    manager_.Create(std::move(*setup), "",
                    [reactor, response, call](absl::StatusOr<v1::Context> result) {
                      FinishWithContext(reactor, response, *call, std::move(result));
                    });
  });
}

grpc::ServerUnaryReactor* CodeEvalService::RestartContext(grpc::CallbackServerContext* context,
                                                          const v1::RestartContextRequest* request,
                                                          v1::Context* response) {
  return AdmitUnary(ctx_, context, rpc::kCodeEvalRestartContext, [&](Admission admission,
                                                                    auto* reactor) {
    auto call = std::make_shared<Admission>(std::move(admission));
    manager_.Restart(request->context_id(),
                     [reactor, response, call](absl::StatusOr<v1::Context> result) {
                       FinishWithContext(reactor, response, *call, std::move(result));
                     });
  });
}

grpc::ServerUnaryReactor* CodeEvalService::DeleteContext(grpc::CallbackServerContext* context,
                                                         const v1::DeleteContextRequest* request,
                                                         v1::DeleteContextResponse* response) {
  return AdmitUnary(ctx_, context, rpc::kCodeEvalDeleteContext, [&](Admission, auto* reactor) {
    manager_.Delete(request->context_id(), [reactor, id = request->context_id()](absl::Status st) {
      if (st.ok()) log::Info("code-eval context deleted", {{"context_id", id}});
      reactor->Finish(ToGrpcStatus(st));
    });
  });
}

grpc::ServerUnaryReactor* CodeEvalService::ListContexts(grpc::CallbackServerContext* context,
                                                        const v1::ListContextsRequest* request,
                                                        v1::ListContextsResponse* response) {
  return AdmitUnary(ctx_, context, rpc::kCodeEvalListContexts, [&](Admission, auto* reactor) {
    manager_.List([reactor, response](std::vector<v1::Context> contexts) {
      for (v1::Context& c : contexts) *response->add_contexts() = std::move(c);
      reactor->Finish(grpc::Status::OK);
    });
  });
}

grpc::ServerUnaryReactor* CodeEvalService::Eval(grpc::CallbackServerContext* context,
                                                const v1::EvalRequest* request,
                                                v1::EvalResult* response) {
  return Admit<EvalCall>(ctx_, context, rpc::kCodeEvalEval, manager_, request, response);
}

grpc::ServerWriteReactor<v1::EvalEvent>* CodeEvalService::EvalStream(
    grpc::CallbackServerContext* context, const v1::EvalRequest* request) {
  return Admit<EvalStreamCall>(ctx_, context, rpc::kCodeEvalEvalStream, manager_, request);
}

}  // namespace sagewai
