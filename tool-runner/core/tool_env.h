// The environment and working directory a tool call runs with.
#ifndef SAGEWAI_TOOL_RUNNER_CORE_TOOL_ENV_H_
#define SAGEWAI_TOOL_RUNNER_CORE_TOOL_ENV_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sagewai {

// The clean base every gRPC call starts from: PATH, HOME, LANG, USER,
// LOGNAME taken from the runner's own environment (with defaults), plus the
// variables named by `pass_through` when the runner has them. Control-plane
// variables are never included.
std::map<std::string, std::string> BaseToolEnvironment(
    const std::vector<std::string>& pass_through);

// Every variable of the runner's own environment except the control-plane
// ones (the stdio protocol's contract: the worker sets per-call env with
// `docker exec --env`).
std::map<std::string, std::string> InheritedToolEnvironment();

// `base` with `overrides` on top and PWD=cwd, as "NAME=value" strings.
// Invalid names (empty, '=' or NUL inside) are INVALID_ARGUMENT;
// control-plane names are dropped silently.
absl::StatusOr<std::vector<std::string>> MergeToolEnvironment(
    const std::map<std::string, std::string>& base,
    const std::map<std::string, std::string>& overrides, absl::string_view cwd);

// `cwd` resolved against `workdir`: empty → workdir, relative → joined.
std::string ResolveCwd(absl::string_view workdir, absl::string_view cwd);

bool IsControlPlaneVariable(absl::string_view name);

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_CORE_TOOL_ENV_H_
