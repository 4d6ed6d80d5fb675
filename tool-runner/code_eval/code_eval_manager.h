// The CodeEval contexts of one runner: named, persistent interpreters
// (create, list, delete, restart, idle reclaim, a cap on their number) and
// one-shot interpreters for evals without a context.
//
// Thread-safe: every method hands its work to the Supervisor's loop thread,
// where all contexts live; callbacks and sinks are called on that thread.
//
// Decisions: one eval at a time per context; a second one is refused with
// FAILED_PRECONDITION ("context busy") rather than queued, so that a caller
// never waits behind work it cannot see. A context whose interpreter died
// stays listed as "dead" (evals get FAILED_PRECONDITION) until it is
// restarted, deleted or reclaimed. One-shot interpreters do not count
// against the context cap (the call limit bounds them), nor do spares (see
// CodeEvalOptions::max_spares).
#ifndef SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_MANAGER_H_
#define SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_MANAGER_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sagewai/sandbox/v1/sandbox.pb.h"
#include "tool-runner/code_eval/code_eval_interpreter.h"
#include "tool-runner/code_eval/code_eval_language.h"
#include "tool-runner/code_eval/code_eval_setup.h"
#include "tool-runner/code_eval/code_eval_spare_pool.h"
#include "tool-runner/supervisor/supervisor.h"

namespace sagewai::code_eval {

// Steers one eval from any thread.
class EvalControl : public std::enable_shared_from_this<EvalControl> {
 public:
  // Interrupts the eval as its timeout would (SIGINT, grace, kill); the sink
  // still hears how it ended. Before the eval started: it never starts, and
  // the sink hears OnFailed(CANCELLED).
  void Cancel();
  // For a sink that returned false from OnOutput.
  void ResumeOutput();

 private:
  friend class CodeEvalManager;
  explicit EvalControl(EventLoop& loop) : loop_(loop) {}
  EventLoop& loop_;
  std::atomic<bool> cancelled_{false};
  // Loop thread only: where the eval runs once it started.
  std::weak_ptr<Interpreter> interpreter_;
  uint64_t seq_ = 0;
};

class CodeEvalManager {
 public:
  using ContextCallback = std::function<void(absl::StatusOr<sandbox::v1::Context>)>;

  CodeEvalManager(Supervisor& supervisor, CodeEvalOptions options);
  ~CodeEvalManager();
  CodeEvalManager(const CodeEvalManager&) = delete;
  CodeEvalManager& operator=(const CodeEvalManager&) = delete;

  const CodeEvalOptions& options() const { return options_; }

  // Starts an interpreter and answers once it is ready. `id` empty: a fresh
  // random id; otherwise that id (ALREADY_EXISTS when taken).
  void Create(InterpreterSetup setup, std::string id, ContextCallback done);
  // Kills the context's interpreter (a running eval ends context_dead) and
  // starts a fresh one with the same id, language, cwd and env.
  void Restart(std::string id, ContextCallback done);
  void Delete(std::string id, std::function<void(absl::Status)> done);
  void List(std::function<void(std::vector<sandbox::v1::Context>)> done);

  struct EvalRequest {
    std::string code;
    // Empty: a one-shot interpreter made from `setup`, closed afterwards.
    std::string context_id;
    // With a context_id that does not exist: create it from `setup` first
    // (the stdio tool's named contexts).
    bool create_missing = false;
    InterpreterSetup setup;
    std::chrono::milliseconds timeout{60000};
  };
  std::shared_ptr<EvalControl> Eval(EvalRequest request, std::shared_ptr<EvalSink> sink);

  // Contexts alive now (any state); for tests and logs.
  size_t size() const { return count_.load(); }

 private:
  struct Context {
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
  class ContextSink;

  // The registry (code_eval_manager.cc).
  bool Post(std::function<void()> fn);
  absl::Status StartInterpreter(Context& context);
  Context* NewContext(std::string id, InterpreterSetup setup);
  void OnReady(const std::string& id, uint64_t generation, absl::Status status);
  void OnExit(const std::string& id, uint64_t generation, const std::string& why);
  void AfterEval(const std::string& id, uint64_t generation);
  void OnIdle(const std::string& id);
  void Touch(Context& context);
  void ArmIdleTimer(Context& context);
  static std::vector<std::function<void(absl::Status)>> TakeWaiters(Context& context);
  // The context `id` exists and still runs the interpreter of `generation`.
  bool IsCurrent(const std::string& id, uint64_t generation) const;
  void Erase(const std::string& id);
  absl::Status CheckCap() const;
  sandbox::v1::Context Describe(const Context& context) const;
  // "idle", "busy" or "dead".
  static const char* StateName(const std::shared_ptr<Interpreter>& interpreter);

  // Evals (code_eval_manager_eval.cc).
  void EvalInContext(EvalRequest request, std::shared_ptr<EvalSink> sink,
                     std::shared_ptr<EvalControl> control);
  void EvalOneShot(EvalRequest request, std::shared_ptr<EvalSink> sink,
                   std::shared_ptr<EvalControl> control);

  Supervisor& supervisor_;
  EventLoop& loop_;
  CodeEvalOptions options_;
  std::atomic<size_t> count_{0};
  // Callbacks of interpreters and sinks that outlive this manager check it.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  // Loop thread only.
  std::map<std::string, std::unique_ptr<Context>> contexts_;
  SparePool spares_{supervisor_, options_};
  uint64_t next_generation_ = 1;
};

}  // namespace sagewai::code_eval

#endif  // SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_MANAGER_H_
