// One interpreter process running a CodeEval driver: spawned through the
// Supervisor (so that it is reaped and killed like every tool), its control
// channel (requests on the driver's fd 3, events on its fd 4), and the
// lifecycle of one eval at a time: timeout -> SIGINT -> grace -> kill.
//
// Everything here runs on the Supervisor's loop thread.
#ifndef SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_INTERPRETER_H_
#define SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_INTERPRETER_H_

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sagewai/sandbox/v1/sandbox.pb.h"
#include "tool-runner/code_eval/code_eval_language.h"
#include "tool-runner/code_eval/code_eval_protocol.h"
#include "tool-runner/supervisor/output_buffer.h"
#include "tool-runner/supervisor/supervisor.h"

namespace sagewai::code_eval {

namespace v1 = ::sagewai::sandbox::v1;

// Hears one eval. Called on the loop thread; must not block. Exactly one of
// OnFailed and OnResult is called, and it is the last call.
class EvalSink {
 public:
  virtual ~EvalSink() = default;
  // Return false to stop reading the interpreter's output until
  // Interpreter::ResumeOutput().
  virtual bool OnOutput(OutputStream stream, absl::string_view data) = 0;
  virtual void OnDisplay(v1::DisplayOutput output) = 0;
  // The eval ran (or was interrupted, or its interpreter died). Output and
  // displays went to the calls above; `result` carries the rest.
  virtual void OnResult(v1::EvalResult result) = 0;
  // The eval could not be run at all (no such context, busy, cannot start).
  virtual void OnFailed(const absl::Status& status) = 0;
};

// Collects an eval into one EvalResult (the unary Eval and the stdio tool).
class CollectingSink : public EvalSink {
 public:
  using Done = std::function<void(absl::StatusOr<v1::EvalResult>)>;
  CollectingSink(size_t max_output_bytes, Done done)
      : out_(max_output_bytes), err_(max_output_bytes), done_(std::move(done)) {}

  bool OnOutput(OutputStream stream, absl::string_view data) override;
  void OnDisplay(v1::DisplayOutput output) override;
  void OnResult(v1::EvalResult result) override;
  void OnFailed(const absl::Status& status) override;

 private:
  OutputBuffer out_, err_;
  std::vector<v1::DisplayOutput> outputs_;
  Done done_;
};

struct InterpreterSpec {
  Language language = Language::kPython;
  std::vector<std::string> argv;  // DriverArgv()
  std::vector<std::string> env;   // the complete environment, "NAME=value"
  std::string cwd;
  // The driver must say "ready" within this long.
  std::chrono::milliseconds start_timeout{30000};
  // After SIGINT, how long the code has to stop before the process is killed.
  std::chrono::milliseconds interrupt_grace{1000};
  // Display data kept per eval; more is dropped with a note on stderr.
  size_t max_display_bytes = 32 << 20;
};

class Interpreter : public std::enable_shared_from_this<Interpreter> {
 public:
  enum class State { kStarting, kIdle, kBusy, kDead };

  // OK once the driver is ready; otherwise why it could not start.
  using ReadyCallback = std::function<void(absl::Status)>;
  // After a successful start: the process is gone; `why` says how.
  using ExitCallback = std::function<void(const std::string& why)>;

  // Spawns the driver. The object lives at least as long as its process.
  // An error when it could not even be handed to the supervisor; spawn
  // failures after that arrive through `on_ready`.
  static absl::StatusOr<std::shared_ptr<Interpreter>> Start(Supervisor& supervisor,
                                                            InterpreterSpec spec,
                                                            ReadyCallback on_ready,
                                                            ExitCallback on_exit);
  ~Interpreter();

  State state() const { return state_; }
  pid_t pid() const { return pid_; }
  Language language() const { return spec_.language; }
  // Who hears of the process's end from now on (a spare handed to a context).
  void set_on_exit(ExitCallback on_exit) { on_exit_ = std::move(on_exit); }
  // The running (or last) eval's number.
  uint64_t current_seq() const { return seq_; }
  // Set once dead: how the process ended.
  const std::string& death() const { return death_; }

  // Runs `code` (state must be kIdle); 0 means no timeout.
  void Eval(absl::string_view code, std::chrono::milliseconds timeout,
            std::shared_ptr<EvalSink> sink);
  // Interrupts the running eval as its timeout would.
  void Cancel();
  void ResumeOutput();
  // SIGKILL to the whole process group; a running eval ends context_dead.
  void Kill(std::string why);
  // Closes the control channel, so the driver exits by itself; killed if it
  // is still there after `grace`.
  void Close(std::chrono::milliseconds grace);

 private:
  class Observer;
  Interpreter(Supervisor& supervisor, InterpreterSpec spec, ReadyCallback on_ready,
              ExitCallback on_exit);

  void OnSpawned(pid_t pid);
  void OnSpawnFailed(const absl::Status& status);
  bool OnProcessOutput(OutputStream stream, absl::string_view data);
  void OnProcessExit(const CommandResult& result);
  void OnEventsReadable();
  void HandleLine(absl::string_view line);
  void HandleDisplay(DriverEvent event);
  void Send(std::string data);
  void FlushRequests();
  void Interrupt();
  void FinishEval(std::optional<ErrorInfo> error, bool dead);
  void CancelTimer(EventLoop::TimerId& id);
  template <typename Fn>
  EventLoop::TimerId After(std::chrono::milliseconds delay, Fn fn);
  absl::string_view name() const { return LanguageName(spec_.language); }

  Supervisor& supervisor_;
  EventLoop& loop_;
  InterpreterSpec spec_;
  ReadyCallback on_ready_;
  ExitCallback on_exit_;
  State state_ = State::kStarting;
  pid_t pid_ = -1;
  std::shared_ptr<CommandHandle> handle_;
  bool launching_ = false;
  absl::Status launch_failure_;
  bool killing_ = false;
  bool exited_ = false;  // the process is gone
  bool closing_ = false;
  std::string kill_reason_;
  std::string death_;
  std::string startup_output_;  // the first bytes printed before "ready"

  UniqueFd requests_;        // our end of the driver's fd 3
  UniqueFd events_;          // our end of the driver's fd 4
  UniqueFd child_requests_;  // the driver's ends, held until the spawn is over
  UniqueFd child_events_;
  std::string outbox_;
  size_t outbox_sent_ = 0;
  bool requests_watched_ = false;
  LineSplitter lines_;

  EventLoop::TimerId start_timer_ = 0;
  EventLoop::TimerId deadline_timer_ = 0;
  EventLoop::TimerId grace_timer_ = 0;
  EventLoop::TimerId close_timer_ = 0;

  // The running eval.
  uint64_t seq_ = 0;
  std::shared_ptr<EvalSink> sink_;
  std::chrono::steady_clock::time_point eval_started_;
  std::chrono::milliseconds eval_timeout_{0};
  bool timed_out_ = false;
  bool interrupted_ = false;
  size_t display_bytes_ = 0;
  size_t dropped_displays_ = 0;
  // The cgroup's OOM-kill count when the eval began; whether it ended so.
  std::optional<uint64_t> oom_kills_at_eval_;
  bool oom_killed_ = false;
};

}  // namespace sagewai::code_eval

#endif  // SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_INTERPRETER_H_
