#include "cli/validate_command.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/connection.h"
#include "cli/docker.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "cli/sandbox_launch.h"
#include "cli/sandbox_state.h"
#include "cli/validate_checks.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace sagewai::cli {

namespace pb = sagewai::sandbox::v1;

const char kValidateHelp[] =
    R"(usage: sagewai-sandbox validate IMAGE [--runtime RUNTIME] [--keep]

Checks that IMAGE works as a Sagewai sandbox. Pulls it when it is not present
locally, starts it the way the worker does (--cap-drop ALL plus SETUID, SETGID
and SETPCAP, no-new-privileges, a read-only root, a noexec /tmp, --network
none, pid/memory/CPU limits, a scratch /workspace, the runner's socket in a
private host directory mounted at /run/sagewai, a random SESSION_TOKEN), talks
to the runner over that socket, and prints each check as it completes:

  ✓ image pulled (digest sha256:…)
  ✓ container starts
  ✓ sagewai-tool-runner --version → 0.1.0 (compatible)
  ✓ bash echo round-trip → 1.3 ms
  ✓ /workspace writable
  ✓ env scrub: HOST_SECRET not visible
  ✓ PID 1 is sagewai-entrypoint
  ✓ tools run unprivileged (uid 1000, CapEff 0, NoNewPrivs 1)
  ✓ a tool cannot signal the runner (kill -0 → EPERM)
  ✓ a tool cannot replace the runner's socket (unlink, rename → refused)
  ✓ stdio protocol (docker exec -i … sagewai-tool-runner) → ok in 95 ms
  ✓ docker stop → 0.2 s
  PASS — image is compatible with this SDK

The version must satisfy >=0.1,<0.2 (PEP 440; pre-releases excluded). The
env scrub fails when a tool can see HOST_SECRET (set in validate's own
environment, as on a worker host) or the values given to the container as
SESSION_TOKEN, SESSION_ID and CONTROL_PLANE_URL, in its environment,
/proc/1/environ or any /proc/*/environ. The two isolation checks run a tool
that tries to kill -0 the runner and to remove or rename over its socket
(undoing whatever it managed); they pass when the kernel refuses (EPERM,
EACCES): the runner runs as its own user `sagewai` (uid 900). When the
runner reports that tools share its uid, a line starting with ⚠ says so (a
warning, not a failure). A failed check prints ✗ and what to do. The
container and the temporary directories are always removed.

Options:
  --runtime RUNTIME  runtime for docker run, e.g. runsc (gVisor)
  --keep             keep the container running and the temporary
                     directories (skips the docker stop check)
  --docker PATH      the docker CLI (default: docker in PATH)
  --start-timeout SECONDS
                     how long the runner may take to serve (default 20)
  -h, --help         show this help

Exit status: 0 all checks passed; 1 a check failed; 2 usage error; 69 Docker
is not available; 74 temporary directories could not be made; 130 interrupted.
)";

namespace {

constexpr absl::Duration kToolTimeout = absl::Seconds(30);
constexpr absl::Duration kStopLimit = absl::Seconds(2);
constexpr char kSocketName[] = "tool-runner.sock";

std::atomic<bool> g_interrupted{false};

void OnInterrupt(int) { g_interrupted = true; }

void InstallInterruptHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

std::string Indent(const std::string& text, size_t max_lines) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipWhitespace());
  size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  std::string out;
  for (size_t i = first; i < lines.size(); ++i) absl::StrAppend(&out, "    | ", lines[i], "\n");
  return out;
}

struct ValidateOptions {
  std::string image;
  std::string runtime;
  std::string docker = "docker";
  bool keep = false;
  absl::Duration start_timeout = absl::Seconds(20);
};

class Validator {
 public:
  explicit Validator(ValidateOptions options)
      : options_(std::move(options)), docker_(options_.docker, &g_interrupted) {}
  ~Validator() { Cleanup(); }

  int Run();

 private:
  void Pass(const std::string& text);
  void Fail(const CheckFailure& failure, const std::string& details = "");
  void Skip(const std::string& what, const std::string& why);
  void Warn(const std::string& text);
  bool Interrupted() const { return g_interrupted.load(); }

  bool CheckImage();
  bool MakeDirectories();
  bool StartContainer();
  void WaitForRunner();
  void CheckVersion();
  void CheckEcho();
  void CheckWorkspace();
  void CheckEnvScrub();
  void CheckPid1();
  void CheckUnprivileged();
  void CheckSharedUid();
  void CheckSignalRunner();
  void CheckSocketReplace();
  void CheckStdio();
  void CheckStop();
  void Cleanup();

  grpc::Status RunTool(const std::string& command, pb::BashResult* result);
  std::string ContainerLogs();
  int Finish();

  ValidateOptions options_;
  Docker docker_;
  std::string base_dir_;
  std::string workspace_dir_;
  std::string socket_dir_;
  std::string container_;
  std::unique_ptr<Connection> connection_;
  bool serving_ = false;
  std::string not_serving_reason_;
  // From GetInfo (CheckSharedUid), 0 when it could not be had.
  int64_t runner_pid_ = 0;
  std::string get_info_error_;
  // name -> value of everything a tool must not see.
  std::map<std::string, std::string> secrets_;
  int failed_ = 0;
  bool cleaned_ = false;
};

void Validator::Pass(const std::string& text) {
  printf("✓ %s\n", text.c_str());
  fflush(stdout);
}

void Validator::Fail(const CheckFailure& failure, const std::string& details) {
  // A check cut short by Ctrl-C did not fail; Finish() says what happened.
  if (Interrupted()) return;
  ++failed_;
  printf("✗ %s\n%s", failure.what.c_str(), details.c_str());
  if (!failure.remedy.empty()) printf("  → %s\n", failure.remedy.c_str());
  fflush(stdout);
}

void Validator::Skip(const std::string& what, const std::string& why) {
  printf("- %s: skipped (%s)\n", what.c_str(), why.c_str());
  fflush(stdout);
}

void Validator::Warn(const std::string& text) {
  printf("⚠ %s\n", text.c_str());
  fflush(stdout);
}

bool Validator::CheckImage() {
  absl::StatusOr<std::optional<ImageIdentity>> identity = docker_.InspectImage(options_.image);
  if (identity.ok() && !identity->has_value() && !Interrupted()) {
    fprintf(stderr, "pulling %s ...\n", options_.image.c_str());
    absl::StatusOr<ProcessResult> pull =
        docker_.Run({"pull", "--quiet", options_.image}, absl::Minutes(30));
    if (!pull.ok() || pull->exit_code != 0) {
      std::string why =
          pull.ok() ? DockerErrorLine(pull->err) : std::string(pull.status().message());
      Fail({absl::StrCat("image pull failed: ", why.empty() ? "no details" : why),
            "check the image name and tag; for a private registry run `docker login` first"});
      return false;
    }
    identity = docker_.InspectImage(options_.image);
  }
  if (!identity.ok() || !identity->has_value()) {
    Fail({absl::StrCat("image pulled: ", identity.ok()
                                             ? "the image is still not present after the pull"
                                             : std::string(identity.status().message())),
          "check that the Docker daemon is healthy and retry"});
    return false;
  }
  Pass(absl::StrCat("image pulled (", DescribeImageIdentity(**identity, options_.image), ")"));
  return true;
}

bool Validator::MakeDirectories() {
  std::vector<std::string> roots;
  if (const char* tmp = getenv("TMPDIR"); tmp != nullptr && *tmp != '\0') roots.push_back(tmp);
  roots.push_back("/tmp");
  for (const std::string& root : roots) {
    std::string tmpl = absl::StrCat(root, "/sagewai-validate-XXXXXX");
    // The socket path must fit in sockaddr_un (107 bytes).
    if (tmpl.size() + 5 + strlen(kSocketName) > 107) continue;
    if (mkdtemp(tmpl.data()) == nullptr) {
      fprintf(stderr, "cannot create a temporary directory in %s: %s\n", root.c_str(),
              strerror(errno));
      continue;
    }
    base_dir_ = tmpl;  // mode 0700: the socket and workspace stay private
    workspace_dir_ = base_dir_ + "/workspace";
    socket_dir_ = base_dir_ + "/run";
    for (const std::string& dir : {workspace_dir_, socket_dir_}) {
      absl::Status status = dir == socket_dir_ ? PrepareRunnerDir(dir) : PrepareAgentDir(dir);
      if (!status.ok()) {
        fprintf(stderr, "%s\n", std::string(status.message()).c_str());
        return false;
      }
    }
    return true;
  }
  return false;
}

bool Validator::StartContainer() {
  const std::string session_token = RandomHex(32);
  secrets_ = {
      {"HOST_SECRET", RandomHex(16)},
      {"SESSION_TOKEN", session_token},
      {"SESSION_ID", absl::StrCat("validate-", RandomHex(8))},
      {"CONTROL_PLANE_URL", absl::StrCat("http://control-plane.invalid/", RandomHex(8))},
  };
  // Like a secret in a worker's own environment: the container must not get it.
  setenv("HOST_SECRET", secrets_["HOST_SECRET"].c_str(), 1);

  ContainerSpec spec;
  spec.image = options_.image;
  spec.name = absl::StrCat("sagewai-validate-", RandomHex(4));
  spec.runtime = options_.runtime;
  spec.workspace_dir = workspace_dir_;
  spec.socket_dir = socket_dir_;
  spec.env_names = {"SESSION_TOKEN", "SESSION_ID", "CONTROL_PLANE_URL"};
  spec.labels = {"org.sagewai.validate=1"};
  std::vector<std::string> env;
  for (const std::string& name : spec.env_names) {
    env.push_back(absl::StrCat(name, "=", secrets_[name]));
  }
  Launch launch = LaunchContainer(docker_, spec, env);
  if (launch.error) {
    Fail({absl::StrCat("container starts: ", launch.error->what), launch.error->remedy});
    // A container may exist even though docker run failed (e.g. start error).
    container_ = spec.name;
    return false;
  }
  container_ = launch.container;

  Token token;
  token.value = session_token;
  token.source = "the container's SESSION_TOKEN";
  absl::StatusOr<Address> address =
      ParseAddress(absl::StrCat("unix://", socket_dir_, "/", kSocketName));
  connection_ = std::make_unique<Connection>(*address, token);

  WaitForRunner();
  if (Interrupted()) return false;
  absl::StatusOr<Docker::State> state = docker_.InspectState(container_);
  if (state.ok() && !state->running) {
    Fail(
        {absl::StrCat("container starts: it exited with code ", state->exit_code,
                      state->error.empty() ? "" : absl::StrCat(" (", state->error, ")")),
         absl::StrCat("PID 1 must keep running: ENTRYPOINT [\"/usr/local/bin/sagewai-entrypoint\"] "
                      "with CMD [\"sagewai-tool-runner\", \"serve\"], on a read-only root with a "
                      "noexec /tmp as in production; re-inherit from ghcr.io/sagewai/sandbox-base "
                      "and don't override its ENTRYPOINT or CMD")},
        ContainerLogs());
    return false;
  }
  Pass("container starts");
  return true;
}

void Validator::WaitForRunner() {
  Readiness readiness =
      WaitForServing(docker_, container_, absl::StrCat(socket_dir_, "/", kSocketName),
                     options_.start_timeout, &g_interrupted, options_.runtime);
  serving_ = readiness.serving;
  if (readiness.error) not_serving_reason_ = readiness.error->what;
}

std::string Validator::ContainerLogs() {
  std::string text = ContainerLogTail(docker_, container_, 20);
  return text.empty() ? "" : absl::StrCat("  container log (last lines):\n", text);
}

void Validator::CheckVersion() {
  absl::StatusOr<ProcessResult> r =
      docker_.Run({"exec", container_, "sagewai-tool-runner", "--version"}, kToolTimeout);
  if (!r.ok()) {
    Fail({absl::StrCat("sagewai-tool-runner --version: ", r.status().message()), ""});
    return;
  }
  // Docker prints the OCI runtime's exec error on stdout or stderr,
  // depending on its version.
  if (r->exit_code != 0 && IsNotFoundInPath(r->exit_code, r->out + r->err)) {
    Fail({"sagewai-tool-runner not found in PATH",
          "this usually means /usr/local/bin was stripped from the image; re-inherit from "
          "ghcr.io/sagewai/sandbox-base and retry"});
    return;
  }
  std::optional<std::string> version = ParseVersionOutput(r->out);
  if (r->exit_code != 0 || !version) {
    Fail({absl::StrCat("sagewai-tool-runner --version failed (exit ", r->exit_code, ")"),
          "the image's sagewai-tool-runner does not work; re-inherit from "
          "ghcr.io/sagewai/sandbox-base and retry"},
         Indent(r->out + r->err, 5));
    return;
  }
  if (std::optional<CheckFailure> failure = CheckRunnerVersion(*version)) {
    Fail(*failure);
    return;
  }
  Pass(absl::StrCat("sagewai-tool-runner --version → ", *version, " (compatible)"));
}

grpc::Status Validator::RunTool(const std::string& command, pb::BashResult* result) {
  auto stub = pb::Bash::NewStub(connection_->channel());
  auto context = connection_->NewContext(kToolTimeout + absl::Seconds(10));
  pb::BashRequest request;
  request.set_command(command);
  request.set_timeout_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(kToolTimeout)));
  return stub->Run(context.get(), request, result);
}

void Validator::CheckEcho() {
  if (!serving_ && !options_.runtime.empty()) {
    Fail({absl::StrCat("bash echo round-trip: the runner is not serving (", not_serving_reason_,
                       ")"),
          absl::StrCat("under --runtime ", options_.runtime,
                       " the host must be able to connect to a unix socket made in the "
                       "container: for gVisor, add \"--host-uds=all\" to runsc's runtimeArgs in "
                       "/etc/docker/daemon.json; or check without --runtime first")},
         ContainerLogs());
    return;
  }
  if (!serving_) {
    Fail({absl::StrCat("bash echo round-trip: the runner is not serving (", not_serving_reason_,
                       ")"),
          "the image must run `sagewai-tool-runner serve` under sagewai-entrypoint (what "
          "sandbox-base's ENTRYPOINT and CMD do); re-inherit from ghcr.io/sagewai/sandbox-base "
          "and don't override them"},
         ContainerLogs());
    return;
  }
  const std::string nonce = RandomHex(8);
  pb::BashResult result;
  const absl::Time start = absl::Now();
  grpc::Status status = RunTool(absl::StrCat("echo sagewai-validate-", nonce), &result);
  const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  if (status.error_code() == grpc::UNAUTHENTICATED) {
    Fail({"bash echo round-trip: the runner rejected the container's SESSION_TOKEN",
          "sagewai-entrypoint must hand SESSION_TOKEN to the runner; keep sandbox-base's "
          "ENTRYPOINT and don't strip SESSION_TOKEN before it runs"});
    return;
  }
  if (!status.ok()) {
    Fail({absl::StrCat("bash echo round-trip: ", connection_->Describe(status, "Bash.Run").message),
          "see the runner's log: docker logs <container> (run again with --keep)"});
    return;
  }
  const std::string expected = absl::StrCat("sagewai-validate-", nonce, "\n");
  if (result.exit_code() != 0 || result.stdout() != expected) {
    Fail(
        {absl::StrCat("bash echo round-trip: `echo` exited ", result.exit_code(), " and printed \"",
                      absl::StripTrailingAsciiWhitespace(result.stdout()), "\""),
         "the image needs a working /bin/bash (or /bin/sh)"},
        Indent(result.stderr(), 5));
    return;
  }
  Pass(absl::StrCat("bash echo round-trip → ", FormatRoundTrip(ms)));
}

void Validator::CheckWorkspace() {
  const std::string what = "/workspace writable";
  if (!serving_) return Skip(what, "needs the runner");
  const std::string nonce = RandomHex(8);
  const std::string name = absl::StrCat(".sagewai-validate-", nonce);
  pb::BashResult result;
  grpc::Status status = RunTool(absl::StrCat("printf %s ", nonce, " > /workspace/", name), &result);
  if (!status.ok()) {
    Fail({absl::StrCat(what, ": ", connection_->Describe(status, "Bash.Run").message), ""});
    return;
  }
  if (result.exit_code() != 0) {
    Fail({absl::StrCat(what, ": a tool could not write to /workspace (exit ", result.exit_code(),
                       ")"),
          "leave /workspace writable for the agent user (uid 1000): keep WORKDIR /workspace, "
          "don't chown or chmod it, don't mount over it"},
         Indent(result.stderr(), 5));
    return;
  }
  const std::string host_path = absl::StrCat(workspace_dir_, "/", name);
  std::ifstream in(host_path);
  std::stringstream content;
  content << in.rdbuf();
  std::filesystem::remove(host_path);
  if (content.str() != nonce) {
    Fail({absl::StrCat(what,
                       ": a file written to /workspace did not reach the mounted "
                       "scratch directory"),
          "/workspace must be the directory the worker mounts: don't redirect it with a "
          "symlink or a different WORKDIR"});
    return;
  }
  Pass(what);
}

void Validator::CheckEnvScrub() {
  const std::string what = "env scrub";
  if (!serving_) return Skip(what, "needs the runner");
  pb::BashResult result;
  grpc::Status status = RunTool(EnvProbeScript(), &result);
  if (!status.ok()) {
    Fail({absl::StrCat(what, ": ", connection_->Describe(status, "Bash.Run").message), ""});
    return;
  }
  std::map<std::string, std::vector<std::string>> leaks =
      FindLeakedSecrets(SplitProbeSections(result.stdout()), secrets_);
  if (leaks.empty()) {
    Pass("env scrub: HOST_SECRET not visible");
    return;
  }
  for (const auto& [name, sections] : leaks) {
    std::string remedy =
        name == "HOST_SECRET"
            ? "the host's environment reaches the sandbox: don't pass the worker's environment "
              "into the container (no bare -e NAME, no --env-file of the host's environment)"
            : "sagewai-entrypoint must be PID 1: it strips SESSION_TOKEN, SESSION_ID and "
              "CONTROL_PLANE_URL (and overwrites /proc/1/environ) before any tool runs; "
              "re-inherit from ghcr.io/sagewai/sandbox-base and don't override its ENTRYPOINT";
    Fail({absl::StrCat("env scrub: ", name, " visible to tools (in ", DescribeSections(sections),
                       ")"),
          remedy});
  }
}

void Validator::CheckPid1() {
  const std::string what = "PID 1 is sagewai-entrypoint";
  if (!serving_) return Skip(what, "needs the runner");
  pb::BashResult result;
  grpc::Status status = RunTool("cat /proc/1/cmdline", &result);
  if (!status.ok() || result.exit_code() != 0) {
    Fail({absl::StrCat(what, ": cannot read /proc/1/cmdline",
                       status.ok() ? "" : absl::StrCat(": ", status.error_message())),
          ""},
         Indent(result.stderr(), 5));
    return;
  }
  if (std::optional<CheckFailure> failure = cli::CheckPid1(result.stdout())) {
    Fail(*failure);
    return;
  }
  Pass(what);
}

void Validator::CheckUnprivileged() {
  const std::string what = "tools run unprivileged";
  if (!serving_) return Skip(what, "needs the runner");
  pb::BashResult result;
  grpc::Status status = RunTool("cat /proc/self/status", &result);
  if (!status.ok() || result.exit_code() != 0) {
    Fail({absl::StrCat(what, ": cannot read /proc/self/status",
                       status.ok() ? "" : absl::StrCat(": ", status.error_message())),
          ""},
         Indent(result.stderr(), 5));
    return;
  }
  ProcStatus proc = ParseProcStatus(result.stdout());
  if (std::optional<CheckFailure> failure = cli::CheckUnprivileged(proc)) {
    Fail(*failure);
    return;
  }
  Pass(absl::StrCat(what, " (uid ", proc.uid, ", CapEff 0, NoNewPrivs 1)"));
}

void Validator::CheckSharedUid() {
  if (!serving_) return;
  auto stub = pb::Runner::NewStub(connection_->channel());
  auto context = connection_->NewContext(kToolTimeout);
  pb::GetInfoResponse info;
  grpc::Status status = stub->GetInfo(context.get(), {}, &info);
  if (!status.ok()) {
    get_info_error_ = connection_->Describe(status, "Runner.GetInfo").message;
    return;
  }
  runner_pid_ = info.pid();
  if (std::optional<std::string> warning =
          SharedUidWarning(info.tools_share_runner_uid(), info.identity_note())) {
    Warn(*warning);
  }
}

void Validator::CheckSignalRunner() {
  const std::string what = "a tool cannot signal the runner";
  if (!serving_) return Skip(what, "needs the runner");
  if (runner_pid_ <= 0) {
    Fail({absl::StrCat(what, ": GetInfo did not say the runner's pid",
                       get_info_error_.empty() ? "" : absl::StrCat(" (", get_info_error_, ")")),
          "use the sagewai-tool-runner of ghcr.io/sagewai/sandbox-base"});
    return;
  }
  pb::BashResult result;
  grpc::Status status = RunTool(SignalProbeScript(runner_pid_), &result);
  if (!status.ok()) {
    Fail({absl::StrCat(what, ": ", connection_->Describe(status, "Bash.Run").message), ""});
    return;
  }
  if (std::optional<CheckFailure> failure = cli::CheckSignalRunner(runner_pid_, result.stdout())) {
    Fail(*failure);
    return;
  }
  Pass(absl::StrCat(what, " (kill -0 → EPERM)"));
}

void Validator::CheckSocketReplace() {
  const std::string what = "a tool cannot replace the runner's socket";
  if (!serving_) return Skip(what, "needs the runner");
  pb::BashResult result;
  grpc::Status status = RunTool(SocketReplaceProbeScript(RandomHex(8)), &result);
  if (!status.ok()) {
    Fail({absl::StrCat(what, ": ", connection_->Describe(status, "Bash.Run").message), ""});
    return;
  }
  if (std::optional<CheckFailure> failure = cli::CheckSocketReplace(result.stdout())) {
    Fail(*failure, Indent(result.stdout(), 6));
    return;
  }
  Pass(absl::StrCat(what, " (unlink, rename → refused)"));
}

void Validator::CheckStdio() {
  const std::string what = "stdio protocol";
  const std::string remedy =
      "`docker exec -i CID sagewai-tool-runner` must answer JSON-RPC lines (the existing worker's "
      "path); use the sagewai-tool-runner of ghcr.io/sagewai/sandbox-base";
  const std::string requests =
      R"({"jsonrpc":"2.0","id":1,"method":"exec","params":{"tool":"bash","args":{"command":"echo ok"},"call_id":"v1","timeout_s":10}})"
      "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"exec","params":{"tool":"bash","args":{"command":"export -p; cat /proc/1/environ 2>/dev/null; echo; echo @@uid; id -u"},"call_id":"v2","timeout_s":10}})"
      "\n";
  absl::StatusOr<ProcessResult> r =
      docker_.Run({"exec", "-i", container_, "sagewai-tool-runner"}, kToolTimeout, requests);
  if (!r.ok()) {
    Fail({absl::StrCat(what, ": ", r.status().message()), remedy});
    return;
  }
  if (r->timed_out) {
    Fail({absl::StrCat(what, ": no answer within ", absl::ToInt64Seconds(kToolTimeout),
                       " s (the runner must answer each line at once and exit at EOF)"),
          remedy});
    return;
  }
  if (r->exit_code != 0 && IsNotFoundInPath(r->exit_code, r->out + r->err)) {
    Fail({absl::StrCat(what, ": sagewai-tool-runner not found in PATH"),
          "this usually means /usr/local/bin was stripped from the image; re-inherit from "
          "ghcr.io/sagewai/sandbox-base and retry"});
    return;
  }
  std::vector<std::string> lines = absl::StrSplit(r->out, '\n', absl::SkipWhitespace());
  if (lines.size() < 2) {
    Fail({absl::StrCat(what, ": expected 2 response lines, got ", lines.size(), " (exit ",
                       r->exit_code, ")"),
          remedy},
         Indent(r->err, 5));
    return;
  }
  StdioResponse echo = ParseStdioResponse(lines[0]);
  if (!echo.error.empty() || !echo.ok || echo.stdout_text != "ok\n" || !echo.has_id ||
      echo.id != 1) {
    Fail({absl::StrCat(what, ": `echo ok` answered ",
                       echo.error.empty() ? lines[0].substr(0, 200) : echo.error),
          remedy});
    return;
  }
  StdioResponse env = ParseStdioResponse(lines[1]);
  if (!env.error.empty()) {
    Fail({absl::StrCat(what, ": the environment probe failed: ", env.error), remedy});
    return;
  }
  for (const auto& [name, value] : secrets_) {
    if (absl::StrContains(env.stdout_text, value)) {
      Fail({absl::StrCat(what, ": a tool run through docker exec sees ", name),
            "docker exec gets the container's create-time environment: the runner's stdio mode "
            "must strip SESSION_TOKEN, SESSION_ID and CONTROL_PLANE_URL itself; use the "
            "sagewai-tool-runner of ghcr.io/sagewai/sandbox-base"});
      return;
    }
  }
  const size_t uid_at = env.stdout_text.rfind("@@uid\n");
  const std::string uid =
      uid_at == std::string::npos
          ? ""
          : std::string(absl::StripAsciiWhitespace(env.stdout_text.substr(uid_at + 6)));
  if (uid == "0") {
    Fail({absl::StrCat(what, ": tools run through docker exec run as root"),
          "the runner's stdio mode must drop to the agent user (uid 1000) as the entrypoint "
          "does; the image needs user `agent`; use the sagewai-tool-runner of sandbox-base"});
    return;
  }
  Pass(absl::StrCat(what, " (docker exec -i … sagewai-tool-runner) → ok in ",
                    absl::ToInt64Milliseconds(r->elapsed), " ms"));
}

void Validator::CheckStop() {
  if (options_.keep) {
    Skip("docker stop", "--keep leaves the container running");
    return;
  }
  absl::StatusOr<ProcessResult> r = docker_.Run({"stop", container_}, absl::Seconds(60));
  if (!r.ok() || r->exit_code != 0) {
    Fail({absl::StrCat("docker stop failed: ",
                       r.ok() ? DockerErrorLine(r->err) : std::string(r.status().message())),
          ""});
    return;
  }
  const std::string took = absl::StrFormat("%.1f s", absl::ToDoubleSeconds(r->elapsed));
  if (r->elapsed >= kStopLimit) {
    // 137: docker's grace ran out and it sent SIGKILL, so PID 1 ignored
    // SIGTERM. Anything else: it reacted, but too slowly.
    absl::StatusOr<Docker::State> state = docker_.InspectState(container_);
    if (state.ok() && state->exit_code == 128 + SIGKILL) {
      Fail({absl::StrCat("docker stop took ", took, " (limit 2 s): PID 1 ignored SIGTERM"),
            "PID 1 must end the container on SIGTERM: keep ENTRYPOINT "
            "[\"/usr/local/bin/sagewai-entrypoint\"] (a shell-form ENTRYPOINT or CMD swallows "
            "SIGTERM); re-inherit from ghcr.io/sagewai/sandbox-base"});
    } else {
      Fail({absl::StrCat("docker stop took ", took,
                         " (limit 2 s): the container exited on SIGTERM, but slowly (exit ",
                         state.ok() ? absl::StrCat(state->exit_code) : "unknown",
                         ", a client still connected to the runner)"),
            "on SIGTERM sagewai-tool-runner must end its calls and exit at once, even with "
            "clients connected; use the sagewai-tool-runner of ghcr.io/sagewai/sandbox-base"});
    }
    return;
  }
  Pass(absl::StrCat("docker stop → ", took));
}

void Validator::Cleanup() {
  if (cleaned_) return;
  cleaned_ = true;
  connection_.reset();
  if (options_.keep) {
    if (!container_.empty() || !base_dir_.empty()) {
      fprintf(stderr, "kept: container %s, directory %s (socket %s/%s)\n",
              container_.empty() ? "-" : container_.substr(0, 12).c_str(),
              base_dir_.empty() ? "-" : base_dir_.c_str(), socket_dir_.c_str(), kSocketName);
    }
    return;
  }
  if (!container_.empty()) docker_.ForceRemove(container_);
  if (!base_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(base_dir_, ec);
    if (ec) {
      fprintf(stderr, "warning: could not remove %s: %s\n", base_dir_.c_str(),
              ec.message().c_str());
    }
  }
}

int Validator::Finish() {
  if (Interrupted()) {
    printf("INTERRUPTED — cleaning up\n");
    fflush(stdout);
    Cleanup();
    return 130;
  }
  Cleanup();
  if (failed_ == 0) {
    printf("PASS — image is compatible with this SDK\n");
  } else {
    printf("FAIL — %d check%s failed; see the ✗ lines above\n", failed_, failed_ == 1 ? "" : "s");
  }
  fflush(stdout);
  return failed_ == 0 ? kExitOk : kExitCheckFailed;
}

int Validator::Run() {
  absl::StatusOr<std::string> docker_path = FindInPath(options_.docker);
  if (!docker_path.ok()) {
    printf("✗ docker: %s\n  → install the Docker CLI and engine, or pass --docker PATH\n",
           std::string(docker_path.status().message()).c_str());
    return kExitUnavailable;
  }
  absl::StatusOr<std::string> server = docker_.ServerVersion();
  if (!server.ok()) {
    printf("✗ docker: %s\n  → start the Docker daemon (or set DOCKER_HOST) and retry\n",
           std::string(server.status().message()).c_str());
    return Interrupted() ? 130 : kExitUnavailable;
  }
  if (!CheckImage() || Interrupted()) return Finish();
  if (!MakeDirectories()) {
    fprintf(stderr, "cannot make temporary directories for the container (set TMPDIR)\n");
    Cleanup();
    return kExitIoErr;
  }
  if (!StartContainer() || Interrupted()) return Finish();
  const std::vector<void (Validator::*)()> checks = {
      &Validator::CheckVersion,
      &Validator::CheckEcho,
      &Validator::CheckWorkspace,
      &Validator::CheckEnvScrub,
      &Validator::CheckPid1,
      &Validator::CheckUnprivileged,
      // Signal before socket: a socket check that fails may leave the
      // socket replaced (the channel already open keeps working).
      &Validator::CheckSharedUid,
      &Validator::CheckSignalRunner,
      &Validator::CheckSocketReplace,
      &Validator::CheckStdio,
      &Validator::CheckStop,
  };
  for (auto check : checks) {
    if (Interrupted()) break;
    (this->*check)();
  }
  return Finish();
}

}  // namespace

int RunValidateCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> kSpecs = {{"runtime", true},
                                               {"keep", false},
                                               {"docker", true},
                                               {"start-timeout", true},
                                               {"help", false, 'h'}};
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, kSpecs, PositionalMode::kInterleaved);
  if (parsed.ok() && !parsed->Has("help")) {
    if (parsed->positionals.size() != 1) {
      parsed = absl::InvalidArgumentError(parsed->positionals.empty() ? "no IMAGE given"
                                                                      : "give exactly one IMAGE");
    } else if (parsed->positionals[0].empty() || parsed->positionals[0][0] == '-') {
      parsed = absl::InvalidArgumentError(
          absl::StrCat("\"", parsed->positionals[0], "\" is not an image reference"));
    } else if (std::optional<std::string> rt = parsed->Last("runtime");
               rt && (rt->empty() || (*rt)[0] == '-')) {
      parsed = absl::InvalidArgumentError(absl::StrCat("--runtime \"", *rt, "\" is not a runtime"));
    }
  }
  absl::Duration start_timeout = absl::Seconds(20);
  if (parsed.ok()) {
    if (std::optional<std::string> t = parsed->Last("start-timeout")) {
      double seconds = 0;
      if (!absl::SimpleAtod(*t, &seconds) || !(seconds > 0) || seconds > 3600) {
        parsed = absl::InvalidArgumentError(
            absl::StrCat("--start-timeout ", *t, ": expected seconds (0 < s <= 3600)"));
      } else {
        start_timeout = absl::Milliseconds(static_cast<int64_t>(seconds * 1000));
      }
    }
  }
  if (!parsed.ok()) {
    fprintf(stderr, "sagewai-sandbox validate: %s (see --help)\n",
            std::string(parsed.status().message()).c_str());
    return kExitUsage;
  }
  if (parsed->Has("help")) {
    fputs(kValidateHelp, stdout);
    return kExitOk;
  }
  ValidateOptions options;
  options.image = parsed->positionals[0];
  options.runtime = parsed->Last("runtime").value_or("");
  options.docker = parsed->Last("docker").value_or("docker");
  options.keep = parsed->Has("keep");
  options.start_timeout = start_timeout;
  InstallInterruptHandlers();
  Validator validator(std::move(options));
  return validator.Run();
}

}  // namespace sagewai::cli
