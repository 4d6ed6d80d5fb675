#include "cli/validate_probes.h"

#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cli/validate_checks.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace sagewai::cli {

namespace pb = sagewai::sandbox::v1;

namespace {

constexpr absl::Duration kStopLimit = absl::Seconds(2);

}  // namespace

void ImageProbes::RunAll() {
  const std::vector<void (ImageProbes::*)()> checks = {
      &ImageProbes::CheckVersion,
      &ImageProbes::CheckEcho,
      &ImageProbes::CheckWorkspace,
      &ImageProbes::CheckEnvScrub,
      &ImageProbes::CheckPid1,
      &ImageProbes::CheckUnprivileged,
      // Signal before socket: a socket check that fails may leave the
      // socket replaced (the channel already open keeps working).
      &ImageProbes::CheckSharedUid,
      &ImageProbes::CheckSignalRunner,
      &ImageProbes::CheckSocketReplace,
      &ImageProbes::CheckStdio,
      &ImageProbes::CheckStop,
  };
  for (auto check : checks) {
    if (interrupted_ != nullptr && interrupted_->load()) break;
    (this->*check)();
  }
}

void ImageProbes::CheckVersion() {
  absl::StatusOr<ProcessResult> r = docker_.Run(
      {"exec", container_.id(), "sagewai-tool-runner", "--version"}, kValidateToolTimeout);
  if (!r.ok()) {
    report_.Fail({absl::StrCat("sagewai-tool-runner --version: ", r.status().message()), ""});
    return;
  }
  // Docker prints the OCI runtime's exec error on stdout or stderr,
  // depending on its version.
  if (r->exit_code != 0 && IsNotFoundInPath(r->exit_code, r->out + r->err)) {
    report_.Fail({"sagewai-tool-runner not found in PATH",
                  "this usually means /usr/local/bin was stripped from the image; re-inherit from "
                  "ghcr.io/sagewai/sandbox-base and retry"});
    return;
  }
  std::optional<std::string> version = ParseVersionOutput(r->out);
  if (r->exit_code != 0 || !version) {
    report_.Fail({absl::StrCat("sagewai-tool-runner --version failed (exit ", r->exit_code, ")"),
                  "the image's sagewai-tool-runner does not work; re-inherit from "
                  "ghcr.io/sagewai/sandbox-base and retry"},
                 IndentTail(r->out + r->err, 5));
    return;
  }
  if (std::optional<CheckFailure> failure = CheckRunnerVersion(*version)) {
    report_.Fail(*failure);
    return;
  }
  report_.Pass(absl::StrCat("sagewai-tool-runner --version → ", *version, " (compatible)"));
}

void ImageProbes::CheckEcho() {
  if (!container_.serving() && !options_.runtime.empty()) {
    report_.Fail(
        {absl::StrCat("bash echo round-trip: the runner is not serving (",
                      container_.not_serving_reason(), ")"),
         absl::StrCat("under --runtime ", options_.runtime,
                      " the host must be able to connect to a unix socket made in the "
                      "container: for gVisor, add \"--host-uds=all\" to runsc's runtimeArgs in "
                      "/etc/docker/daemon.json; or check without --runtime first")},
        container_.Logs());
    return;
  }
  if (!container_.serving()) {
    report_.Fail(
        {absl::StrCat("bash echo round-trip: the runner is not serving (",
                      container_.not_serving_reason(), ")"),
         "the image must run `sagewai-tool-runner serve` under sagewai-entrypoint (what "
         "sandbox-base's ENTRYPOINT and CMD do); re-inherit from ghcr.io/sagewai/sandbox-base "
         "and don't override them"},
        container_.Logs());
    return;
  }
  const std::string nonce = RandomHex(8);
  pb::BashResult result;
  const absl::Time start = absl::Now();
  grpc::Status status = container_.RunTool(absl::StrCat("echo sagewai-validate-", nonce), &result);
  const double ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  if (status.error_code() == grpc::UNAUTHENTICATED) {
    report_.Fail({"bash echo round-trip: the runner rejected the container's SESSION_TOKEN",
                  "sagewai-entrypoint must hand SESSION_TOKEN to the runner; keep sandbox-base's "
                  "ENTRYPOINT and don't strip SESSION_TOKEN before it runs"});
    return;
  }
  if (!status.ok()) {
    report_.Fail({absl::StrCat("bash echo round-trip: ",
                               container_.connection().Describe(status, "Bash.Run").message),
                  "see the runner's log: docker logs <container> (run again with --keep)"});
    return;
  }
  const std::string expected = absl::StrCat("sagewai-validate-", nonce, "\n");
  if (result.exit_code() != 0 || result.stdout() != expected) {
    report_.Fail(
        {absl::StrCat("bash echo round-trip: `echo` exited ", result.exit_code(), " and printed \"",
                      absl::StripTrailingAsciiWhitespace(result.stdout()), "\""),
         "the image needs a working /bin/bash (or /bin/sh)"},
        IndentTail(result.stderr(), 5));
    return;
  }
  report_.Pass(absl::StrCat("bash echo round-trip → ", FormatRoundTrip(ms)));
}

void ImageProbes::CheckWorkspace() {
  const std::string what = "/workspace writable";
  if (!container_.serving()) return report_.Skip(what, "needs the runner");
  const std::string nonce = RandomHex(8);
  const std::string name = absl::StrCat(".sagewai-validate-", nonce);
  pb::BashResult result;
  grpc::Status status =
      container_.RunTool(absl::StrCat("printf %s ", nonce, " > /workspace/", name), &result);
  if (!status.ok()) {
    report_.Fail(
        {absl::StrCat(what, ": ", container_.connection().Describe(status, "Bash.Run").message),
         ""});
    return;
  }
  if (result.exit_code() != 0) {
    report_.Fail(
        {absl::StrCat(what, ": a tool could not write to /workspace (exit ", result.exit_code(),
                      ")"),
         "leave /workspace writable for the agent user (uid 1000): keep WORKDIR /workspace, "
         "don't chown or chmod it, don't mount over it"},
        IndentTail(result.stderr(), 5));
    return;
  }
  const std::string host_path = absl::StrCat(container_.workspace_dir(), "/", name);
  std::ifstream in(host_path);
  std::stringstream content;
  content << in.rdbuf();
  std::filesystem::remove(host_path);
  if (content.str() != nonce) {
    report_.Fail({absl::StrCat(what,
                               ": a file written to /workspace did not reach the mounted "
                               "scratch directory"),
                  "/workspace must be the directory the worker mounts: don't redirect it with a "
                  "symlink or a different WORKDIR"});
    return;
  }
  report_.Pass(what);
}

void ImageProbes::CheckEnvScrub() {
  const std::string what = "env scrub";
  if (!container_.serving()) return report_.Skip(what, "needs the runner");
  pb::BashResult result;
  grpc::Status status = container_.RunTool(EnvProbeScript(), &result);
  if (!status.ok()) {
    report_.Fail(
        {absl::StrCat(what, ": ", container_.connection().Describe(status, "Bash.Run").message),
         ""});
    return;
  }
  std::map<std::string, std::vector<std::string>> leaks =
      FindLeakedSecrets(SplitProbeSections(result.stdout()), container_.secrets());
  if (leaks.empty()) {
    report_.Pass("env scrub: HOST_SECRET not visible");
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
    report_.Fail({absl::StrCat("env scrub: ", name, " visible to tools (in ",
                               DescribeSections(sections), ")"),
                  remedy});
  }
}

void ImageProbes::CheckPid1() {
  const std::string what = "PID 1 is sagewai-entrypoint";
  if (!container_.serving()) return report_.Skip(what, "needs the runner");
  pb::BashResult result;
  grpc::Status status = container_.RunTool("cat /proc/1/cmdline", &result);
  if (!status.ok() || result.exit_code() != 0) {
    report_.Fail({absl::StrCat(what, ": cannot read /proc/1/cmdline",
                               status.ok() ? "" : absl::StrCat(": ", status.error_message())),
                  ""},
                 IndentTail(result.stderr(), 5));
    return;
  }
  if (std::optional<CheckFailure> failure = cli::CheckPid1(result.stdout())) {
    report_.Fail(*failure);
    return;
  }
  report_.Pass(what);
}

void ImageProbes::CheckUnprivileged() {
  const std::string what = "tools run unprivileged";
  if (!container_.serving()) return report_.Skip(what, "needs the runner");
  pb::BashResult result;
  // gVisor's status has no NoNewPrivs line: then prctl(2) answers, via setpriv.
  grpc::Status status = container_.RunTool(
      "cat /proc/self/status; grep -q '^NoNewPrivs:' /proc/self/status || "
      "setpriv -d 2>/dev/null | sed -n 's/^no_new_privs: /NoNewPrivs:\t/p'",
      &result);
  if (!status.ok() || result.exit_code() != 0) {
    report_.Fail({absl::StrCat(what, ": cannot read /proc/self/status",
                               status.ok() ? "" : absl::StrCat(": ", status.error_message())),
                  ""},
                 IndentTail(result.stderr(), 5));
    return;
  }
  ProcStatus proc = ParseProcStatus(result.stdout());
  if (std::optional<CheckFailure> failure = cli::CheckUnprivileged(proc)) {
    report_.Fail(*failure);
    return;
  }
  report_.Pass(absl::StrCat(what, " (uid ", proc.uid, ", CapEff 0, NoNewPrivs 1)"));
}

void ImageProbes::CheckSharedUid() {
  if (!container_.serving()) return;
  auto stub = pb::Runner::NewStub(container_.connection().channel());
  auto context = container_.connection().NewContext(kValidateToolTimeout);
  pb::GetInfoResponse info;
  grpc::Status status = stub->GetInfo(context.get(), {}, &info);
  if (!status.ok()) {
    get_info_error_ = container_.connection().Describe(status, "Runner.GetInfo").message;
    return;
  }
  runner_pid_ = info.pid();
  if (std::optional<std::string> warning =
          SharedUidWarning(info.tools_share_runner_uid(), info.identity_note())) {
    report_.Warn(*warning);
  }
}

void ImageProbes::CheckSignalRunner() {
  const std::string what = "a tool cannot signal the runner";
  if (!container_.serving()) return report_.Skip(what, "needs the runner");
  if (runner_pid_ <= 0) {
    report_.Fail(
        {absl::StrCat(what, ": GetInfo did not say the runner's pid",
                      get_info_error_.empty() ? "" : absl::StrCat(" (", get_info_error_, ")")),
         "use the sagewai-tool-runner of ghcr.io/sagewai/sandbox-base"});
    return;
  }
  pb::BashResult result;
  grpc::Status status = container_.RunTool(SignalProbeScript(runner_pid_), &result);
  if (!status.ok()) {
    report_.Fail(
        {absl::StrCat(what, ": ", container_.connection().Describe(status, "Bash.Run").message),
         ""});
    return;
  }
  if (std::optional<CheckFailure> failure = cli::CheckSignalRunner(runner_pid_, result.stdout())) {
    report_.Fail(*failure);
    return;
  }
  report_.Pass(absl::StrCat(what, " (kill -0 → EPERM)"));
}

void ImageProbes::CheckSocketReplace() {
  const std::string what = "a tool cannot replace the runner's socket";
  if (!container_.serving()) return report_.Skip(what, "needs the runner");
  pb::BashResult result;
  grpc::Status status = container_.RunTool(SocketReplaceProbeScript(RandomHex(8)), &result);
  if (!status.ok()) {
    report_.Fail(
        {absl::StrCat(what, ": ", container_.connection().Describe(status, "Bash.Run").message),
         ""});
    return;
  }
  if (std::optional<CheckFailure> failure = cli::CheckSocketReplace(result.stdout())) {
    report_.Fail(*failure, IndentTail(result.stdout(), 6));
    return;
  }
  report_.Pass(absl::StrCat(what, " (unlink, rename → refused)"));
}

void ImageProbes::CheckStdio() {
  const std::string what = "stdio protocol";
  const std::string remedy =
      "`docker exec -i CID sagewai-tool-runner` must answer JSON-RPC lines (the existing worker's "
      "path); use the sagewai-tool-runner of ghcr.io/sagewai/sandbox-base";
  const std::string requests =
      R"({"jsonrpc":"2.0","id":1,"method":"exec","params":{"tool":"bash","args":{"command":"echo ok"},"call_id":"v1","timeout_s":10}})"
      "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"exec","params":{"tool":"bash","args":{"command":"export -p; cat /proc/1/environ 2>/dev/null; echo; echo @@uid; id -u"},"call_id":"v2","timeout_s":10}})"
      "\n";
  absl::StatusOr<ProcessResult> r = docker_.Run(
      {"exec", "-i", container_.id(), "sagewai-tool-runner"}, kValidateToolTimeout, requests);
  if (!r.ok()) {
    report_.Fail({absl::StrCat(what, ": ", r.status().message()), remedy});
    return;
  }
  if (r->timed_out) {
    report_.Fail(
        {absl::StrCat(what, ": no answer within ", absl::ToInt64Seconds(kValidateToolTimeout),
                      " s (the runner must answer each line at once and exit at EOF)"),
         remedy});
    return;
  }
  if (r->exit_code != 0 && IsNotFoundInPath(r->exit_code, r->out + r->err)) {
    report_.Fail({absl::StrCat(what, ": sagewai-tool-runner not found in PATH"),
                  "this usually means /usr/local/bin was stripped from the image; re-inherit from "
                  "ghcr.io/sagewai/sandbox-base and retry"});
    return;
  }
  std::vector<std::string> lines = absl::StrSplit(r->out, '\n', absl::SkipWhitespace());
  if (lines.size() < 2) {
    report_.Fail({absl::StrCat(what, ": expected 2 response lines, got ", lines.size(), " (exit ",
                               r->exit_code, ")"),
                  remedy},
                 IndentTail(r->err, 5));
    return;
  }
  StdioResponse echo = ParseStdioResponse(lines[0]);
  if (!echo.error.empty() || !echo.ok || echo.stdout_text != "ok\n" || !echo.has_id ||
      echo.id != 1) {
    report_.Fail({absl::StrCat(what, ": `echo ok` answered ",
                               echo.error.empty() ? lines[0].substr(0, 200) : echo.error),
                  remedy});
    return;
  }
  StdioResponse env = ParseStdioResponse(lines[1]);
  if (!env.error.empty()) {
    report_.Fail({absl::StrCat(what, ": the environment probe failed: ", env.error), remedy});
    return;
  }
  for (const auto& [name, value] : container_.secrets()) {
    if (absl::StrContains(env.stdout_text, value)) {
      report_.Fail(
          {absl::StrCat(what, ": a tool run through docker exec sees ", name),
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
    report_.Fail(
        {absl::StrCat(what, ": tools run through docker exec run as root"),
         "the runner's stdio mode must drop to the agent user (uid 1000) as the entrypoint "
         "does; the image needs user `agent`; use the sagewai-tool-runner of sandbox-base"});
    return;
  }
  report_.Pass(absl::StrCat(what, " (docker exec -i … sagewai-tool-runner) → ok in ",
                            absl::ToInt64Milliseconds(r->elapsed), " ms"));
}

void ImageProbes::CheckStop() {
  if (options_.keep) {
    report_.Skip("docker stop", "--keep leaves the container running");
    return;
  }
  absl::StatusOr<ProcessResult> r = docker_.Run({"stop", container_.id()}, absl::Seconds(60));
  if (!r.ok() || r->exit_code != 0) {
    report_.Fail({absl::StrCat("docker stop failed: ", r.ok() ? DockerErrorLine(r->err)
                                                              : std::string(r.status().message())),
                  ""});
    return;
  }
  const std::string took = absl::StrFormat("%.1f s", absl::ToDoubleSeconds(r->elapsed));
  if (r->elapsed >= kStopLimit) {
    // 137: docker's grace ran out and it sent SIGKILL, so PID 1 ignored
    // SIGTERM. Anything else: it reacted, but too slowly.
    absl::StatusOr<Docker::State> state = docker_.InspectState(container_.id());
    if (state.ok() && state->exit_code == 128 + SIGKILL) {
      report_.Fail(
          {absl::StrCat("docker stop took ", took, " (limit 2 s): PID 1 ignored SIGTERM"),
           "PID 1 must end the container on SIGTERM: keep ENTRYPOINT "
           "[\"/usr/local/bin/sagewai-entrypoint\"] (a shell-form ENTRYPOINT or CMD swallows "
           "SIGTERM); re-inherit from ghcr.io/sagewai/sandbox-base"});
    } else {
      report_.Fail(
          {absl::StrCat("docker stop took ", took,
                        " (limit 2 s): the container exited on SIGTERM, but slowly (exit ",
                        state.ok() ? absl::StrCat(state->exit_code) : "unknown",
                        ", a client still connected to the runner)"),
           "on SIGTERM sagewai-tool-runner must end its calls and exit at once, even with "
           "clients connected; use the sagewai-tool-runner of ghcr.io/sagewai/sandbox-base"});
    }
    return;
  }
  report_.Pass(absl::StrCat("docker stop → ", took));
}

}  // namespace sagewai::cli
