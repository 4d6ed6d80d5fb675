// Child processes started with fork/exec and an argv (never a shell string):
// the docker CLI for `validate`, the binaries under test in integration tests.
#ifndef SAGEWAI_CLI_SUBPROCESS_H_
#define SAGEWAI_CLI_SUBPROCESS_H_

#include <sys/types.h>

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"

namespace sagewai::cli {

enum class Stdio { kNull, kPipe, kInherit };

struct SpawnOptions {
  // "K=V" entries set in the child's environment on top of ours (the last
  // one wins when a name repeats).
  std::vector<std::string> set_env;
  // Names removed from the child's environment.
  std::vector<std::string> unset_env;
  // The child leads a new process group, so that Kill() reaches whatever
  // it starts and a terminal's Ctrl-C reaches only us.
  bool new_process_group = true;
  Stdio stdin_mode = Stdio::kNull;
  Stdio stdout_mode = Stdio::kPipe;
  Stdio stderr_mode = Stdio::kPipe;
  std::string cwd;
};

// Owns a started child: the destructor kills (SIGKILL) and reaps it if
// nobody waited for it. Move-only.
class ChildProcess {
 public:
  // Looks `argv[0]` up in PATH (unless it has a '/'); NotFound when it is
  // not there, an ErrnoStatus when fork or exec fail.
  static absl::StatusOr<ChildProcess> Spawn(const std::vector<std::string>& argv,
                                            const SpawnOptions& options);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  // Pipe ends for the streams spawned as Stdio::kPipe (invalid otherwise).
  UniqueFd& stdin_fd() { return stdin_; }
  UniqueFd& stdout_fd() { return stdout_; }
  UniqueFd& stderr_fd() { return stderr_; }

  // Sends `sig` to the child's group (or to the child alone without one).
  void Kill(int sig);
  // Waits for the exit: the exit status, or 128 + signal.
  int Wait();
  // The exit code if the child has exited, without blocking.
  std::optional<int> TryWait();
  bool running() const { return pid_ > 0 && !exit_code_; }
  // Waits until it exits or `timeout` passes.
  std::optional<int> WaitFor(absl::Duration timeout);

 private:
  ChildProcess() = default;
  void Reset();

  pid_t pid_ = -1;
  bool own_group_ = false;
  std::optional<int> exit_code_;
  UniqueFd stdin_;
  UniqueFd stdout_;
  UniqueFd stderr_;
};

struct RunOptions {
  SpawnOptions spawn;
  // Fed to the child's stdin, which is then closed (stdin is /dev/null
  // when absent).
  std::optional<std::string> stdin_data;
  absl::Duration timeout = absl::InfiniteDuration();
  // Per stream; the rest is read and dropped.
  size_t max_output = 16 << 20;
  // Polled a few times a second: when it becomes true the child is killed
  // and RunProcess returns Cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

struct ProcessResult {
  int exit_code = -1;  // status, or 128 + signal
  std::string out;
  std::string err;
  bool timed_out = false;  // killed at RunOptions::timeout
  absl::Duration elapsed;
};

// Runs `argv` to completion, collecting stdout and stderr. "Exited non-zero"
// and "timed out" are results; an error status means it could not be run.
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         const RunOptions& options = {});

// The absolute path `name` resolves to through PATH (or `name` itself when it
// has a '/'), NotFound otherwise.
absl::StatusOr<std::string> FindInPath(const std::string& name);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_SUBPROCESS_H_
