#include "tool-runner/code_eval/code_eval_spare_pool.h"

#include <chrono>

namespace sagewai::code_eval {
namespace {

// The replacement for a taken spare starts this much later: its fork and
// start-up would slow down the eval the spare was taken for.
constexpr auto kSpareRefillDelay = std::chrono::milliseconds(100);

}  // namespace

std::shared_ptr<Interpreter> SparePool::Take(const InterpreterSetup& setup) {
  if (options_.max_spares == 0 || shut_down_) return nullptr;
  const std::string key = SetupKey(setup);
  for (auto it = spares_.begin(); it != spares_.end(); ++it) {
    if (it->key != key) continue;
    if (it->interpreter->state() != Interpreter::State::kIdle) return nullptr;  // still starting
    std::shared_ptr<Interpreter> taken = std::move(it->interpreter);
    if (it->idle_timer != 0) loop_.CancelTimer(it->idle_timer);
    spares_.erase(it);
    taken->set_on_exit(nullptr);
    std::weak_ptr<int> alive = alive_;
    loop_.AddTimer(kSpareRefillDelay, [this, alive, setup] {
      if (!alive.expired()) Start(setup);
    });
    return taken;
  }
  return nullptr;
}

void SparePool::Start(const InterpreterSetup& setup) {
  if (shut_down_ || spares_.size() >= options_.max_spares) return;
  const std::string key = SetupKey(setup);
  for (const Spare& spare : spares_) {
    if (spare.key == key) return;
  }
  absl::StatusOr<InterpreterSpec> spec = MakeInterpreterSpec(setup, options_);
  if (!spec.ok()) return;
  std::weak_ptr<int> alive = alive_;
  auto self = std::make_shared<Interpreter*>(nullptr);
  auto forget = [this, alive, key, self] {
    if (!alive.expired()) Forget(key, *self, nullptr);
  };
  auto started = Interpreter::Start(
      supervisor_, *std::move(spec),
      [forget](absl::Status status) {
        if (!status.ok()) forget();
      },
      [forget](const std::string&) { forget(); });
  if (!started.ok()) return;
  *self = started->get();
  Spare spare{key, std::move(*started), 0};
  if (options_.idle_timeout.count() > 0) {
    spare.idle_timer = loop_.AddTimer(options_.idle_timeout, [this, alive, key, which = *self] {
      if (!alive.expired()) Forget(key, which, "was killed: the spare interpreter was not needed");
    });
  }
  spares_.push_back(std::move(spare));
}

void SparePool::Forget(const std::string& key, const Interpreter* which, const char* why) {
  for (auto it = spares_.begin(); it != spares_.end(); ++it) {
    if (it->key != key || it->interpreter.get() != which) continue;
    if (why != nullptr) {
      it->idle_timer = 0;  // this is the idle timer firing
      it->interpreter->Kill(why);
    } else if (it->idle_timer != 0) {
      loop_.CancelTimer(it->idle_timer);
    }
    spares_.erase(it);
    return;
  }
}

void SparePool::Shutdown(const std::string& why) {
  shut_down_ = true;
  for (Spare& spare : spares_) {
    if (spare.idle_timer != 0) loop_.CancelTimer(spare.idle_timer);
    spare.interpreter->Kill(why);
  }
  spares_.clear();
  alive_.reset();
}

}  // namespace sagewai::code_eval
