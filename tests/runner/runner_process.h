// Starts the real sagewai-tool-runner binary for a test and stops it again.
#ifndef SAGEWAI_TESTS_RUNNER_RUNNER_PROCESS_H_
#define SAGEWAI_TESTS_RUNNER_RUNNER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/session_auth.h"
#include "grpcpp/grpcpp.h"

namespace sagewai::testing {

struct RunnerOptions {
  std::string token = "test-token-0123456789";
  std::vector<std::string> extra_args;
  std::vector<std::string> extra_env;  // "K=V"
  // Let the runner switch to SAGEWAI_RUNNER_USER and start tools as
  // AGENT_USER (both from extra_env) instead of --keep-identity.
  bool switch_identity = false;
  uid_t runner_uid = 900;  // owner of the socket directory with switch_identity
  uid_t agent_uid = 1000;  // owner of the work directory with switch_identity
};

class RunnerProcess {
 public:
  // Starts `serve` on a unix socket in a fresh temp dir, with a token file
  // and a workdir in that temp dir, and waits until health says SERVING.
  explicit RunnerProcess(RunnerOptions options = {});
  ~RunnerProcess();

  bool started() const { return pid_ > 0 && serving_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  const std::string& workdir() const { return workdir_; }
  const std::string& socket_path() const { return socket_; }
  std::string address() const { return "unix://" + socket_; }
  const std::string& log_path() const { return log_; }
  std::string ReadLog() const;

  // Authenticated: the challenge ran once the runner was SERVING, and every
  // call is signed (common/grpc_client_auth.h).
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  // The same socket without the signing: what a test uses to send missing,
  // forged or replayed authorization itself.
  std::shared_ptr<grpc::Channel> raw_channel() const { return raw_channel_; }
  // A context with a deadline (the channel adds the authorization).
  std::unique_ptr<grpc::ClientContext> Context(
      std::chrono::milliseconds deadline = std::chrono::seconds(30)) const;

  // A session made by hand over raw_channel(), for tests that craft headers.
  struct ManualSession {
    std::string nonce;
    session_auth::SessionKey key;
    // The authorization metadata of call number `seq` to `method`.
    std::string Header(uint64_t seq, const std::string& method) const;
  };
  absl::StatusOr<ManualSession> StartSession() const;
  // Why channel() could not be authenticated ("" when it was).
  const std::string& auth_error() const { return auth_error_; }

  // SIGTERM, then wait; returns the exit status from waitpid.
  int Stop(std::chrono::milliseconds* took = nullptr);

  // A /proc/PID/status field of the runner (e.g. "Threads", "VmRSS").
  long StatusField(const std::string& name) const;

 private:
  RunnerOptions options_;
  pid_t pid_ = -1;
  bool serving_ = false;
  std::string dir_, workdir_, socket_, log_;
  std::shared_ptr<grpc::Channel> channel_;
  std::shared_ptr<grpc::Channel> raw_channel_;
  std::string auth_error_;
};

std::string BinDir();

// Asks Health.Check over `channel` until it says SERVING (true) or `timeout`
// passes; each try waits for the connection. When the runner `*pid` exits
// first, it is reaped, *pid becomes -1 and the answer is false.
bool WaitForServing(const std::shared_ptr<grpc::Channel>& channel, pid_t* pid,
                    std::chrono::milliseconds timeout);

}  // namespace sagewai::testing

#endif  // SAGEWAI_TESTS_RUNNER_RUNNER_PROCESS_H_
