// A child process for the integration tests: explicit argv and environment,
// pipes for stdin/stdout/stderr, waits that poll with deadlines.
#ifndef SAGEWAI_TESTS_ENTRYPOINT_SUBPROCESS_H_
#define SAGEWAI_TESTS_ENTRYPOINT_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace sagewai::entrypoint_test {

class Subprocess {
 public:
  Subprocess() = default;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  // Kills (SIGKILL) and reaps the process if it is still running.
  ~Subprocess();

  // Starts argv[0] (searched in PATH) with exactly `env`.
  bool Start(const std::vector<std::string>& argv, const std::vector<std::string>& env);

  // Reads output until stdout contains `needle`; false at the deadline or EOF.
  bool WaitForStdout(const std::string& needle, int timeout_ms);
  void CloseStdin();
  // Writes all of `data` to the child's stdin; false when it is closed.
  bool WriteStdin(const std::string& data);

  // Reads all output and reaps the process. Returns its exit code (128+N for
  // signal N), or -1 when it was still running at the deadline (it is then
  // killed).
  int Wait(int timeout_ms);

  pid_t pid() const { return pid_; }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  // One poll round over stdout and stderr (and `wake_fd`, e.g. a pidfd,
  // when not -1); false when both are closed.
  bool Pump(int timeout_ms, int wake_fd = -1);

  pid_t pid_ = -1;
  int in_ = -1, out_fd_ = -1, err_fd_ = -1;
  std::string out_, err_;
};

// Milliseconds on a monotonic clock.
long long NowMs();

// Children of `pid` (from /proc/PID/task/PID/children), polled until there is
// one or the deadline passes; -1 then.
pid_t WaitForChildOf(pid_t pid, int timeout_ms);

}  // namespace sagewai::entrypoint_test

#endif  // SAGEWAI_TESTS_ENTRYPOINT_SUBPROCESS_H_
