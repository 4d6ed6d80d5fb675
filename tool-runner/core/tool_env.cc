#include "tool-runner/core/tool_env.h"

#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/environ_scrub.h"
#include "common/secret_handoff.h"

extern char** environ;

namespace sagewai {
namespace {

constexpr absl::string_view kDefaultPath =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string EnvOr(const char* name, absl::string_view fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::string(v) : std::string(fallback);
}

}  // namespace

// The control-plane variables (common/environ_scrub.h), and the hand-off's fd
// variable: not a secret, but only the runner may know it, and a create-time
// `-e SAGEWAI_SECRETS_FD` reaches a stdio-mode runner that never reads it.
bool IsControlPlaneVariable(absl::string_view name) {
  return IsControlPlaneVar(name) || name == kSecretsFdEnv;
}

std::map<std::string, std::string> BaseToolEnvironment(
    const std::vector<std::string>& pass_through) {
  std::map<std::string, std::string> env;
  env["PATH"] = EnvOr("PATH", kDefaultPath);
  env["HOME"] = EnvOr("HOME", "/tmp");
  env["LANG"] = EnvOr("LANG", "C.UTF-8");
  const std::string user = EnvOr("USER", absl::StrCat(getuid()));
  env["USER"] = user;
  env["LOGNAME"] = EnvOr("LOGNAME", user);
  for (const std::string& name : pass_through) {
    if (IsControlPlaneVariable(name)) continue;
    if (const char* v = std::getenv(name.c_str()); v != nullptr) env[name] = v;
  }
  return env;
}

std::map<std::string, std::string> InheritedToolEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    absl::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == absl::string_view::npos || eq == 0) continue;
    absl::string_view name = entry.substr(0, eq);
    if (IsControlPlaneVariable(name)) continue;
    env.emplace(std::string(name), std::string(entry.substr(eq + 1)));
  }
  if (env.find("PATH") == env.end()) env["PATH"] = std::string(kDefaultPath);
  return env;
}

absl::StatusOr<std::vector<std::string>> MergeToolEnvironment(
    const std::map<std::string, std::string>& base,
    const std::map<std::string, std::string>& overrides, absl::string_view cwd) {
  std::map<std::string, std::string> env = base;
  for (const auto& [name, value] : overrides) {
    if (name.empty() || name.find('=') != std::string::npos ||
        name.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid environment variable name \"", name,
                       "\": names must be non-empty and contain no '=' or NUL"));
    }
    if (value.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", name, " contains a NUL byte"));
    }
    if (IsControlPlaneVariable(name)) continue;
    env[name] = value;
  }
  if (!cwd.empty()) env["PWD"] = std::string(cwd);
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [name, value] : env) out.push_back(absl::StrCat(name, "=", value));
  return out;
}

std::string ResolveCwd(absl::string_view workdir, absl::string_view cwd) {
  if (cwd.empty()) return std::string(workdir);
  if (cwd.front() == '/') return std::string(cwd);
  if (!workdir.empty() && workdir.back() == '/') return absl::StrCat(workdir, cwd);
  return absl::StrCat(workdir, "/", cwd);
}

}  // namespace sagewai
