// Interpreters started ahead of need: at most CodeEvalOptions::max_spares,
// one per distinct set-up recently used, so that the next context or
// one-shot eval with that set-up starts at once. A spare not taken within
// the idle timeout is killed.
//
// Loop thread only (the Supervisor's), like the manager that owns the pool.
#ifndef SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_SPARE_POOL_H_
#define SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_SPARE_POOL_H_

#include <memory>
#include <string>
#include <vector>

#include "tool-runner/code_eval/code_eval_interpreter.h"
#include "tool-runner/code_eval/code_eval_setup.h"
#include "tool-runner/supervisor/event_loop.h"
#include "tool-runner/supervisor/supervisor.h"

namespace sagewai::code_eval {

class SparePool {
 public:
  SparePool(Supervisor& supervisor, const CodeEvalOptions& options)
      : supervisor_(supervisor), loop_(supervisor.loop()), options_(options) {}
  SparePool(const SparePool&) = delete;
  SparePool& operator=(const SparePool&) = delete;

  // A ready interpreter for `setup`, no longer the pool's (a replacement
  // starts a moment later), or null when none is ready.
  std::shared_ptr<Interpreter> Take(const InterpreterSetup& setup);
  // Starts a spare for `setup` unless there is one or the pool is full.
  void Start(const InterpreterSetup& setup);
  // Kills every spare and cuts every callback that points here; the pool
  // starts nothing after this.
  void Shutdown(const std::string& why);

 private:
  struct Spare {
    std::string key;
    std::shared_ptr<Interpreter> interpreter;
    EventLoop::TimerId idle_timer = 0;
  };
  // Drops the spare `which` of `key`, killed first when `why` is set.
  void Forget(const std::string& key, const Interpreter* which, const char* why);

  Supervisor& supervisor_;
  EventLoop& loop_;
  const CodeEvalOptions& options_;
  std::vector<Spare> spares_;
  bool shut_down_ = false;
  // Callbacks of spares and timers that outlive the pool check it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace sagewai::code_eval

#endif  // SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_SPARE_POOL_H_
