#include "cli/validate_checks.h"

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/version_spec.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace sagewai::cli {

namespace {

constexpr const char* kReinherit =
    "re-inherit from ghcr.io/sagewai/sandbox-base (FROM sandbox-base, and don't override its "
    "ENTRYPOINT or CMD) and retry";

// What separates the runner from the tools, for the isolation checks.
constexpr const char* kSeparateUids =
    "the runner must not share the tools' uid: the image must create the system user `sagewai` "
    "(uid 900, gid 900) and give it /run/sagewai (install -d -o 900 -g 0 -m 0770 "
    "/run/sagewai), and the container must start as root with SETUID and SETGID (--cap-drop ALL "
    "--cap-add SETUID --cap-add SETGID --cap-add SETPCAP, as start and validate do), not with "
    "--user; ";

// "refused", "ok" or "unknown" for one probe section: the tools' own words
// (coreutils, busybox) for EACCES and EPERM.
std::string Verdict(const std::string& text) {
  if (absl::StrContains(text, "Permission denied") ||
      absl::StrContains(text, "Operation not permitted")) {
    return "refused";
  }
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StripAsciiWhitespace(line) == "ok") return "ok";
  }
  return "unknown";
}

std::string FirstLine(const std::string& text) {
  std::string line(absl::StripAsciiWhitespace(text.substr(0, text.find('\n'))));
  return line.empty() ? "no output" : line;
}

}  // namespace

std::optional<std::string> ParseVersionOutput(const std::string& output) {
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    std::vector<absl::string_view> words =
        absl::StrSplit(absl::StripAsciiWhitespace(line), absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (!words.empty()) return std::string(words.back());
  }
  return std::nullopt;
}

bool IsNotFoundInPath(int exit_code, const std::string& stderr_text) {
  const std::string err = absl::AsciiStrToLower(stderr_text);
  return exit_code == 127 || absl::StrContains(err, "executable file not found") ||
         absl::StrContains(err, "no such file or directory");
}

std::optional<CheckFailure> CheckRunnerVersion(const std::string& version) {
  absl::StatusOr<VersionSpec> spec = VersionSpec::Parse(kToolRunnerVersionSpec);
  absl::StatusOr<Pep440Version> parsed = ParsePep440Version(version);
  if (!parsed.ok()) {
    return CheckFailure{
        absl::StrCat("sagewai-tool-runner --version → \"", version, "\" (not a PEP 440 version)"),
        absl::StrCat("the image's sagewai-tool-runner is not one this SDK knows; ", kReinherit)};
  }
  if (!spec->Contains(*parsed)) {
    return CheckFailure{
        absl::StrCat("sagewai-tool-runner --version → ", version, " (incompatible: this SDK needs ",
                     kToolRunnerVersionSpec,
                     parsed->IsPrerelease() ? ", pre-releases excluded)" : ")"),
        absl::StrCat("rebuild the image FROM a sandbox-base whose sagewai-tool-runner is in ",
                     kToolRunnerVersionSpec, ", or use an SDK that matches this runner")};
  }
  return std::nullopt;
}

const char* EnvProbeScript() {
  return R"(dump() {
  if command -v cat >/dev/null 2>&1; then cat "$1"
  else while IFS= read -r -d '' l || [ -n "$l" ]; do printf '%s\n' "$l"; done < "$1"; fi
}
echo @@env; export -p
echo; echo @@proc1; dump /proc/1/environ 2>&1
echo; echo @@procs; for f in /proc/[0-9]*/environ; do dump "$f" 2>/dev/null; echo; done
exit 0
)";
}

std::map<std::string, std::string> SplitProbeSections(const std::string& output) {
  std::map<std::string, std::string> sections;
  std::string* current = nullptr;
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (absl::StartsWith(line, "@@") && line.size() > 2 &&
        line.find_first_of(" \t=") == absl::string_view::npos) {
      current = &sections[std::string(line.substr(2))];
      continue;
    }
    if (current != nullptr) absl::StrAppend(current, line, "\n");
  }
  return sections;
}

std::map<std::string, std::vector<std::string>> FindLeakedSecrets(
    const std::map<std::string, std::string>& sections,
    const std::map<std::string, std::string>& secrets) {
  std::map<std::string, std::vector<std::string>> leaks;
  for (const auto& [name, value] : secrets) {
    if (value.empty()) continue;
    for (const auto& [section, text] : sections) {
      if (absl::StrContains(text, value)) leaks[name].push_back(section);
    }
  }
  return leaks;
}

std::string DescribeSections(const std::vector<std::string>& sections) {
  std::vector<std::string> names;
  for (const std::string& s : sections) {
    if (s == "env") {
      names.push_back("the tool's environment");
    } else if (s == "proc1") {
      names.push_back("/proc/1/environ");
    } else if (s == "procs") {
      names.push_back("/proc/*/environ");
    } else {
      names.push_back(s);
    }
  }
  return absl::StrJoin(names, ", ");
}

ProcStatus ParseProcStatus(const std::string& text) {
  ProcStatus status;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::vector<absl::string_view> words =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (words.size() < 2) continue;
    // A field that does not parse keeps its failing default.
    int64_t uid = 0;
    uint64_t caps = 0;
    int nnp = 0;
    if (words[0] == "Uid:" && absl::SimpleAtoi(words[1], &uid)) {
      status.uid = uid;
    } else if (words[0] == "CapEff:" && absl::SimpleHexAtoi(words[1], &caps)) {
      status.cap_eff = caps;
    } else if (words[0] == "NoNewPrivs:" && absl::SimpleAtoi(words[1], &nnp)) {
      status.no_new_privs = nnp;
    }
  }
  return status;
}

std::optional<CheckFailure> CheckUnprivileged(const ProcStatus& s) {
  std::vector<std::string> problems;
  if (s.uid < 0) problems.push_back("no Uid in /proc/self/status");
  if (s.uid == 0) problems.push_back("they run as root (uid 0)");
  if (s.cap_eff != 0) {
    problems.push_back(absl::StrFormat("they keep capabilities (CapEff %016x)", s.cap_eff));
  }
  if (s.no_new_privs == -1) {
    problems.push_back(
        "cannot tell whether no_new_privs is set (no NoNewPrivs line in /proc/self/status, as "
        "under gVisor, and no setpriv to ask)");
  } else if (s.no_new_privs != 1) {
    problems.push_back("no_new_privs is not set");
  }
  if (problems.empty()) return std::nullopt;
  return CheckFailure{
      absl::StrCat("tools run unprivileged: ", absl::StrJoin(problems, "; ")),
      absl::StrCat("sagewai-entrypoint must be PID 1 (it drops to the agent user, uid 1000, clears "
                   "capabilities and sets no_new_privs); the image needs user `agent` in "
                   "/etc/passwd; ",
                   kReinherit)};
}

std::string FirstCmdlineArg(const std::string& cmdline) {
  return cmdline.substr(0, cmdline.find('\0'));
}

std::optional<CheckFailure> CheckPid1(const std::string& cmdline) {
  const std::string arg0 = FirstCmdlineArg(cmdline);
  const std::string base =
      arg0.substr(arg0.rfind('/') == std::string::npos ? 0 : arg0.rfind('/') + 1);
  if (base == "sagewai-entrypoint") return std::nullopt;
  return CheckFailure{
      absl::StrCat("PID 1 is ", arg0.empty() ? "unknown" : arg0, ", not sagewai-entrypoint"),
      absl::StrCat("keep ENTRYPOINT [\"/usr/local/bin/sagewai-entrypoint\"]: it reaps zombies, "
                   "forwards signals, strips the control-plane variables and drops privileges; ",
                   kReinherit)};
}

std::string SocketReplaceProbeScript(const std::string& nonce, const std::string& socket_path) {
  const std::string dir = socket_path.substr(0, socket_path.rfind('/') + 1);
  return absl::StrCat("S='", socket_path, "'\nK='", dir, ".sagewai-validate-", nonce, "'\n",
                      R"(ln "$S" "$K" 2>/dev/null
echo @@unlink
rm -f "$S" 2>&1 && ! [ -e "$S" ] && echo ok
[ -e "$S" ] || ln "$K" "$S" 2>/dev/null
echo @@rename
if touch "$K.src" 2>/dev/null; then
  mv -f "$K.src" "$S" 2>&1 && echo ok
else
  mv "$S" "$K.moved" 2>&1 && echo ok && mv "$K.moved" "$S"
fi
if [ -e "$K" ] && ! [ "$K" -ef "$S" ]; then mv -f "$K" "$S"; fi
rm -f "$K" "$K.src" 2>/dev/null
exit 0
)");
}

std::optional<CheckFailure> CheckSocketReplace(const std::string& probe_output) {
  const std::map<std::string, std::string> sections = SplitProbeSections(probe_output);
  std::vector<std::string> problems;
  for (const char* step : {"unlink", "rename"}) {
    auto it = sections.find(step);
    const std::string text = it == sections.end() ? "" : it->second;
    const std::string verdict = Verdict(text);
    if (verdict == "ok") {
      problems.push_back(absl::StrCat(step == std::string("unlink") ? "a tool removed it"
                                                                    : "a tool renamed over it"));
    } else if (verdict == "unknown") {
      problems.push_back(absl::StrCat("the ", step, " attempt neither worked nor was refused (",
                                      it == sections.end() ? "no output" : FirstLine(text), ")"));
    }
  }
  if (problems.empty()) return std::nullopt;
  return CheckFailure{
      absl::StrCat("a tool cannot replace the runner's socket: ", absl::StrJoin(problems, "; "),
                   " — a tool could listen in its place and receive the host's calls"),
      absl::StrCat(kSeparateUids, kReinherit)};
}

std::string SignalProbeScript(int64_t runner_pid) {
  return absl::StrCat("echo @@kill\nkill -0 ", runner_pid, " 2>&1 && echo ok\nexit 0\n");
}

std::optional<CheckFailure> CheckSignalRunner(int64_t runner_pid, const std::string& probe_output) {
  const std::map<std::string, std::string> sections = SplitProbeSections(probe_output);
  auto it = sections.find("kill");
  const std::string text = it == sections.end() ? "" : it->second;
  if (absl::StrContains(text, "Operation not permitted")) return std::nullopt;
  const std::string what = absl::StrCat("a tool cannot signal the runner (pid ", runner_pid, "): ");
  if (Verdict(text) == "ok") {
    return CheckFailure{absl::StrCat(what, "kill -0 succeeded, so a tool can kill it"),
                        absl::StrCat(kSeparateUids, kReinherit)};
  }
  return CheckFailure{absl::StrCat(what, "kill -0 neither worked nor was refused with EPERM (",
                                   FirstLine(text), ")"),
                      absl::StrCat(kSeparateUids, kReinherit)};
}

std::optional<std::string> SharedUidWarning(bool tools_share_runner_uid, const std::string& note) {
  if (!tools_share_runner_uid) return std::nullopt;
  return absl::StrCat(
      "tools share the runner's uid", note.empty() ? "" : absl::StrCat(" (", note, ")"),
      ": a tool can signal the runner and replace its socket; the host's peer check and the "
      "challenge authentication still keep the token from it");
}

StdioResponse ParseStdioResponse(const std::string& line) {
  StdioResponse r;
  google::protobuf::Struct message;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(line, &message, options).ok()) {
    r.error = absl::StrCat("not a JSON object: ", line.substr(0, 200));
    return r;
  }
  r.parsed = true;
  const auto& fields = message.fields();
  if (auto it = fields.find("id"); it != fields.end() && it->second.has_number_value()) {
    r.has_id = true;
    r.id = it->second.number_value();
  }
  if (auto it = fields.find("error"); it != fields.end() && it->second.has_struct_value()) {
    const auto& err = it->second.struct_value().fields();
    auto msg = err.find("message");
    r.error = msg != err.end() ? msg->second.string_value() : "JSON-RPC error";
    return r;
  }
  auto result_it = fields.find("result");
  if (result_it == fields.end() || !result_it->second.has_struct_value()) {
    r.error = "no \"result\" in the response";
    return r;
  }
  const auto& result = result_it->second.struct_value().fields();
  if (auto it = result.find("ok"); it != result.end()) r.ok = it->second.bool_value();
  if (auto it = result.find("exit_code"); it != result.end() && it->second.has_number_value()) {
    r.exit_code = static_cast<int64_t>(it->second.number_value());
  }
  if (auto it = result.find("stdout"); it != result.end())
    r.stdout_text = it->second.string_value();
  if (auto it = result.find("stderr"); it != result.end())
    r.stderr_text = it->second.string_value();
  if (auto it = result.find("error"); it != result.end() && it->second.has_string_value()) {
    r.error = it->second.string_value();
  }
  return r;
}

std::string FormatRoundTrip(double ms) {
  if (ms < 10) return absl::StrFormat("%.1f ms", ms);
  return absl::StrFormat("%.0f ms", ms);
}

}  // namespace sagewai::cli
