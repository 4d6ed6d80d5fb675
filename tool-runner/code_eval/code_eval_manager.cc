#include "tool-runner/code_eval/code_eval_manager.h"

#include <sys/random.h>

#include <future>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "tool-runner/core/grpc_status.h"

namespace sagewai::code_eval {
namespace {

constexpr auto kSpareRefillDelay = std::chrono::milliseconds(100);

int64_t UnixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string RandomId() {
  uint64_t bits = 0;
  if (getrandom(&bits, sizeof bits, 0) != sizeof bits) {
    bits = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }
  return absl::StrFormat("ctx-%012x", bits & 0xffffffffffffULL);
}

std::string PathOf(const std::vector<std::string>& env) {
  for (const std::string& entry : env) {
    if (entry.rfind("PATH=", 0) == 0) return entry.substr(5);
  }
  return "/usr/local/bin:/usr/bin:/bin";
}

const char* StateName(const std::shared_ptr<Interpreter>& interpreter) {
  if (interpreter == nullptr) return "dead";
  switch (interpreter->state()) {
    case Interpreter::State::kIdle:
      return "idle";
    case Interpreter::State::kStarting:
    case Interpreter::State::kBusy:
      return "busy";
    case Interpreter::State::kDead:
      return "dead";
  }
  return "dead";
}

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

struct CodeEvalManager::Context {
  std::string id;
  InterpreterSetup setup;
  std::shared_ptr<Interpreter> interpreter;  // null when it could not start
  uint64_t generation = 0;
  std::string death;  // why the last interpreter is gone
  // Run once the current interpreter is ready (or failed to start).
  std::vector<std::function<void(absl::Status)>> waiters;
  int64_t created_ms = 0;
  int64_t last_used_ms = 0;
  EventLoop::TimerId idle_timer = 0;
};

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

CodeEvalManager::CodeEvalManager(Supervisor& supervisor, CodeEvalOptions options)
    : supervisor_(supervisor), loop_(supervisor.loop()), options_(options) {}

CodeEvalManager::~CodeEvalManager() {
  // Kill what is left and cut every callback that points here. When the
  // loop has stopped, the supervisor has ended every process already.
  std::promise<void> done;
  auto cleanup = [this, &done] {
    for (auto& [id, context] : contexts_) {
      if (context->idle_timer != 0) loop_.CancelTimer(context->idle_timer);
      if (context->interpreter != nullptr) {
        context->interpreter->Kill("was killed: the runner is stopping");
      }
    }
    contexts_.clear();
    for (Spare& spare : spares_) {
      if (spare.idle_timer != 0) loop_.CancelTimer(spare.idle_timer);
      spare.interpreter->Kill("was killed: the runner is stopping");
    }
    spares_.clear();
    alive_.reset();
    done.set_value();
  };
  if (loop_.InLoopThread()) {
    cleanup();
  } else if (loop_.Post(cleanup)) {
    done.get_future().wait();
  } else {
    alive_.reset();
  }
}

bool CodeEvalManager::Post(std::function<void()> fn) { return loop_.Post(std::move(fn)); }

absl::Status CodeEvalManager::CheckCap() const {
  if (contexts_.size() < options_.max_contexts) return absl::OkStatus();
  size_t dead = 0;
  for (const auto& [id, context] : contexts_) {
    dead += context->interpreter == nullptr ||
            context->interpreter->state() == Interpreter::State::kDead;
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      contexts_.size(), " code-eval contexts exist, the limit (", dead,
      " of them dead): delete one with DeleteContext, or raise the runner's --max-contexts"));
}

CodeEvalManager::Context* CodeEvalManager::NewContext(std::string id, InterpreterSetup setup) {
  auto context = std::make_unique<Context>();
  context->id = id;
  context->setup = std::move(setup);
  context->created_ms = context->last_used_ms = UnixMillis();
  Context* raw = context.get();
  contexts_[id] = std::move(context);
  ++count_;
  return raw;
}

void CodeEvalManager::Erase(const std::string& id) {
  auto it = contexts_.find(id);
  if (it == contexts_.end()) return;
  if (it->second->idle_timer != 0) loop_.CancelTimer(it->second->idle_timer);
  contexts_.erase(it);
  --count_;
}

absl::StatusOr<InterpreterSpec> CodeEvalManager::MakeSpec(const InterpreterSetup& setup) const {
  const std::string path = PathOf(setup.env);
  const std::string program = FindInterpreter(setup.language, path);
  if (program.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("this sandbox has no ", LanguageName(setup.language), " interpreter (no ",
                     ProgramName(setup.language), " on PATH=", path,
                     "): install it in the image, or pick another language"));
  }
  InterpreterSpec spec;
  spec.language = setup.language;
  spec.argv = DriverArgv(setup.language, program);
  spec.env = setup.env;
  spec.cwd = setup.cwd;
  spec.start_timeout = options_.start_timeout;
  spec.interrupt_grace = options_.interrupt_grace;
  spec.max_display_bytes = options_.max_display_bytes;
  return spec;
}

absl::Status CodeEvalManager::StartInterpreter(Context& context) {
  context.generation = next_generation_++;
  context.interpreter.reset();
  std::weak_ptr<int> alive = alive_;
  const std::string id = context.id;
  const uint64_t generation = context.generation;
  Interpreter::ExitCallback on_exit = [this, alive, id, generation](const std::string& why) {
    if (!alive.expired()) OnExit(id, generation, why);
  };
  if (std::shared_ptr<Interpreter> spare = TakeSpare(context.setup)) {
    spare->set_on_exit(std::move(on_exit));
    context.interpreter = std::move(spare);
    // Ready already: answer the waiters the caller is about to add.
    loop_.Post([this, alive, id, generation] {
      if (!alive.expired()) OnReady(id, generation, absl::OkStatus());
    });
    return absl::OkStatus();
  }
  absl::StatusOr<InterpreterSpec> spec = MakeSpec(context.setup);
  if (!spec.ok()) {
    context.death = "is not installed";
    return spec.status();
  }
  auto started = Interpreter::Start(
      supervisor_, *std::move(spec),
      [this, alive, id, generation](absl::Status status) {
        if (!alive.expired()) OnReady(id, generation, std::move(status));
      },
      std::move(on_exit));
  if (!started.ok()) {
    context.death = std::string(started.status().message());
    return started.status();
  }
  context.interpreter = std::move(*started);
  StartSpare(context.setup);
  return absl::OkStatus();
}

// ------------------------------------------------------------------ spares

std::string CodeEvalManager::SpareKey(const InterpreterSetup& setup) {
  std::string key = absl::StrCat(LanguageName(setup.language), std::string(1, '\0'), setup.cwd);
  for (const std::string& entry : setup.env) absl::StrAppend(&key, std::string(1, '\0'), entry);
  return key;
}

std::shared_ptr<Interpreter> CodeEvalManager::TakeSpare(const InterpreterSetup& setup) {
  if (options_.max_spares == 0) return nullptr;
  const std::string key = SpareKey(setup);
  for (auto it = spares_.begin(); it != spares_.end(); ++it) {
    if (it->key != key) continue;
    if (it->interpreter->state() != Interpreter::State::kIdle) return nullptr;  // still starting
    std::shared_ptr<Interpreter> taken = std::move(it->interpreter);
    if (it->idle_timer != 0) loop_.CancelTimer(it->idle_timer);
    spares_.erase(it);
    taken->set_on_exit(nullptr);
    // The replacement starts a moment later: its fork and start-up would
    // slow down the eval this spare is taken for.
    std::weak_ptr<int> alive = alive_;
    loop_.AddTimer(kSpareRefillDelay, [this, alive, setup] {
      if (!alive.expired()) StartSpare(setup);
    });
    return taken;
  }
  return nullptr;
}

void CodeEvalManager::StartSpare(const InterpreterSetup& setup) {
  const std::string key = SpareKey(setup);
  if (spares_.size() >= options_.max_spares) return;
  for (const Spare& spare : spares_) {
    if (spare.key == key) return;
  }
  absl::StatusOr<InterpreterSpec> spec = MakeSpec(setup);
  if (!spec.ok()) return;
  std::weak_ptr<int> alive = alive_;
  auto forget = [this, alive, key](Interpreter* which) {
    if (alive.expired()) return;
    for (auto it = spares_.begin(); it != spares_.end(); ++it) {
      if (it->key == key && it->interpreter.get() == which) {
        if (it->idle_timer != 0) loop_.CancelTimer(it->idle_timer);
        spares_.erase(it);
        return;
      }
    }
  };
  auto self = std::make_shared<Interpreter*>(nullptr);
  auto started = Interpreter::Start(
      supervisor_, *std::move(spec),
      [forget, self](absl::Status status) {
        if (!status.ok()) forget(*self);
      },
      [forget, self](const std::string&) { forget(*self); });
  if (!started.ok()) return;
  *self = started->get();
  Spare spare{key, std::move(*started), 0};
  if (options_.idle_timeout.count() > 0) {
    spare.idle_timer = loop_.AddTimer(options_.idle_timeout, [this, alive, key, which = *self] {
      if (alive.expired()) return;
      for (auto it = spares_.begin(); it != spares_.end(); ++it) {
        if (it->key == key && it->interpreter.get() == which) {
          it->idle_timer = 0;
          it->interpreter->Kill("was killed: the spare interpreter was not needed");
          spares_.erase(it);
          return;
        }
      }
    });
  }
  spares_.push_back(std::move(spare));
}

void CodeEvalManager::OnReady(const std::string& id, uint64_t generation, absl::Status status) {
  auto it = contexts_.find(id);
  if (it == contexts_.end() || it->second->generation != generation) return;
  Context& context = *it->second;
  if (status.ok()) {
    Touch(context);
    ArmIdleTimer(context);
  } else {
    context.death = std::string(status.message());
  }
  std::vector<std::function<void(absl::Status)>> waiters = std::move(context.waiters);
  context.waiters.clear();
  for (auto& waiter : waiters) waiter(status);
}

void CodeEvalManager::OnExit(const std::string& id, uint64_t generation, const std::string& why) {
  auto it = contexts_.find(id);
  if (it == contexts_.end() || it->second->generation != generation) return;
  Context& context = *it->second;
  context.death = why;
  log::Info("code-eval context died",
            {{"context_id", id},
             {"language", std::string(LanguageName(context.setup.language))},
             {"why", why}});
  ArmIdleTimer(context);
}

std::vector<std::function<void(absl::Status)>> CodeEvalManager::TakeWaiters(Context& context) {
  std::vector<std::function<void(absl::Status)>> waiters = std::move(context.waiters);
  context.waiters.clear();
  return waiters;
}

bool CodeEvalManager::IsCurrent(const std::string& id, uint64_t generation) const {
  auto it = contexts_.find(id);
  return it != contexts_.end() && it->second->generation == generation;
}

void CodeEvalManager::Touch(Context& context) { context.last_used_ms = UnixMillis(); }

void CodeEvalManager::ArmIdleTimer(Context& context) {
  if (context.idle_timer != 0) loop_.CancelTimer(context.idle_timer);
  context.idle_timer = 0;
  if (options_.idle_timeout.count() <= 0) return;
  context.idle_timer =
      loop_.AddTimer(options_.idle_timeout, [this, id = context.id] { OnIdle(id); });
}

void CodeEvalManager::OnIdle(const std::string& id) {
  auto it = contexts_.find(id);
  if (it == contexts_.end()) return;
  Context& context = *it->second;
  context.idle_timer = 0;
  const char* state = StateName(context.interpreter);
  if (std::string(state) == "busy") return;  // re-armed when the eval ends
  log::Info("reclaiming an idle code-eval context",
            {{"context_id", id}, {"idle_ms", static_cast<int64_t>(options_.idle_timeout.count())}});
  if (context.interpreter != nullptr) {
    context.interpreter->Kill(absl::StrCat("was killed: the context was idle for ",
                                           options_.idle_timeout.count(), " ms"));
  }
  Erase(id);
}

void CodeEvalManager::AfterEval(const std::string& id, uint64_t generation) {
  auto it = contexts_.find(id);
  if (it == contexts_.end() || it->second->generation != generation) return;
  Touch(*it->second);
  ArmIdleTimer(*it->second);
}

sandbox::v1::Context CodeEvalManager::Describe(const Context& context) const {
  sandbox::v1::Context out;
  out.set_context_id(context.id);
  out.set_language(std::string(LanguageName(context.setup.language)));
  out.set_cwd(context.setup.cwd);
  out.set_state(StateName(context.interpreter));
  if (context.interpreter != nullptr && context.interpreter->state() != Interpreter::State::kDead) {
    out.set_pid(context.interpreter->pid());
  }
  out.set_created_unix_ms(context.created_ms);
  out.set_last_used_unix_ms(context.last_used_ms);
  return out;
}

// ------------------------------------------------------------- public calls

void CodeEvalManager::Create(InterpreterSetup setup, std::string id, ContextCallback done) {
  auto task = [this, setup = std::move(setup), id = std::move(id), done]() mutable {
    if (!id.empty() && contexts_.count(id) > 0) {
      done(absl::AlreadyExistsError(absl::StrCat("a context \"", id, "\" exists already")));
      return;
    }
    if (absl::Status cap = CheckCap(); !cap.ok()) {
      done(cap);
      return;
    }
    if (id.empty()) {
      do id = RandomId();
      while (contexts_.count(id) > 0);
    }
    Context* context = NewContext(id, std::move(setup));
    if (absl::Status started = StartInterpreter(*context); !started.ok()) {
      Erase(id);
      done(started);
      return;
    }
    const uint64_t generation = context->generation;
    context->waiters.push_back([this, id, generation, done](absl::Status status) {
      // A restart or delete meanwhile made the context someone else's.
      if (!IsCurrent(id, generation)) {
        done(status.ok() ? absl::AbortedError("the context was restarted or deleted as it started")
                         : status);
        return;
      }
      if (!status.ok()) {
        Erase(id);
        done(status);
        return;
      }
      const Context& created = *contexts_.at(id);
      log::Info("code-eval context created",
                {{"context_id", id}, {"pid", created.interpreter->pid()}});
      done(Describe(created));
    });
  };
  if (!Post(std::move(task))) done(absl::UnavailableError("the tool-runner is shutting down"));
}

void CodeEvalManager::Restart(std::string id, ContextCallback done) {
  auto task = [this, id = std::move(id), done] {
    auto it = contexts_.find(id);
    if (it == contexts_.end()) {
      done(absl::NotFoundError(
          absl::StrCat("no context \"", id, "\" (deleted, reclaimed, or never created)")));
      return;
    }
    Context& context = *it->second;
    auto earlier = TakeWaiters(context);
    if (context.interpreter != nullptr) {
      context.interpreter->Kill("was killed: the context was restarted");
    }
    absl::Status started = StartInterpreter(context);  // a new generation
    if (!started.ok()) ArmIdleTimer(context);
    // They may run code of their own; `context` is not touched after this.
    for (auto& waiter : earlier) {
      waiter(absl::AbortedError("the context was restarted before it was ready"));
    }
    if (!started.ok()) {
      done(started);
      return;
    }
    auto again = contexts_.find(id);
    if (again == contexts_.end()) {
      done(absl::AbortedError("the context was deleted while it restarted"));
      return;
    }
    again->second->waiters.push_back([this, id, done](absl::Status status) {
      auto it = contexts_.find(id);
      if (!status.ok()) {
        if (it != contexts_.end()) ArmIdleTimer(*it->second);
        done(status);
      } else if (it == contexts_.end()) {
        done(absl::AbortedError("the context was deleted while it restarted"));
      } else {
        done(Describe(*it->second));
      }
    });
  };
  if (!Post(std::move(task))) done(absl::UnavailableError("the tool-runner is shutting down"));
}

void CodeEvalManager::Delete(std::string id, std::function<void(absl::Status)> done) {
  auto task = [this, id = std::move(id), done] {
    auto it = contexts_.find(id);
    if (it == contexts_.end()) {
      done(absl::NotFoundError(
          absl::StrCat("no context \"", id, "\" (deleted, reclaimed, or never created)")));
      return;
    }
    Context& context = *it->second;
    auto earlier = TakeWaiters(context);
    if (context.interpreter != nullptr) {
      context.interpreter->Kill("was killed: the context was deleted");
    }
    Erase(id);
    for (auto& waiter : earlier) {
      waiter(absl::AbortedError("the context was deleted before it was ready"));
    }
    done(absl::OkStatus());
  };
  if (!Post(std::move(task))) done(absl::UnavailableError("the tool-runner is shutting down"));
}

void CodeEvalManager::List(std::function<void(std::vector<sandbox::v1::Context>)> done) {
  auto task = [this, done] {
    std::vector<sandbox::v1::Context> out;
    out.reserve(contexts_.size());
    for (const auto& [id, context] : contexts_) out.push_back(Describe(*context));
    done(std::move(out));
  };
  if (!Post(std::move(task))) done({});
}

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
  if (std::shared_ptr<Interpreter> spare = TakeSpare(request.setup)) {
    control->interpreter_ = spare;
    spare->Eval(request.code, request.timeout,
                std::make_shared<OneShotSink>(spare, std::move(sink), exit_grace));
    control->seq_ = spare->current_seq();
    return;
  }
  absl::StatusOr<InterpreterSpec> spec = MakeSpec(request.setup);
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
  StartSpare(request.setup);
}

}  // namespace sagewai::code_eval
