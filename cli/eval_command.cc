#include "cli/eval_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/connection.h"
#include "cli/eval_common.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "common/fd_io.h"
#include "common/unique_fd.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace sagewai::cli {

namespace pb = sagewai::sandbox::v1;

const char kEvalHelp[] =
    R"(usage: sagewai-sandbox eval [OPTIONS] [--] (CODE | -)

Evaluates CODE (or stdin, for -) in the sandbox over the runner's
CodeEval.EvalStream call. Output is printed as it comes; the value of a
trailing expression and other display outputs are printed as text, and images
are saved as eval-output-N.png (or .jpg, .svg) and named.

With --context ID the code runs in that context's persistent state
(variables, imports, functions, the bash shell's cwd); without, in a fresh
one-shot interpreter. Create contexts with `sagewai-sandbox context create`.

Options:
  --lang LANG        python (default), node or bash; one-shot evals only
  --context ID       run in this context
  --timeout SECONDS  interrupt the code after this long (SIGINT; the context
                     survives when the code stops within a grace, else its
                     interpreter is killed)
  --cwd DIR          working directory (one-shot evals only)
  --env K=V          a variable for the interpreter (one-shot, repeatable)
  --output-dir DIR   where images are saved (default: the current directory)
  --addr ADDR        the runner (default: $SAGEWAI_RUNNER_ADDR, else
                     unix:///run/sagewai/tool-runner.sock)
  --token-file FILE  the sandbox's SESSION_TOKEN (default: $SAGEWAI_RUNNER_TOKEN)
  -h, --help         show this help

Ctrl-C interrupts the code the same way a timeout does.

Exit status: 0; 1 when the code raised (the traceback goes to stderr); 124
when it timed out; 125 when the interpreter died (restart the context);
130 after Ctrl-C. The CLI's own failures exit as for `exec` (65: refused,
e.g. a busy or dead context; 69: runner unreachable; 75: runner busy...).
)";

namespace {

// How long the runner may take past --timeout before we call it stuck.
constexpr absl::Duration kDeadlineSlack = absl::Seconds(30);
constexpr int kInterruptSignals[] = {SIGINT, SIGTERM, SIGHUP};

// Ctrl-C, SIGTERM and SIGHUP cancel the call (the runner interrupts the
// code); the signals are blocked before gRPC starts its threads.
class InterruptWatcher {
 public:
  InterruptWatcher() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : kInterruptSignals) sigaddset(&set, sig);
    signals_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC));
    wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC));
  }
  ~InterruptWatcher() { Stop(); }
  void Start(grpc::ClientContext* context) {
    if (!signals_ || !wake_) return;
    thread_ = std::thread([this, context] {
      pollfd fds[2] = {{wake_.get(), POLLIN, 0}, {signals_.get(), POLLIN, 0}};
      while (::poll(fds, 2, -1) >= 0 || errno == EINTR) {
        if (fds[0].revents & POLLIN) return;
        if (fds[1].revents & POLLIN) {
          signalfd_siginfo info{};
          if (::read(signals_.get(), &info, sizeof info) == sizeof info) {
            signal_ = static_cast<int>(info.ssi_signo);
            context->TryCancel();
            return;
          }
        }
      }
    });
  }
  void Stop() {
    if (!thread_.joinable()) return;
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_.get(), &one, sizeof one);
    (void)ignored;
    thread_.join();
  }
  int signal() const { return signal_.load(); }

  static void BlockSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int sig : kInterruptSignals) sigaddset(&set, sig);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }

 private:
  UniqueFd signals_, wake_;
  std::thread thread_;
  std::atomic<int> signal_{0};
};

std::string Extension(const std::string& mime) {
  if (mime == "image/png") return "png";
  if (mime == "image/jpeg") return "jpg";
  if (mime == "image/svg+xml") return "svg";
  if (mime == "image/gif") return "gif";
  if (mime == "application/pdf") return "pdf";
  return "";
}

int RunEval(const EvalOptions& options, std::string code) {
  int exit_code = kExitOk;
  std::unique_ptr<Connection> connection =
      ConnectAndWait(options.addr, options.token_file, &exit_code);
  if (!connection) return exit_code;
  pb::EvalRequest request;
  request.set_code(std::move(code));
  request.set_context_id(options.context_id);
  request.set_language(options.language);
  request.set_cwd(options.cwd);
  for (const auto& [k, v] : options.env) (*request.mutable_env())[k] = v;
  std::optional<absl::Duration> deadline;
  if (options.timeout) {
    request.set_timeout_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(*options.timeout)));
    deadline = *options.timeout + kDeadlineSlack;
  }
  auto context = connection->NewContext(deadline);
  auto stub = pb::CodeEval::NewStub(connection->channel());
  InterruptWatcher watcher;
  watcher.Start(context.get());
  auto reader = stub->EvalStream(context.get(), request);

  DisplayPrinter printer(options.output_dir);
  pb::EvalEvent event;
  pb::EvalResult result;
  bool got_result = false;
  while (reader->Read(&event)) {
    switch (event.kind_case()) {
      case pb::EvalEvent::kStdout:
        WriteAll(STDOUT_FILENO, event.stdout());
        break;
      case pb::EvalEvent::kStderr:
        WriteAll(STDERR_FILENO, event.stderr());
        break;
      case pb::EvalEvent::kDisplay: {
        absl::StatusOr<std::string> text = printer.Render(event.display());
        if (text.ok()) {
          WriteAll(STDOUT_FILENO, *text);
        } else {
          fprintf(stderr, "sagewai-sandbox eval: %s\n",
                  std::string(text.status().message()).c_str());
        }
        break;
      }
      case pb::EvalEvent::kResult:
        result = event.result();
        got_result = true;
        break;
      default:
        break;
    }
  }
  grpc::Status status = reader->Finish();
  watcher.Stop();
  if (int sig = watcher.signal()) {
    fprintf(stderr, "sagewai-sandbox eval: interrupted (signal %d)\n", sig);
    return kExitSignalBase + sig;
  }
  if (!status.ok()) {
    CliError e = connection->Describe(status, "CodeEval.EvalStream", deadline);
    fprintf(stderr, "%s\n", e.message.c_str());
    return e.exit_code;
  }
  if (!got_result) {
    fprintf(stderr, "the runner at %s ended EvalStream without a result — a runner bug\n",
            connection->address().text.c_str());
    return kExitSoftware;
  }
  const pb::EvalError& error = result.error();
  if (!error.name().empty()) {
    std::string text = !error.traceback().empty()
                           ? error.traceback()
                           : absl::StrCat(error.name(), ": ", error.message(), "\n");
    if (text.back() != '\n') text.push_back('\n');
    WriteAll(STDERR_FILENO, text);
  }
  if (result.timed_out()) {
    fprintf(stderr, "sagewai-sandbox eval: timed out after %s; %s\n",
            absl::FormatDuration(*options.timeout).c_str(),
            result.context_dead() ? "the interpreter was killed (the context needs a restart)"
                                  : "the code was interrupted");
  } else if (result.context_dead() && !options.context_id.empty()) {
    fprintf(stderr,
            "sagewai-sandbox eval: restart the context: sagewai-sandbox context restart %s\n",
            options.context_id.c_str());
  }
  return ExitCodeForEvalResult(result);
}

}  // namespace

absl::StatusOr<EvalOptions> ParseEvalArgs(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> kSpecs = {
      {"addr", true},     {"token-file", true}, {"lang", true},
      {"context", true},  {"timeout", true},    {"cwd", true},
      {"env", true, 'e'}, {"output-dir", true}, {"help", false, 'h'},
  };
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, kSpecs, PositionalMode::kStopAtFirst);
  if (!parsed.ok()) return parsed.status();
  EvalOptions options;
  options.help = parsed->Has("help");
  options.addr = parsed->Last("addr");
  options.token_file = parsed->Last("token-file");
  options.language = parsed->Last("lang").value_or("");
  options.context_id = parsed->Last("context").value_or("");
  options.cwd = parsed->Last("cwd").value_or("");
  options.output_dir = parsed->Last("output-dir").value_or(".");
  if (absl::Status st = ParseEnvEntries(parsed->All("env"), &options.env); !st.ok()) return st;
  if (std::optional<std::string> t = parsed->Last("timeout")) {
    double seconds = 0;
    if (!absl::SimpleAtod(*t, &seconds) || !std::isfinite(seconds) || seconds <= 0 ||
        seconds * 1000 > 4294967295.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--timeout ", *t, ": expected seconds > 0, e.g. 30 or 0.5"));
    }
    options.timeout = absl::Milliseconds(std::max<int64_t>(1, std::llround(seconds * 1000)));
  }
  if (!options.context_id.empty() &&
      (!options.language.empty() || !options.cwd.empty() || !options.env.empty())) {
    return absl::InvalidArgumentError(
        "--lang, --cwd and --env apply to one-shot evals; a context keeps those it was "
        "created with");
  }
  if (options.help) return options;
  if (parsed->positionals.empty()) {
    return absl::InvalidArgumentError(
        "no code given (usage: sagewai-sandbox eval CODE, or - for stdin)");
  }
  options.code = absl::StrJoin(parsed->positionals, " ");
  return options;
}

int ExitCodeForEvalResult(const pb::EvalResult& result) {
  if (result.timed_out()) return kExitTimedOut;
  // A one-shot interpreter has no context to restart: its death is a failure
  // of the code like any other.
  if (result.context_dead() && (!result.context_id().empty() || result.error().name().empty())) {
    return kExitContextDead;
  }
  if (!result.error().name().empty()) return kExitEvalError;
  return kExitOk;
}

absl::StatusOr<std::string> DisplayPrinter::Save(const std::string& data,
                                                 const std::string& extension) {
  for (int tries = 0; tries < 10000; ++tries, ++next_) {
    std::string path = absl::StrCat(dir_, "/eval-output-", next_, ".", extension);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) continue;
    if (fd < 0)
      return absl::InternalError(absl::StrCat("cannot save ", path, ": ", strerror(errno)));
    UniqueFd owner(fd);
    ++next_;
    if (!WriteAll(fd, data)) {
      return absl::InternalError(absl::StrCat("cannot write ", path, ": ", strerror(errno)));
    }
    if (absl::string_view(path).substr(0, 2) == "./") path = path.substr(2);
    return path;
  }
  return absl::InternalError(absl::StrCat("no free eval-output-N name in ", dir_));
}

absl::StatusOr<std::string> DisplayPrinter::Render(const pb::DisplayOutput& output) {
  const auto& data = output.data();
  std::vector<std::string> saved;
  for (const char* mime :
       {"image/png", "image/jpeg", "image/svg+xml", "image/gif", "application/pdf"}) {
    auto it = data.find(mime);
    if (it == data.end()) continue;
    absl::StatusOr<std::string> path = Save(it->second, Extension(mime));
    if (!path.ok()) return path.status();
    saved.push_back(absl::StrCat("[", mime, " saved to ", *path, "]"));
    break;  // one picture per output is enough
  }
  if (!saved.empty()) return absl::StrCat(absl::StrJoin(saved, "\n"), "\n");
  for (const char* mime :
       {"text/plain", "text/markdown", "application/json", "text/html", "text/latex"}) {
    auto it = data.find(mime);
    if (it == data.end()) continue;
    std::string text = it->second;
    if (!text.empty() && text.back() != '\n') text.push_back('\n');
    return text;
  }
  if (data.empty()) return std::string();
  std::vector<std::string> mimes;
  for (const auto& [mime, value] : data) mimes.push_back(mime);
  return absl::StrCat("[display: ", absl::StrJoin(mimes, ", "), "]\n");
}

int RunEvalCommand(const std::vector<std::string>& args) {
  absl::StatusOr<EvalOptions> options = ParseEvalArgs(args);
  if (!options.ok()) {
    fprintf(stderr, "sagewai-sandbox eval: %s (see --help)\n",
            std::string(options.status().message()).c_str());
    return kExitUsage;
  }
  if (options->help) {
    fputs(kEvalHelp, stdout);
    return kExitOk;
  }
  std::string code = options->code;
  if (code == "-") {
    code.clear();
    if (!ReadToEnd(STDIN_FILENO, &code)) {
      fprintf(stderr, "sagewai-sandbox eval: cannot read stdin: %s\n", strerror(errno));
      return kExitIoErr;
    }
  }
  InterruptWatcher::BlockSignals();
  return RunEval(*options, std::move(code));
}

}  // namespace sagewai::cli
