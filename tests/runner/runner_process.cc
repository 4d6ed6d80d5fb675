#include "tests/runner/runner_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/grpc_client_auth.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tests/runner/wait_for.h"

namespace sagewai::testing {

std::string BinDir() { return SAGEWAI_BIN_DIR; }

RunnerProcess::RunnerProcess(RunnerOptions options) : options_(std::move(options)) {
  char tmpl[] = "/tmp/sagewai-runner-test-XXXXXX";
  dir_ = mkdtemp(tmpl);
  workdir_ = dir_ + "/workspace";
  mkdir(workdir_.c_str(), 0777);
  socket_ = dir_ + "/tool-runner.sock";
  log_ = dir_ + "/runner.log";
  const std::string token_file = dir_ + "/token";
  if (!options_.token.empty()) {
    std::ofstream(token_file) << options_.token << "\n";
  }
  std::vector<std::string> args = {BinDir() + "/sagewai-tool-runner",
                                   "serve",
                                   "--listen",
                                   "unix://" + socket_,
                                   "--workdir",
                                   workdir_};
  // The tests here run tools with the test's own credentials; the identity
  // switch has tests of its own (tests/security, tests/entrypoint).
  if (!options_.switch_identity) {
    args.push_back("--keep-identity");
  } else {
    // As the images have them: the socket's directory belongs to the runner
    // user, the work directory to the agent.
    chown(dir_.c_str(), options_.runner_uid, 0);
    chmod(dir_.c_str(), 0755);
    chown(workdir_.c_str(), options_.agent_uid, options_.agent_uid);
    chmod(workdir_.c_str(), 0755);
  }
  if (!options_.token.empty()) {
    args.push_back("--token-file");
    args.push_back(token_file);
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + dir_,
                                  "LANG=C.UTF-8", "SAGEWAI_LOG_LEVEL=info"};
  env.insert(env.end(), options_.extra_env.begin(), options_.extra_env.end());
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int log_fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(log_fd, STDERR_FILENO);
    int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(log_fd);
  // Connect only once the socket exists: a channel whose first attempts
  // failed waits out gRPC's reconnect backoff.
  WaitForPath(socket_, std::chrono::seconds(20), pid_);
  // Short reconnect backoff: the socket appears a few milliseconds from now.
  grpc::ChannelArguments channel_args;
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  channel_args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  raw_channel_ =
      grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), channel_args);
  channel_ = raw_channel_;
  serving_ = WaitForServing(raw_channel_, &pid_, std::chrono::seconds(20));
  if (serving_) {
    ClientAuthOptions auth;
    auth.token_source = "the test's token";
    absl::StatusOr<std::shared_ptr<grpc::Channel>> signed_channel =
        NewAuthenticatedChannel(address(), channel_args, options_.token, auth);
    if (signed_channel.ok()) {
      channel_ = *std::move(signed_channel);
    } else {
      auth_error_ = std::string(signed_channel.status().message());
      serving_ = false;
    }
  }
}

bool WaitForServing(const std::shared_ptr<grpc::Channel>& channel, pid_t* pid,
                    std::chrono::milliseconds timeout) {
  auto health = grpc::health::v1::Health::NewStub(channel);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    // Waits for the connection (gRPC retries it) instead of failing fast;
    // the slices let a runner that died be noticed.
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    grpc::health::v1::HealthCheckResponse resp;
    const grpc::Status st = health->Check(&ctx, {}, &resp);
    if (st.ok()) return resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
    if (st.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
        st.error_code() != grpc::StatusCode::UNAVAILABLE) {
      return false;
    }
    int status;
    if (waitpid(*pid, &status, WNOHANG) == *pid) {
      *pid = -1;
      return false;
    }
  }
  return false;
}

RunnerProcess::~RunnerProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::string cmd = "rm -rf '" + dir_ + "'";
  if (std::system(cmd.c_str()) != 0) {
  }
}

std::string RunnerProcess::ReadLog() const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<grpc::ClientContext> RunnerProcess::Context(
    std::chrono::milliseconds deadline) const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  return ctx;
}

std::string RunnerProcess::ManualSession::Header(uint64_t seq, const std::string& method) const {
  return session_auth::FormatAuthorization(nonce, seq,
                                           session_auth::CallMac(key, nonce, seq, method));
}

absl::StatusOr<RunnerProcess::ManualSession> RunnerProcess::StartSession() const {
  absl::StatusOr<std::string> client_nonce = session_auth::RandomBytes(32);
  if (!client_nonce.ok()) return client_nonce.status();
  sagewai::sandbox::v1::ChallengeRequest request;
  request.set_client_nonce(*client_nonce);
  sagewai::sandbox::v1::ChallengeResponse answer;
  auto ctx = Context();
  grpc::Status st =
      sagewai::sandbox::v1::Auth::NewStub(raw_channel_)->Challenge(ctx.get(), request, &answer);
  if (!st.ok()) return absl::UnavailableError("Auth.Challenge failed: " + st.error_message());
  ManualSession session{answer.server_nonce(), session_auth::DeriveSessionKey(options_.token)};
  const session_auth::Digest proof =
      session_auth::ServerProof(session.key, *client_nonce, session.nonce);
  if (!session_auth::ConstantTimeEquals(
          answer.server_proof(),
          absl::string_view(reinterpret_cast<const char*>(proof.data()), proof.size()))) {
    return absl::PermissionDeniedError("the runner's proof does not verify");
  }
  return session;
}

int RunnerProcess::Stop(std::chrono::milliseconds* took) {
  if (pid_ <= 0) return -1;
  const auto start = std::chrono::steady_clock::now();
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  if (took != nullptr) {
    *took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start);
  }
  pid_ = -1;
  return status;
}

long RunnerProcess::StatusField(const std::string& name) const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + ":", 0) == 0)
      return std::strtol(line.c_str() + name.size() + 1, nullptr, 10);
  }
  return -1;
}

}  // namespace sagewai::testing
