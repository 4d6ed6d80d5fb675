// Runs tool commands and supervises their lifetimes on one event-loop thread:
// output pumping, stdin, timeouts, cancellation, signals and reaping (the
// runner is a child subreaper, so orphans of every tool come back to it).
#ifndef SAGEWAI_TOOL_RUNNER_SUPERVISOR_SUPERVISOR_H_
#define SAGEWAI_TOOL_RUNNER_SUPERVISOR_SUPERVISOR_H_

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "tool-runner/supervisor/event_loop.h"
#include "tool-runner/supervisor/process_group.h"
#include "tool-runner/supervisor/process_ops.h"

namespace sagewai {

enum class OutputStream { kStdout, kStderr };

struct CommandSpec {
  ProcessSpec process;
  std::string stdin_data;
  // Close the command's stdin once stdin_data is written (Run); keep it open
  // for more WriteStdin() calls (Stream).
  bool close_stdin = true;
  std::chrono::milliseconds timeout{60000};
  // Run: bytes kept per stream. Ignored when streaming.
  size_t max_output_bytes = 1 << 20;
  // Deliver output to the observer as it comes instead of buffering it.
  bool stream_output = false;
};

// When a command passed each step, for `make bench`'s breakdown of a call
// (steady clock; a few clock reads per call, vDSO, no system call).
struct CommandTimeline {
  std::chrono::steady_clock::time_point launched;    // Launch() called
  std::chrono::steady_clock::time_point loop_start;  // the loop thread took it
  std::chrono::steady_clock::time_point spawned;     // exec'd
  std::chrono::steady_clock::time_point exited;      // the leader was reaped
  std::chrono::steady_clock::time_point finished;    // the result was handed over
};

struct CommandResult {
  pid_t pid = -1;
  int exit_code = -1;  // exit status, or 128 + signal
  int signal = 0;
  std::string stdout_data;
  std::string stderr_data;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
  uint64_t stdout_bytes = 0;
  uint64_t stderr_bytes = 0;
  bool timed_out = false;
  bool cancelled = false;
  // Died of a SIGKILL the runner did not send while the cgroup's OOM-kill
  // count rose (oom_counter.h); false where no count can be read.
  bool oom_killed = false;
  std::chrono::milliseconds duration{0};
  CommandTimeline timeline;
};

// Callbacks run on the supervisor's loop thread and must not block.
class CommandObserver {
 public:
  virtual ~CommandObserver() = default;
  // The command could not be started (bad cwd, exec failure, fd limits).
  virtual void OnStartFailed(const absl::Status& status) = 0;
  virtual void OnStarted(pid_t pid) {}
  // Streaming only. Return false to pause this stream until ResumeOutput().
  virtual bool OnOutput(OutputStream stream, std::string_view data) { return true; }
  // Exactly once after a successful start.
  virtual void OnExit(CommandResult result) = 0;
};

class Supervisor;

// A running command. Thread-safe: every call is handed to the loop thread.
class CommandHandle {
 public:
  // `on_written` (loop thread) runs once the bytes are in the pipe or were
  // dropped because the command is gone: the caller's cue to send more.
  void WriteStdin(std::string data, std::function<void()> on_written = nullptr);
  void CloseStdin();
  void Signal(int sig);
  // Ends the command as a timeout does (SIGTERM, grace, SIGKILL), marked
  // cancelled.
  void Cancel();
  // Ends the command at once: SIGKILL to its whole tree, marked cancelled.
  void Kill();
  void ResumeOutput();
  // Loop thread only. Hands what the command's pipes hold right now to the
  // observer before returning, pause or not: output written before an event
  // that came over another channel is delivered before that event.
  void DrainOutput();

 private:
  friend class Supervisor;
  CommandHandle(Supervisor* supervisor, uint64_t id) : supervisor_(supervisor), id_(id) {}
  Supervisor* supervisor_;
  uint64_t id_;
};

struct SupervisorOptions {
  std::chrono::milliseconds kill_grace{1000};
  // Stop reading a paused command's pipes; resumes on ResumeOutput().
  size_t read_chunk = 64 * 1024;
  // A cgroup per call where the kernel lets the runner create one.
  bool call_cgroups = true;
  // The kernel's process calls (tests give a fake); null: SystemProcessOps.
  std::shared_ptr<ProcessOps> ops = nullptr;
};

class Supervisor {
 public:
  // Blocks SIGCHLD in the calling thread (call before other threads start,
  // so that every thread has it blocked), makes this process a child
  // subreaper, and starts the loop thread.
  static absl::StatusOr<std::unique_ptr<Supervisor>> Start(SupervisorOptions options);
  ~Supervisor();

  // Thread-safe. The observer hears the outcome on the loop thread; once the
  // supervisor is shut down, OnStartFailed(UNAVAILABLE) on the calling thread.
  std::shared_ptr<CommandHandle> Launch(CommandSpec spec,
                                        std::shared_ptr<CommandObserver> observer);

  // Runs a command and waits for it (for the stdio protocol).
  absl::StatusOr<CommandResult> RunToCompletion(CommandSpec spec);

  // Commands running now.
  size_t running() const { return running_.load(); }

  // The cgroup's OOM-kill count now (oom_counter.h); nullopt where none is
  // readable. Thread-safe.
  std::optional<uint64_t> OomKillCount() const;

  // Ends every command (SIGTERM, `grace`, SIGKILL), waits for them to be
  // reaped (bounded by grace + 1 s), and stops the loop thread.
  void Shutdown(std::chrono::milliseconds grace);

  // For code that needs the loop (e.g. other services' process handling).
  EventLoop& loop() { return *loop_; }

 private:
  friend class CommandHandle;
  struct Command;

  Supervisor(SupervisorOptions options, std::unique_ptr<EventLoop> loop, UniqueFd sigchld);
  void StartCommand(uint64_t id, CommandSpec spec, std::shared_ptr<CommandObserver> observer,
                    EventLoop::Clock::time_point launched);
  void OnSigchld();
  // Why ReadPipe stopped before its limit (neither: the pipe is empty now).
  struct PipeRead {
    bool ended = false;   // end of file or a read error
    bool paused = false;  // the observer asked for a pause
  };
  // The one read loop: up to `limit` bytes of stream `i` (0 stdout, 1
  // stderr) to the observer or the buffer. Non-blocking.
  PipeRead ReadPipe(Command& cmd, int i, size_t limit, bool stop_on_pause);
  void OnReadable(Command& cmd, OutputStream stream);
  void PumpStdin(Command& cmd);
  void CloseStdinOf(Command& cmd);
  void BeginKill(Command& cmd, bool timed_out, bool cancelled, std::chrono::milliseconds grace);
  void MaybeFinish(uint64_t id);
  void WatchDying(Command& cmd);
  void StopWatchingDying(Command& cmd);
  ProcessOps& ops() { return *options_.ops; }
  void SetReading(Command& cmd, OutputStream stream, bool on);
  void DrainNow(Command& cmd);
  Command* Find(uint64_t id);

  SupervisorOptions options_;
  std::unique_ptr<EventLoop> loop_;
  UniqueFd sigchld_;
  std::thread thread_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<size_t> running_{0};
  // Loop thread only.
  std::unordered_map<uint64_t, std::unique_ptr<Command>> commands_;
  std::unordered_map<pid_t, uint64_t> by_pid_;
  bool shutting_down_ = false;
  // The cgroup file with the OOM-kill count; empty when there is none.
  std::string oom_counter_file_;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SUPERVISOR_SUPERVISOR_H_
