// sagewai-tool-runner: serves tool calls inside a sandbox container.
//
//   sagewai-tool-runner                 JSON-RPC on stdin/stdout (the existing worker)
//   sagewai-tool-runner serve [...]     gRPC server
//   sagewai-tool-runner health [...]    exit 0 when the server answers SERVING
//   sagewai-tool-runner --version
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/environ_scrub.h"
#include "common/flag_parser.h"
#include "common/log.h"
#include "common/privileges.h"
#include "common/runner_identity.h"
#include "common/secret_handoff.h"
#include "common/token_file.h"
#include "grpc/support/cpu.h"
#include "tool-runner/bash/bash_stdio.h"
#include "tool-runner/code_eval/code_eval_stdio.h"
#include "tool-runner/fs/fs_stdio_tools.h"
#include "tool-runner/server/health_check.h"
#include "tool-runner/server/listen_address.h"
#include "tool-runner/server/server.h"
#include "tool-runner/stdio/stdio_protocol.h"
#include "tool-runner/supervisor/spawn_limits.h"
#include "tool-runner/supervisor/tool_credentials.h"

namespace sagewai {
namespace {

constexpr const char kUsage[] =
    "Usage:\n"
    "  sagewai-tool-runner                     speak the Sagewai JSON-RPC protocol on "
    "stdin/stdout\n"
    "  sagewai-tool-runner serve [options]     serve the gRPC API\n"
    "  sagewai-tool-runner health [--addr ADDR] [--timeout-ms N]\n"
    "                                          exit 0 when the server answers SERVING\n"
    "  sagewai-tool-runner --version | --help\n"
    "\n"
    "serve options:\n"
    "  --listen ADDR              unix:///path.sock or tcp://host:port (repeatable);\n"
    "                             default unix:///run/sagewai/tool-runner.sock\n"
    "  --token-file FILE          session token (default: from the entrypoint, or SESSION_TOKEN)\n"
    "  --workdir DIR              default cwd of calls (default $AGENT_WORKDIR or /workspace)\n"
    "  --max-output-bytes N       output kept per stream of a call (default 1048576)\n"
    "  --max-concurrent-calls N   calls at once before RESOURCE_EXHAUSTED (default: from the\n"
    "                             pids limit, see the README; 1024 without one)\n"
    "  --default-timeout-ms N     timeout of calls that set none (default 60000)\n"
    "  --max-timeout-ms N         largest timeout a call may ask for (default 86400000)\n"
    "  --kill-grace-ms N          SIGTERM-to-SIGKILL grace when a call ends (default 1000)\n"
    "  --pass-env NAME            pass this variable of the runner's environment to tools\n"
    "  --max-contexts N           code-eval contexts alive at once (default 16)\n"
    "  --context-idle-timeout-ms N  delete code-eval contexts idle this long (default\n"
    "                             1800000; 0: never)\n"
    "  --spare-interpreters N     started interpreters kept ready for new contexts and\n"
    "                             one-shot evals (default 2; 0: none)\n"
    "  --keep-identity            do not change uid or capabilities (for a runner started by\n"
    "                             something that already did; tools then share its credentials)\n"
    "  --allow-bearer             also accept plain `authorization: Bearer <token>` from old\n"
    "                             clients (it puts the token on the wire; off by default)\n"
    "\n"
    "Environment: SAGEWAI_LOG_LEVEL (debug|info|warn|error), AGENT_USER (who tools run as),\n"
    "SAGEWAI_RUNNER_USER (who the runner runs as, default sagewai), AGENT_WORKDIR,\n"
    "AGENT_REQUIRE_DROP. Started as root, both modes switch to the runner user and start\n"
    "tools as AGENT_USER.\n";

int UsageError(const std::string& message) {
  std::fprintf(stderr, "sagewai-tool-runner: %s\n\n%s", message.c_str(), kUsage);
  return 2;
}

bool ParseMs(const std::string& text, std::chrono::milliseconds* out) {
  int64_t v;
  if (!absl::SimpleAtoi(text, &v) || v < 0) return false;
  *out = std::chrono::milliseconds(v);
  return true;
}

std::string DefaultWorkdir() {
  const char* w = std::getenv("AGENT_WORKDIR");
  return w != nullptr && *w != '\0' ? w : "/workspace";
}

// Many concurrent calls each hold a few pipes.
void RaiseFdLimit() {
  rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// Every value of flag `name` must be a number (the last one counts).
template <typename T>
bool NumberFlag(const flags::ParsedArgs& parsed, const std::string& name, T* out) {
  for (const std::string& v : parsed.All(name)) {
    if (!absl::SimpleAtoi(v, out)) return false;
  }
  return true;
}

// Without --max-concurrent-calls: as many calls as the pids limit leaves room
// for, one process each, after what is not a call — ours and gRPC's threads
// (gRPC grows its executor to 2 per core and its event-engine pool to one per
// core), PID 1, a `docker exec` health check, and the code-eval interpreters.
void DefaultCallLimit(const ServeOptions& options, RunnerLimits* limits) {
  const std::optional<PidsUsage> pids = TightestPidsLimit();
  if (!pids) return;
  const int64_t reserved = 16 + 3 * int64_t{gpr_cpu_num_cores()} + options.code_eval.max_contexts +
                           static_cast<int64_t>(options.code_eval.max_spares);
  limits->max_concurrent_calls =
      ConcurrentCallsForPidsLimit(pids->max, reserved, limits->max_concurrent_calls);
  log::Info("call limit from the pids limit",
            {{"max_concurrent_calls", static_cast<int64_t>(limits->max_concurrent_calls)},
             {"pids_max", pids->max},
             {"reserved", reserved},
             {"override", "--max-concurrent-calls"}});
}

bool MsFlag(const flags::ParsedArgs& parsed, const std::string& name,
            std::chrono::milliseconds* out) {
  for (const std::string& v : parsed.All(name)) {
    if (!ParseMs(v, out)) return false;
  }
  return true;
}

// Becomes the runner user (or, where the start state cannot separate the
// uids, drops like the entrypoint), records who tools run as, and sets the
// HOME, USER, LOGNAME and PWD tools get, chosen as the tool user. Before any
// thread exists. Returns the work directory.
// With `keep`, nothing changes (tools inherit the runner's credentials).
absl::StatusOr<std::string> TakeRunnerIdentity(bool keep) {
  const AgentOptions options = AgentOptions::FromEnvironment();
  RunnerIdentity identity;
  std::string error;
  if (keep) {
    identity.uid = identity.tool.uid = getuid();
    identity.gid = identity.tool.gid = getgid();
    identity.tool.name = std::to_string(identity.uid);
    identity.note = "started with --keep-identity: tools run with the runner's own credentials";
    if (absl::Status st = InstallToolCredentials(identity); !st.ok()) return st;
    return options.workdir;
  }
  if (!BecomeRunner(options, &identity, &error)) return absl::FailedPreconditionError(error);
  if (absl::Status st = InstallToolCredentials(identity); !st.ok()) return st;
  if (!identity.separated && identity.uid != 0) {
    // (The --cap-drop ALL state has said so already, with its remedy.)
    log::Warn("tools run under the runner's own uid",
              {{"uid", static_cast<int64_t>(identity.uid)}, {"why", identity.note}});
  }
  ScopedToolFileAccess as_tool;
  if (!as_tool.status().ok()) return as_tool.status();
  const std::string home = ChooseHome(identity.tool.home, identity.tool.uid);
  setenv("HOME", home.c_str(), 1);
  setenv("USER", identity.tool.name.c_str(), 1);
  setenv("LOGNAME", identity.tool.name.c_str(), 1);
  const std::string cwd = EnterWorkdir(options.workdir, home);
  setenv("PWD", cwd.c_str(), 1);
  log::Debug("identities", {{"runner_uid", static_cast<int64_t>(identity.uid)},
                            {"tool_uid", static_cast<int64_t>(identity.tool.uid)},
                            {"separated", identity.separated},
                            {"home", home},
                            {"workdir", cwd}});
  return cwd;
}

const std::vector<flags::FlagSpec>& ServeFlags() {
  static const auto* specs = new std::vector<flags::FlagSpec>{
      {"listen", true},
      {"token-file", true},
      {"workdir", true},
      {"pass-env", true},
      {"max-output-bytes", true},
      {"max-concurrent-calls", true},
      {"default-timeout-ms", true},
      {"max-timeout-ms", true},
      {"kill-grace-ms", true},
      {"max-contexts", true},
      {"spare-interpreters", true},
      {"context-idle-timeout-ms", true},
      {"keep-identity", false},
      {"allow-bearer", false},
  };
  return *specs;
}

int ServeMain(const std::vector<std::string>& args) {
  flags::ParsedArgs parsed;
  std::string error;
  if (!flags::ParseFlags(args, ServeFlags(), flags::PositionalMode::kInterleaved, &parsed,
                         &error)) {
    return UsageError(absl::StrCat("serve: ", error));
  }
  if (!parsed.positionals.empty()) {
    return UsageError(absl::StrCat("serve takes no arguments: ", parsed.positionals[0]));
  }
  ServeOptions options;
  options.workdir = parsed.Last("workdir").value_or(DefaultWorkdir());
  options.listen = parsed.All("listen");
  options.pass_env = parsed.All("pass-env");
  options.allow_bearer = parsed.Has("allow-bearer");
  const bool keep_identity = parsed.Has("keep-identity");
  const std::string token_file = parsed.Last("token-file").value_or("");
  RunnerLimits& limits = options.limits;
  if (!NumberFlag(parsed, "max-output-bytes", &limits.max_output_bytes)) {
    return UsageError("--max-output-bytes takes a number");
  }
  if (!NumberFlag(parsed, "max-concurrent-calls", &limits.max_concurrent_calls) ||
      limits.max_concurrent_calls == 0) {
    return UsageError("--max-concurrent-calls takes a positive number");
  }
  if (!MsFlag(parsed, "default-timeout-ms", &limits.default_timeout)) {
    return UsageError("bad --default-timeout-ms");
  }
  if (!MsFlag(parsed, "max-timeout-ms", &limits.max_timeout)) {
    return UsageError("bad --max-timeout-ms");
  }
  if (!MsFlag(parsed, "kill-grace-ms", &limits.kill_grace))
    return UsageError("bad --kill-grace-ms");
  if (!NumberFlag(parsed, "max-contexts", &options.code_eval.max_contexts)) {
    return UsageError("--max-contexts takes a number");
  }
  if (!NumberFlag(parsed, "spare-interpreters", &options.code_eval.max_spares)) {
    return UsageError("--spare-interpreters takes a number");
  }
  if (!MsFlag(parsed, "context-idle-timeout-ms", &options.code_eval.idle_timeout)) {
    return UsageError("bad --context-idle-timeout-ms");
  }
  if (!parsed.Has("max-concurrent-calls")) DefaultCallLimit(options, &limits);

  // The token: --token-file, else the entrypoint's hand-off, else the
  // environment (a runner started without our entrypoint). Either way the
  // control-plane variables leave the environment before any tool runs.
  auto inherited = TakeInheritedSecrets();
  ControlPlaneSecrets from_env = ScrubControlPlaneEnv();
  std::string token;
  if (!token_file.empty()) {
    absl::StatusOr<TokenFromFile> t = ReadTokenFile(token_file);
    if (!t.ok()) {
      log::Error("cannot start", {{"error", std::string(t.status().message())}});
      return 1;
    }
    for (const std::string& w : t->warnings)
      log::Warn(std::string(absl::StripPrefix(w, "warning: ")));
    token = std::move(t->token);
  } else if (inherited.ok() && !inherited->session_token.empty()) {
    token = inherited->session_token;
  } else {
    if (!inherited.ok()) {
      log::Warn("ignoring the secrets hand-off",
                {{"error", std::string(inherited.status().message())}});
    }
    token = from_env.session_token;
  }
  if (inherited.ok()) WipeString(inherited->session_token);
  WipeString(from_env.session_token);

  // The token was read with the privileges the runner started with (a
  // root-only token file works); nothing else is, from here on.
  if (absl::StatusOr<std::string> workdir = TakeRunnerIdentity(keep_identity); !workdir.ok()) {
    log::Error("refusing to run tools", {{"error", std::string(workdir.status().message())}});
    return 1;
  }

  absl::Status st = Serve(options, std::move(token));
  if (!st.ok()) {
    log::Error("cannot serve", {{"error", std::string(st.message())}});
    return 1;
  }
  return 0;
}

// The health check connects as the runner would: a socket without a token is
// 0600 and the runner's. Best effort: without the user or the capabilities
// the check runs as it was started.
void BecomeRunnerUserForHealthCheck() {
  if (geteuid() != 0) return;
  const AgentOptions options = AgentOptions::FromEnvironment();
  std::string passwd, group, error;
  if (!ReadUserDatabases(options, &passwd, &group, &error)) return;
  const char* spec = std::getenv(kRunnerUserEnv);
  ResolvedUser runner;
  if (!ResolveUser(spec != nullptr && *spec != '\0' ? spec : kDefaultRunnerUser, passwd, group,
                   &runner, &error)) {
    return;
  }
  DropOptions drop;
  drop.quiet = true;
  DropResult result;
  DropPrivileges(runner, drop, SystemPrivilegeOps(), &result, &error);
}

int HealthMain(const std::vector<std::string>& args) {
  BecomeRunnerUserForHealthCheck();
  static const auto* specs = new std::vector<flags::FlagSpec>{{"addr", true}, {"timeout-ms", true}};
  flags::ParsedArgs parsed;
  std::string error;
  if (!flags::ParseFlags(args, *specs, flags::PositionalMode::kInterleaved, &parsed, &error)) {
    return UsageError(absl::StrCat("health: ", error));
  }
  if (!parsed.positionals.empty()) {
    return UsageError(absl::StrCat("health takes no arguments: ", parsed.positionals[0]));
  }
  std::vector<std::string> addrs = parsed.All("addr");
  std::chrono::milliseconds timeout{2000};
  if (!MsFlag(parsed, "timeout-ms", &timeout)) return UsageError("bad --timeout-ms");
  if (addrs.empty()) {
    addrs = {absl::StrCat("unix://", kDefaultSocketPath),
             absl::StrCat("unix://", kFallbackSocketPath)};
  }
  std::string last_error;
  for (const std::string& addr : addrs) {
    absl::Status st = CheckHealth(addr, timeout);
    if (st.ok()) return 0;
    last_error = std::string(st.message());
  }
  std::fprintf(stderr, "sagewai-tool-runner health: %s\n", last_error.c_str());
  return 1;
}

int StdioMain() {
  log::Init("tool-runner", log::Level::kWarn);
  // `docker exec` starts us with the container's create-time environment and
  // as whatever user it was told: repeat what the entrypoint does.
  ControlPlaneSecrets secrets = ScrubControlPlaneEnv();
  WipeString(secrets.session_token);
  absl::StatusOr<std::string> workdir = TakeRunnerIdentity(/*keep=*/false);
  if (!workdir.ok()) {
    log::Error("refusing to run tools", {{"error", std::string(workdir.status().message())}});
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  auto supervisor = Supervisor::Start(SupervisorOptions{});
  if (!supervisor.ok()) {
    log::Error("cannot start", {{"error", std::string(supervisor.status().message())}});
    return 1;
  }
  // The fs.* tools run on this thread, as the tool user (after the
  // supervisor's thread has started with the runner's own credentials).
  if (absl::Status st = ActAsToolForFiles(); !st.ok()) {
    log::Error("cannot start", {{"error", std::string(st.message())}});
    return 1;
  }
  stdio::Dispatcher dispatcher;
  StdioToolOptions tool_options;
  tool_options.workdir = workdir->empty() ? DefaultWorkdir() : *workdir;
  RegisterBashTool(dispatcher, **supervisor, tool_options);
  RegisterFsTools(dispatcher, tool_options);
  code_eval::CodeEvalManager code_eval_manager(**supervisor, code_eval::CodeEvalOptions{});
  RegisterCodeEvalTool(dispatcher, code_eval_manager, tool_options);
  absl::Status st = stdio::ServeStdio(dispatcher, STDIN_FILENO, STDOUT_FILENO);
  (*supervisor)->Shutdown(std::chrono::milliseconds(200));
  if (!st.ok()) {
    log::Error("stdio protocol stopped", {{"error", std::string(st.message())}});
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace sagewai

int main(int argc, char** argv) {
  using namespace sagewai;
  // Nothing of this process (the token it holds) may be read through
  // /proc/PID/mem or a core dump by the tools it runs as the same user.
  prctl(PR_SET_DUMPABLE, 0);
  RaiseFdLimit();
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) return StdioMain();
  const std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "--version" || cmd == "version") {
    std::printf("%s\n", SAGEWAI_VERSION);
    return 0;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (cmd == "serve") {
    log::Init("tool-runner", log::Level::kInfo);
    return ServeMain(args);
  }
  if (cmd == "health") {
    log::Init("tool-runner", log::Level::kError);
    return HealthMain(args);
  }
  return UsageError(absl::StrCat("unknown command: ", cmd));
}
