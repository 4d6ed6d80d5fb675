// The judgement half of `validate`: turning what an image's runner and tools
// printed into pass/fail and a remedy. No I/O here, so every rule is tested
// on canned output.
#ifndef SAGEWAI_CLI_VALIDATE_CHECKS_H_
#define SAGEWAI_CLI_VALIDATE_CHECKS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/random_hex.h"

namespace sagewai::cli {

// A check that failed: the ✗ line's text and what to do about it.
struct CheckFailure {
  std::string what;
  std::string remedy;
};

// The version word of `sagewai-tool-runner --version` output ("0.1.0", or
// the last word of "sagewai-tool-runner 0.1.0"); nullopt when empty.
std::optional<std::string> ParseVersionOutput(const std::string& output);

// docker exec's way of saying the program is not in PATH.
bool IsNotFoundInPath(int exit_code, const std::string& stderr_text);

// Checks a runner's version text against kToolRunnerVersionSpec: nullopt when
// compatible.
std::optional<CheckFailure> CheckRunnerVersion(const std::string& version);

// Sections of the env-scrub probe's output, each starting with a marker line
// "@@<name>" (see EnvProbeScript()).
std::map<std::string, std::string> SplitProbeSections(const std::string& output);

// The shell script the env-scrub check runs as a tool: prints "@@env" then
// the exported variables, "@@proc1" then /proc/1/environ, "@@procs" then
// every readable /proc/*/environ.
const char* EnvProbeScript();

// For each secret (name -> value) found anywhere in a section's text: the
// names of the sections (env, proc1, procs) it was found in.
std::map<std::string, std::vector<std::string>> FindLeakedSecrets(
    const std::map<std::string, std::string>& sections,
    const std::map<std::string, std::string>& secrets);

// Human description of the sections ("the environment, /proc/1/environ").
std::string DescribeSections(const std::vector<std::string>& sections);

struct ProcStatus {
  int64_t uid = -1;          // real uid (first Uid: field)
  uint64_t cap_eff = ~0ull;  // CapEff bitmask
  int no_new_privs = -1;     // NoNewPrivs
};
// Parses /proc/PID/status text; fields it cannot find keep their defaults.
ProcStatus ParseProcStatus(const std::string& text);
// nullopt when unprivileged: uid != 0, CapEff 0, NoNewPrivs 1.
std::optional<CheckFailure> CheckUnprivileged(const ProcStatus& status);

// argv[0] of a /proc/PID/cmdline (NUL-separated).
std::string FirstCmdlineArg(const std::string& cmdline);
// nullopt when PID 1's argv[0] is sagewai-entrypoint.
std::optional<CheckFailure> CheckPid1(const std::string& cmdline);

// The isolation checks: what a tool may do to the runner. Both probes are
// POSIX sh (busybox will do) run as a tool; sections as in SplitProbeSections.

// Tries, as a tool, to unlink the runner's socket and to rename
// over it (a file made beside it, or the socket itself moved away), printing
// "@@unlink" and "@@rename" each followed by the tools' error text or "ok".
// Whatever it managed is undone through a hard link named with `nonce`
// (made first, where the directory lets a tool make one), so that a failed
// check leaves the runner reachable.
std::string SocketReplaceProbeScript(
    const std::string& nonce, const std::string& socket_path = "/run/sagewai/tool-runner.sock");
// nullopt when both attempts failed with EACCES/EPERM.
std::optional<CheckFailure> CheckSocketReplace(const std::string& probe_output);

// `kill -0 PID` as a tool: "@@kill" then the error text, or "ok".
std::string SignalProbeScript(int64_t runner_pid);
// nullopt when the kill failed with EPERM.
std::optional<CheckFailure> CheckSignalRunner(int64_t runner_pid, const std::string& probe_output);

// The warning line's text when GetInfo says tools share the runner's uid,
// else nullopt.
std::optional<std::string> SharedUidWarning(bool tools_share_runner_uid, const std::string& note);

// One response line of the JSON-RPC stdio protocol.
struct StdioResponse {
  bool parsed = false;
  std::string error;  // parse problem or JSON-RPC error message
  bool has_id = false;
  double id = 0;
  bool ok = false;
  std::optional<int64_t> exit_code;
  std::string stdout_text;
  std::string stderr_text;
};
StdioResponse ParseStdioResponse(const std::string& line);

// "42 ms", or "0.4 ms" below 10 ms.
std::string FormatRoundTrip(double ms);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_VALIDATE_CHECKS_H_
