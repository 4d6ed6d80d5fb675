// CodeEvalManager's evals: in a context of the registry, or in a one-shot
// interpreter (a spare when one is ready) that is closed afterwards.
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "tool-runner/code_eval/code_eval_manager.h"

namespace sagewai::code_eval {
namespace {

// Closes a one-shot interpreter once its eval is over.
class OneShotSink : public EvalSink {
 public:
  OneShotSink(std::weak_ptr<Interpreter> interpreter, std::shared_ptr<EvalSink> inner,
              std::chrono::milliseconds exit_grace)
      : interpreter_(std::move(interpreter)), inner_(std::move(inner)), exit_grace_(exit_grace) {}
  bool OnOutput(OutputStream stream, absl::string_view data) override {
    return inner_->OnOutput(stream, data);
  }
  void OnDisplay(v1::DisplayOutput output) override { inner_->OnDisplay(std::move(output)); }
  void OnResult(v1::EvalResult result) override {
    if (auto interpreter = interpreter_.lock()) interpreter->Close(exit_grace_);
    inner_->OnResult(std::move(result));
  }
  void OnFailed(const absl::Status& status) override {
    if (auto interpreter = interpreter_.lock()) interpreter->Close(exit_grace_);
    inner_->OnFailed(status);
  }

 private:
  std::weak_ptr<Interpreter> interpreter_;
  std::shared_ptr<EvalSink> inner_;
  std::chrono::milliseconds exit_grace_;
};

}  // namespace

// Keeps the context's bookkeeping (last use, idle timer) in step with its evals.
class CodeEvalManager::ContextSink : public EvalSink {
 public:
  ContextSink(CodeEvalManager* manager, std::string id, uint64_t generation,
              std::shared_ptr<EvalSink> inner)
      : manager_(manager),
        alive_(manager->alive_),
        id_(std::move(id)),
        generation_(generation),
        inner_(std::move(inner)) {}
  bool OnOutput(OutputStream stream, absl::string_view data) override {
    return inner_->OnOutput(stream, data);
  }
  void OnDisplay(v1::DisplayOutput output) override { inner_->OnDisplay(std::move(output)); }
  void OnResult(v1::EvalResult result) override {
    result.set_context_id(id_);
    if (!alive_.expired()) manager_->AfterEval(id_, generation_);
    inner_->OnResult(std::move(result));
  }
  void OnFailed(const absl::Status& status) override {
    if (!alive_.expired()) manager_->AfterEval(id_, generation_);
    inner_->OnFailed(status);
  }

 private:
  CodeEvalManager* manager_;
  std::weak_ptr<int> alive_;
  std::string id_;
  uint64_t generation_;
  std::shared_ptr<EvalSink> inner_;
};

// -------------------------------------------------------------- EvalControl

void EvalControl::Cancel() {
  cancelled_ = true;
  loop_.Post([self = shared_from_this()] {
    std::shared_ptr<Interpreter> interpreter = self->interpreter_.lock();
    if (interpreter != nullptr && interpreter->current_seq() == self->seq_) interpreter->Cancel();
  });
}

void EvalControl::ResumeOutput() {
  loop_.Post([self = shared_from_this()] {
    std::shared_ptr<Interpreter> interpreter = self->interpreter_.lock();
    if (interpreter != nullptr && interpreter->current_seq() == self->seq_) {
      interpreter->ResumeOutput();
    }
  });
}

// ---------------------------------------------------------- CodeEvalManager

std::shared_ptr<EvalControl> CodeEvalManager::Eval(EvalRequest request,
                                                   std::shared_ptr<EvalSink> sink) {
  std::shared_ptr<EvalControl> control(new EvalControl(loop_));
  auto task = [this, request = std::move(request), sink, control]() mutable {
    if (control->cancelled_) {
      sink->OnFailed(absl::CancelledError("the eval was cancelled before it started"));
    } else if (request.context_id.empty()) {
      EvalOneShot(std::move(request), std::move(sink), std::move(control));
    } else {
      EvalInContext(std::move(request), std::move(sink), std::move(control));
    }
  };
  if (!Post(std::move(task)))
    sink->OnFailed(absl::UnavailableError("the tool-runner is shutting down"));
  return control;
}

void CodeEvalManager::EvalInContext(EvalRequest request, std::shared_ptr<EvalSink> sink,
                                    std::shared_ptr<EvalControl> control) {
  const std::string id = request.context_id;
  auto it = contexts_.find(id);
  if (it == contexts_.end() && request.create_missing) {
    if (absl::Status cap = CheckCap(); !cap.ok()) {
      sink->OnFailed(cap);
      return;
    }
    Context* context = NewContext(id, request.setup);
    if (absl::Status started = StartInterpreter(*context); !started.ok()) {
      Erase(id);
      sink->OnFailed(started);
      return;
    }
    request.create_missing = false;
    const uint64_t generation = context->generation;
    context->waiters.push_back([this, id, generation, request = std::move(request), sink,
                                control](absl::Status status) mutable {
      if (!status.ok()) {
        if (IsCurrent(id, generation)) Erase(id);
        sink->OnFailed(status);
      } else if (control->cancelled_) {
        sink->OnFailed(absl::CancelledError("the eval was cancelled before it started"));
      } else {
        EvalInContext(std::move(request), std::move(sink), std::move(control));
      }
    });
    return;
  }
  if (it == contexts_.end()) {
    sink->OnFailed(absl::NotFoundError(absl::StrCat(
        "no context \"", id,
        "\": it was deleted, reclaimed after being idle, or never created; create one with "
        "CreateContext")));
    return;
  }
  Context& context = *it->second;
  const std::string state = StateName(context.interpreter);
  if (state == "dead") {
    sink->OnFailed(absl::FailedPreconditionError(absl::StrCat(
        "context ", id, " is dead: the ", LanguageName(context.setup.language), " interpreter ",
        context.interpreter != nullptr && !context.interpreter->death().empty()
            ? context.interpreter->death()
            : context.death,
        "; restart it (RestartContext) or delete it")));
    return;
  }
  if (state == "busy") {
    sink->OnFailed(absl::FailedPreconditionError(absl::StrCat(
        "context busy: ", id,
        " is running another eval (one at a time per context); wait for it, cancel it, or use "
        "another context")));
    return;
  }
  if (context.idle_timer != 0) loop_.CancelTimer(context.idle_timer);
  context.idle_timer = 0;
  Touch(context);
  control->interpreter_ = context.interpreter;
  auto wrapped = std::make_shared<ContextSink>(this, id, context.generation, std::move(sink));
  context.interpreter->Eval(request.code, request.timeout, std::move(wrapped));
  control->seq_ = context.interpreter->current_seq();
}

void CodeEvalManager::EvalOneShot(EvalRequest request, std::shared_ptr<EvalSink> sink,
                                  std::shared_ptr<EvalControl> control) {
  const std::chrono::milliseconds exit_grace = options_.exit_grace;
  if (std::shared_ptr<Interpreter> spare = spares_.Take(request.setup)) {
    control->interpreter_ = spare;
    spare->Eval(request.code, request.timeout,
                std::make_shared<OneShotSink>(spare, std::move(sink), exit_grace));
    control->seq_ = spare->current_seq();
    return;
  }
  absl::StatusOr<InterpreterSpec> spec = MakeInterpreterSpec(request.setup, options_);
  if (!spec.ok()) {
    sink->OnFailed(spec.status());
    return;
  }
  auto self = std::make_shared<std::weak_ptr<Interpreter>>();
  auto started = Interpreter::Start(
      supervisor_, *std::move(spec),
      [self, sink, control, exit_grace, code = std::move(request.code),
       timeout = request.timeout](absl::Status status) {
        std::shared_ptr<Interpreter> interpreter = self->lock();
        if (!status.ok() || interpreter == nullptr) {
          sink->OnFailed(status.ok() ? absl::InternalError("the interpreter vanished") : status);
          return;
        }
        if (control->cancelled_) {
          interpreter->Close(exit_grace);
          sink->OnFailed(absl::CancelledError("the eval was cancelled before it started"));
          return;
        }
        control->interpreter_ = interpreter;
        interpreter->Eval(code, timeout,
                          std::make_shared<OneShotSink>(interpreter, sink, exit_grace));
        control->seq_ = interpreter->current_seq();
      },
      nullptr);
  if (!started.ok()) {
    sink->OnFailed(started.status());
    return;
  }
  *self = *started;
  spares_.Start(request.setup);
}

}  // namespace sagewai::code_eval
