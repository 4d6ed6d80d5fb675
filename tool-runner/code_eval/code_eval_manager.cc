#include "tool-runner/code_eval/code_eval_manager.h"

#include <sys/random.h>

#include <future>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/log.h"
#include "tool-runner/core/grpc_status.h"

namespace sagewai::code_eval {
namespace {

absl::Status NoSuchContext(absl::string_view id) {
  return absl::NotFoundError(
      absl::StrCat("no context \"", id, "\" (deleted, reclaimed, or never created)"));
}

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

}  // namespace

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
    spares_.Shutdown("was killed: the runner is stopping");
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
absl::Status CodeEvalManager::StartInterpreter(Context& context) {
  context.generation = next_generation_++;
  context.interpreter.reset();
  std::weak_ptr<int> alive = alive_;
  const std::string id = context.id;
  const uint64_t generation = context.generation;
  Interpreter::ExitCallback on_exit = [this, alive, id, generation](const std::string& why) {
    if (!alive.expired()) OnExit(id, generation, why);
  };
  if (std::shared_ptr<Interpreter> spare = spares_.Take(context.setup)) {
    spare->set_on_exit(std::move(on_exit));
    context.interpreter = std::move(spare);
    // Ready already: answer the waiters the caller is about to add.
    loop_.Post([this, alive, id, generation] {
      if (!alive.expired()) OnReady(id, generation, absl::OkStatus());
    });
    return absl::OkStatus();
  }
  absl::StatusOr<InterpreterSpec> spec = MakeInterpreterSpec(context.setup, options_);
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
  spares_.Start(context.setup);
  return absl::OkStatus();
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

const char* CodeEvalManager::StateName(const std::shared_ptr<Interpreter>& interpreter) {
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
      done(NoSuchContext(id));
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
      done(NoSuchContext(id));
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

}  // namespace sagewai::code_eval
