#include "cli/validate_checks.h"

#include <sys/random.h>

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
  if (s.no_new_privs != 1) problems.push_back("no_new_privs is not set");
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

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = getrandom(raw.data() + done, bytes - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) abort();  // the kernel's CSPRNG does not fail once initialized
    done += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string FormatRoundTrip(double ms) {
  if (ms < 10) return absl::StrFormat("%.1f ms", ms);
  return absl::StrFormat("%.0f ms", ms);
}

}  // namespace sagewai::cli
