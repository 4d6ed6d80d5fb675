#include "cli/exec_command.h"

#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/connection.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "cli/shell_quote.h"
#include "common/fd_io.h"
#include "common/unique_fd.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace sagewai::cli {

namespace pb = sagewai::sandbox::v1;

const char kExecHelp[] =
    R"(usage: sagewai-sandbox exec [OPTIONS] [--] COMMAND [ARG...]

Runs COMMAND in the sandbox over the runner's Bash.Stream call, streams its
stdout and stderr here as they come, and exits with its exit code.

One word after -- is a shell command, taken verbatim:
    sagewai-sandbox exec -- 'ls /workspace | wc -l'
Several words are quoted one by one, so the program gets exactly these
arguments (no second round of shell expansion):
    sagewai-sandbox exec -- printf '%s\n' 'two words'

Stdin is forwarded when it is not a terminal (a pipe or a file), then closed;
at a terminal the command's stdin is closed at once. SIGINT, SIGTERM, SIGHUP
and SIGQUIT received here are forwarded to the command's process group.

Options:
  --addr ADDR        the runner: unix:///path/tool-runner.sock, tcp://host:port
                     or host:port (default: $SAGEWAI_RUNNER_ADDR, else
                     unix:///run/sagewai/tool-runner.sock)
  --token-file FILE  file holding the sandbox's SESSION_TOKEN (default:
                     $SAGEWAI_RUNNER_TOKEN; the file wins when both are set)
  --env K=V          set a variable for the command (repeatable); --env K
                     copies K from this environment
  --cwd DIR          working directory (default: the sandbox's /workspace)
  --timeout SECONDS  end the command after this long, fractions allowed
                     (default: the runner's default timeout)
  --no-stdin         close the command's stdin at once
  -h, --help         show this help

Exit status: the command's own (0-255); 124 when it timed out; 128+N when
signal N ended it. When the CLI itself fails it prints one line on stderr and
exits 2 (usage), 65 (request refused), 69 (runner unreachable), 70 (unexpected
error), 75 (deadline exceeded or runner busy), 76 (runner too old),
77 (token rejected) or 78 (bad token file).
)";

namespace {

constexpr int kForwardedSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
constexpr size_t kStdinChunk = 64 * 1024;
// How long the runner may take past --timeout before we call it stuck.
constexpr absl::Duration kDeadlineSlack = absl::Seconds(30);
constexpr absl::Duration kConnectTimeout = absl::Seconds(10);

bool IsValidEnvName(const std::string& name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  for (char c : name) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
      return false;
    }
  }
  return true;
}

// Writes all of `data` to `fd`; false on an error (EPIPE: the reader left).
// Unlike fd_io's WriteAll it waits out EAGAIN: our stdout may be a
// non-blocking file description shared with another process.
bool WriteAllWaiting(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

void Signal(const UniqueFd& eventfd) {
  uint64_t one = 1;
  ssize_t ignored = ::write(eventfd.get(), &one, sizeof one);
  (void)ignored;
}

using Stream = grpc::ClientReaderWriter<pb::BashStreamRequest, pb::BashStreamEvent>;

// One call of Bash.Stream: the main thread reads events; a stdin thread and a
// signal thread write requests, one at a time.
class ExecSession {
 public:
  ExecSession(const Connection& connection, const ExecOptions& options)
      : connection_(connection), options_(options) {}

  int Run();

 private:
  // Serializes writers. False when the stream is broken or, with a limit,
  // when the lock could not be had in time (a write is stuck on flow control).
  bool Write(const pb::BashStreamRequest& request,
             std::optional<absl::Duration> wait = std::nullopt);
  void PumpStdin();
  void ForwardSignals();
  void StopWorkers();
  int Finish(bool got_exit, const pb::BashResult& result, const grpc::Status& status);

  const Connection& connection_;
  const ExecOptions& options_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<Stream> stream_;
  std::timed_mutex write_mu_;
  UniqueFd wake_;     // eventfd: tells both worker threads to stop
  UniqueFd signals_;  // signalfd for kForwardedSignals
  std::atomic<bool> started_{false};
  std::atomic<int> cancelled_by_signal_{0};
  std::atomic<bool> output_lost_{false};

  std::mutex done_mu_;
  std::condition_variable done_cv_;
  int workers_running_ = 0;
};

bool ExecSession::Write(const pb::BashStreamRequest& request, std::optional<absl::Duration> wait) {
  std::unique_lock<std::timed_mutex> lock(write_mu_, std::defer_lock);
  if (wait) {
    if (!lock.try_lock_for(absl::ToChronoNanoseconds(*wait))) return false;
  } else {
    lock.lock();
  }
  return stream_->Write(request);
}

void ExecSession::PumpStdin() {
  char buf[kStdinChunk];
  pb::BashStreamRequest request;
  while (true) {
    pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    int r = ::poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (fds[0].revents & POLLIN)) return;
    const long n = ReadSome(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EAGAIN) continue;
    if (n <= 0) break;  // EOF, or an error that ends our input all the same
    request.set_stdin(buf, static_cast<size_t>(n));
    if (!Write(request)) return;
  }
  request.mutable_stdin_close();
  Write(request);
}

void ExecSession::ForwardSignals() {
  while (true) {
    pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {signals_.get(), POLLIN, 0}};
    int r = ::poll(fds, 2, -1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 || (fds[0].revents & POLLIN)) return;
    signalfd_siginfo info{};
    if (::read(signals_.get(), &info, sizeof info) != sizeof info) continue;
    pb::BashStreamRequest request;
    request.set_signal(static_cast<int32_t>(info.ssi_signo));
    if (!Write(request, absl::Seconds(2))) {
      // The runner is not taking our input: cancelling the call makes it end
      // the command's process group all the same.
      cancelled_by_signal_ = static_cast<int>(info.ssi_signo);
      context_->TryCancel();
      return;
    }
  }
}

void ExecSession::StopWorkers() {
  Signal(wake_);
  std::unique_lock<std::mutex> lock(done_mu_);
  if (!done_cv_.wait_for(lock, std::chrono::seconds(2), [&] { return workers_running_ == 0; })) {
    // A writer is stuck in Write (the runner stopped reading); cancelling
    // unblocks it. The call's outcome is already known.
    context_->TryCancel();
  }
}

int ExecSession::Run() {
  absl::StatusOr<UniqueFd> wake = []() -> absl::StatusOr<UniqueFd> {
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC));
    if (!fd) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
    return fd;
  }();
  if (!wake.ok()) {
    fprintf(stderr, "cannot start: %s\n", std::string(wake.status().message()).c_str());
    return kExitSoftware;
  }
  wake_ = *std::move(wake);
  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (int sig : kForwardedSignals) sigaddset(&forwarded, sig);
  signals_ = UniqueFd(::signalfd(-1, &forwarded, SFD_CLOEXEC));

  if (!connection_.WaitForConnection(kConnectTimeout)) {
    fprintf(stderr,
            "cannot reach the runner at %s: no connection within %lld s — is the sandbox "
            "running? is the address right?\n",
            connection_.address().text.c_str(),
            static_cast<long long>(absl::ToInt64Seconds(kConnectTimeout)));
    return kExitUnavailable;
  }

  std::optional<absl::Duration> deadline;
  if (options_.timeout) deadline = *options_.timeout + kDeadlineSlack;
  context_ = connection_.NewContext(deadline);
  auto stub = pb::Bash::NewStub(connection_.channel());
  stream_ = stub->Stream(context_.get());

  pb::BashStreamRequest start;
  pb::BashRequest* req = start.mutable_start();
  req->set_command(JoinCommand(options_.words));
  for (const auto& [k, v] : options_.env) (*req->mutable_env())[k] = v;
  req->set_cwd(options_.cwd);
  if (options_.timeout) {
    req->set_timeout_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(*options_.timeout)));
  }
  pb::BashResult result;
  bool got_exit = false;
  if (!stream_->Write(start)) {
    return Finish(false, result, stream_->Finish());
  }

  const bool forward_stdin = !options_.no_stdin && !isatty(STDIN_FILENO);
  if (!forward_stdin) {
    pb::BashStreamRequest close;
    close.mutable_stdin_close();
    stream_->Write(close);
  }
  std::vector<std::thread> workers;
  auto spawn = [&](void (ExecSession::*body)()) {
    {
      std::lock_guard<std::mutex> lock(done_mu_);
      ++workers_running_;
    }
    workers.emplace_back([this, body] {
      (this->*body)();
      std::lock_guard<std::mutex> lock(done_mu_);
      --workers_running_;
      done_cv_.notify_all();
    });
  };
  if (forward_stdin) spawn(&ExecSession::PumpStdin);
  if (signals_) spawn(&ExecSession::ForwardSignals);

  pb::BashStreamEvent event;
  while (stream_->Read(&event)) {
    switch (event.kind_case()) {
      case pb::BashStreamEvent::kStarted:
        started_ = true;
        break;
      case pb::BashStreamEvent::kStdout:
      case pb::BashStreamEvent::kStderr: {
        const bool is_out = event.kind_case() == pb::BashStreamEvent::kStdout;
        if (!WriteAllWaiting(is_out ? STDOUT_FILENO : STDERR_FILENO,
                             is_out ? event.stdout() : event.stderr()) &&
            !output_lost_.exchange(true)) {
          // Our reader went away (`| head`): end the call the way a pipeline
          // ends a writer.
          context_->TryCancel();
        }
        break;
      }
      case pb::BashStreamEvent::kExit:
        result = event.exit();
        got_exit = true;
        break;
      default:
        break;
    }
    if (got_exit) break;
  }
  StopWorkers();
  for (std::thread& t : workers) t.join();
  if (got_exit) {
    stream_->WritesDone();
    while (stream_->Read(&event)) {
    }
  }
  return Finish(got_exit, result, stream_->Finish());
}

int ExecSession::Finish(bool got_exit, const pb::BashResult& result, const grpc::Status& status) {
  if (got_exit) {
    if (result.oom_killed()) {
      fprintf(stderr,
              "sagewai-sandbox exec: the command was killed by the kernel's OOM killer (the "
              "sandbox's memory limit, start --mem)\n");
    }
    return ExitCodeForResult(result);
  }
  if (output_lost_) return kExitSignalBase + SIGPIPE;
  if (int sig = cancelled_by_signal_.load()) {
    fprintf(stderr,
            "the runner at %s did not take the forwarded signal %d in time; the call was "
            "cancelled, which ends the command\n",
            connection_.address().text.c_str(), sig);
    return kExitSignalBase + sig;
  }
  if (status.ok()) {
    fprintf(stderr, "the runner at %s ended Bash.Stream without an exit status — a runner bug\n",
            connection_.address().text.c_str());
    return kExitSoftware;
  }
  CliError error = connection_.Describe(
      status, "Bash.Stream",
      options_.timeout ? std::optional(*options_.timeout + kDeadlineSlack) : std::nullopt);
  if (started_ && !error.runner_died &&
      (status.error_code() == grpc::UNAVAILABLE || status.error_code() == grpc::CANCELLED ||
       status.error_code() == grpc::INTERNAL || status.error_code() == grpc::UNKNOWN)) {
    error.message =
        absl::StrCat("lost the runner at ", connection_.address().text, " while the command ran (",
                     status.error_message(), ") — the command's outcome is unknown");
  }
  if (started_ && error.runner_died) {
    error.message = absl::StrCat("while the command ran (its outcome is unknown), ", error.message);
  }
  fprintf(stderr, "%s\n", error.message.c_str());
  return error.exit_code;
}

}  // namespace

absl::StatusOr<ExecOptions> ParseExecArgs(const std::vector<std::string>& args,
                                          const EnvLookup& lookup) {
  static const std::vector<FlagSpec> kSpecs = {
      {"addr", true},    {"token-file", true}, {"env", true, 'e'},   {"cwd", true},
      {"timeout", true}, {"no-stdin", false},  {"help", false, 'h'},
  };
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, kSpecs, PositionalMode::kStopAtFirst);
  if (!parsed.ok()) return parsed.status();
  ExecOptions options;
  options.help = parsed->Has("help");
  options.addr = parsed->Last("addr");
  options.token_file = parsed->Last("token-file");
  options.cwd = parsed->Last("cwd").value_or("");
  options.no_stdin = parsed->Has("no-stdin");
  for (const std::string& entry : parsed->All("env")) {
    size_t eq = entry.find('=');
    std::string name = entry.substr(0, eq);
    if (!IsValidEnvName(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--env ", entry, ": \"", name, "\" is not a variable name"));
    }
    if (eq != std::string::npos) {
      options.env[name] = entry.substr(eq + 1);
      continue;
    }
    std::optional<std::string> value = lookup ? lookup(name) : std::nullopt;
    if (!value) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--env ", name, ": ", name, " is not set here (use --env ", name, "=VALUE)"));
    }
    options.env[name] = *value;
  }
  if (std::optional<std::string> t = parsed->Last("timeout")) {
    double seconds = 0;
    if (!absl::SimpleAtod(*t, &seconds) || !std::isfinite(seconds) || seconds < 0 ||
        seconds * 1000 > 4294967295.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--timeout ", *t, ": expected seconds, e.g. 30 or 0.5"));
    }
    if (seconds > 0) {
      options.timeout = absl::Milliseconds(std::max<int64_t>(1, std::llround(seconds * 1000)));
    }
  }
  options.words = parsed->positionals;
  if (!options.help && options.words.empty()) {
    return absl::InvalidArgumentError("no command given (usage: sagewai-sandbox exec -- COMMAND)");
  }
  return options;
}

int ExitCodeForResult(const pb::BashResult& result) {
  if (result.timed_out()) return kExitTimedOut;
  if (result.signal() > 0) return kExitSignalBase + (result.signal() & 0x7f);
  return result.exit_code() & 0xff;
}

int RunExecCommand(const std::vector<std::string>& args) {
  absl::StatusOr<ExecOptions> options = ParseExecArgs(args, [](const std::string& name) {
    const char* v = getenv(name.c_str());
    return v != nullptr ? std::optional<std::string>(v) : std::nullopt;
  });
  if (!options.ok()) {
    fprintf(stderr, "sagewai-sandbox exec: %s (see --help)\n",
            std::string(options.status().message()).c_str());
    return kExitUsage;
  }
  if (options->help) {
    fputs(kExecHelp, stdout);
    return kExitOk;
  }
  // Before gRPC starts its threads, so that every thread inherits the mask
  // and the signals wait in the signalfd.
  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (int sig : kForwardedSignals) sigaddset(&forwarded, sig);
  pthread_sigmask(SIG_BLOCK, &forwarded, nullptr);

  int exit_code = kExitOk;
  std::unique_ptr<Connection> connection =
      ConnectOrReport(options->addr, options->token_file, &exit_code);
  if (!connection) return exit_code;
  ExecSession session(*connection, *options);
  return session.Run();
}

}  // namespace sagewai::cli
