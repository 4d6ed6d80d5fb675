#include "cli/sandbox_options.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/environ_scrub.h"

namespace sagewai::cli {

const char kStartOptionsHelp[] =
    R"(  --image IMG        the sandbox image (default: sandbox-base:)" SAGEWAI_VERSION R"(); pulled
                     when not present locally
  --network MODE     none (default) or bridge
  --cpu N            CPUs, fractions allowed (default 1)
  --mem SIZE         memory limit, e.g. 512m, 4g (default 1g)
  --pids N           process/thread limit (default 256; 4096 under a runsc*
                     runtime, whose own host threads count against it)
  --disk SIZE        /workspace is a tmpfs of SIZE: writing past it fails with
                     ENOSPC (not with --workspace; the tmpfs counts against
                     --mem)
  --runtime R        OCI runtime, e.g. runsc (see `doctor` for what is there)
  --project ID       sagewai.project_id label
  --run ID           sagewai.run_id label
  --env K=V          a variable for the container and its tools (repeatable;
                     --env K copies K from here); values are passed by name,
                     never in argv; the runner is started with --pass-env K
  --workspace DIR    mount this host directory at /workspace (default: a
                     fresh directory in the sandbox's state directory)
  --start-timeout S  how long the runner may take to serve (default 30)
  --docker PATH      the docker CLI (default: docker in PATH)
)";

namespace {

bool IsEnvName(absl::string_view name) {
  if (name.empty() || absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (c != '_' && !absl::ascii_isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

}  // namespace

std::vector<FlagSpec> StartFlagSpecs() {
  return {{"image", true}, {"network", true}, {"cpu", true},       {"mem", true},
          {"pids", true},  {"disk", true},    {"runtime", true},   {"project", true},
          {"run", true},   {"env", true},     {"workspace", true}, {"start-timeout", true},
          {"docker", true}};
}

absl::StatusOr<int64_t> ParseSize(absl::string_view text) {
  const std::string original(text);
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", original, "\" is not a size: use a number with k, m, g or t, e.g. 512m or 10g"));
  };
  std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (absl::EndsWith(s, "ib")) {
    s.resize(s.size() - 2);
  } else if (s.size() > 1 && s.back() == 'b' && !absl::ascii_isdigit(s[s.size() - 2])) {
    s.pop_back();
  } else if (!s.empty() && s.back() == 'b') {
    s.pop_back();
  }
  if (s.empty()) return bad();
  double scale = 1;
  switch (s.back()) {
    case 'k':
      scale = 1024.0;
      break;
    case 'm':
      scale = 1024.0 * 1024;
      break;
    case 'g':
      scale = 1024.0 * 1024 * 1024;
      break;
    case 't':
      scale = 1024.0 * 1024 * 1024 * 1024;
      break;
    default:
      break;
  }
  if (scale != 1) s.pop_back();
  double n = 0;
  if (s.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(s[0])) ||
      !absl::SimpleAtod(s, &n) || !std::isfinite(n) || n <= 0) {
    return bad();
  }
  const double bytes = std::floor(n * scale);
  if (bytes < 1 || bytes > 9e18) return bad();
  return static_cast<int64_t>(bytes);
}

std::string FormatSize(int64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return absl::StrCat(bytes, " bytes");
  if (v == std::floor(v)) return absl::StrFormat("%.0f %s", v, units[u]);
  return absl::StrFormat("%.1f %s", v, units[u]);
}

absl::StatusOr<StartOptions> StartOptionsFromFlags(const ParsedArgs& parsed) {
  StartOptions o;
  o.image = parsed.Last("image").value_or(absl::StrCat("sandbox-base:", SAGEWAI_VERSION));
  if (o.image.empty() || o.image[0] == '-') {
    return absl::InvalidArgumentError(absl::StrCat("--image \"", o.image, "\" is not an image"));
  }
  o.network = parsed.Last("network").value_or("none");
  if (o.network != "none" && o.network != "bridge") {
    return absl::InvalidArgumentError(
        absl::StrCat("--network ", o.network, ": use none (the default) or bridge"));
  }
  if (std::optional<std::string> cpu = parsed.Last("cpu")) {
    double n = 0;
    if (!absl::SimpleAtod(*cpu, &n) || !(n > 0) || n > 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("--cpu ", *cpu, ": expected a number of CPUs > 0"));
    }
    o.cpus = *cpu;
  }
  if (std::optional<std::string> mem = parsed.Last("mem")) {
    absl::StatusOr<int64_t> bytes = ParseSize(*mem);
    if (!bytes.ok())
      return absl::InvalidArgumentError(absl::StrCat("--mem: ", bytes.status().message()));
    if (*bytes < 16 * 1024 * 1024) {
      return absl::InvalidArgumentError(absl::StrCat("--mem ", *mem, ": at least 16m"));
    }
    o.memory_bytes = *bytes;
  }
  if (std::optional<std::string> pids = parsed.Last("pids")) {
    if (!absl::SimpleAtoi(*pids, &o.pids) || o.pids < 8) {
      return absl::InvalidArgumentError(absl::StrCat("--pids ", *pids, ": expected a number >= 8"));
    }
  }
  o.workspace = parsed.Last("workspace").value_or("");
  if (std::optional<std::string> disk = parsed.Last("disk")) {
    absl::StatusOr<int64_t> bytes = ParseSize(*disk);
    if (!bytes.ok())
      return absl::InvalidArgumentError(absl::StrCat("--disk: ", bytes.status().message()));
    if (!o.workspace.empty()) {
      return absl::InvalidArgumentError(
          "--disk cannot be enforced on --workspace DIR: a bind-mounted host directory has no "
          "size limit of its own (and under the read-only root the engine's --storage-opt size= "
          "limits nothing a tool can write). Drop --workspace to get a tmpfs of that size at "
          "/workspace, or drop --disk");
    }
    o.disk_bytes = *bytes;
  }
  if (!o.workspace.empty()) {
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(o.workspace, ec);
    struct stat st {};
    if (ec || ::stat(abs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--workspace ", o.workspace, ": not an existing directory"));
    }
    o.workspace = abs.lexically_normal().string();
  }
  o.runtime = parsed.Last("runtime").value_or("");
  if (!o.runtime.empty() && o.runtime[0] == '-') {
    return absl::InvalidArgumentError(
        absl::StrCat("--runtime \"", o.runtime, "\" is not a runtime"));
  }
  if (!parsed.Last("pids") && absl::StartsWith(o.runtime, "runsc")) o.pids = kDefaultPidsGVisor;
  o.project_id = parsed.Last("project").value_or("");
  o.run_id = parsed.Last("run").value_or("");
  for (const std::string& entry : parsed.All("env")) {
    size_t eq = entry.find('=');
    std::string name = entry.substr(0, eq);
    if (!IsEnvName(name)) {
      return absl::InvalidArgumentError(absl::StrCat("--env ", entry, ": expected NAME=VALUE"));
    }
    if (IsControlPlaneVar(name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--env ", name, ": set by start itself (a fresh token per sandbox); leave it out"));
    }
    std::string value;
    if (eq == std::string::npos) {
      const char* here = getenv(name.c_str());
      if (here == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("--env ", name, ": not set here (use --env ", name, "=VALUE)"));
      }
      value = here;
    } else {
      value = entry.substr(eq + 1);
    }
    o.env.emplace_back(name, value);
  }
  if (std::optional<std::string> t = parsed.Last("start-timeout")) {
    double seconds = 0;
    if (!absl::SimpleAtod(*t, &seconds) || !(seconds > 0) || seconds > 3600) {
      return absl::InvalidArgumentError(
          absl::StrCat("--start-timeout ", *t, ": expected seconds (0 < s <= 3600)"));
    }
    o.start_timeout = absl::Milliseconds(static_cast<int64_t>(seconds * 1000));
  }
  o.docker = parsed.Last("docker").value_or("docker");
  return o;
}

}  // namespace sagewai::cli
