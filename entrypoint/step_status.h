// The result of one start-up step of the entrypoint: go on, or stop with an
// exit code and a message for the log. (The entrypoint links no absl::Status:
// in a static binary Debian's Abseil status pulls in iostream and locale.)
#ifndef SAGEWAI_ENTRYPOINT_STEP_STATUS_H_
#define SAGEWAI_ENTRYPOINT_STEP_STATUS_H_

#include <string>
#include <utility>

namespace sagewai::entrypoint {

// Exit codes of the entrypoint's own failures (the child's codes pass through).
inline constexpr int kExitStartFailure = 1;  // refused or failed to start
inline constexpr int kExitUsage = 2;         // bad command line
// The tool-runner died of a signal PID 1 did not send it (SIGKILL from
// outside, the OOM killer, a crash): not 128+N, which `docker stop` and a
// forwarded signal give. Any other command keeps tini's 128+N.
inline constexpr int kExitRunnerKilled = 3;
inline constexpr int kExitNotExecutable = 126;
inline constexpr int kExitNotFound = 127;

class StepStatus {
 public:
  StepStatus() = default;
  static StepStatus Ok() { return StepStatus(); }
  static StepStatus Fail(int exit_code, std::string message) {
    StepStatus s;
    s.exit_code_ = exit_code;
    s.message_ = std::move(message);
    return s;
  }

  bool ok() const { return exit_code_ == 0; }
  int exit_code() const { return exit_code_; }
  const std::string& message() const { return message_; }

 private:
  int exit_code_ = 0;
  std::string message_;
};

}  // namespace sagewai::entrypoint

#endif  // SAGEWAI_ENTRYPOINT_STEP_STATUS_H_
