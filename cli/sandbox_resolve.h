// Sandbox ids on the command line: `--sandbox ID` taken out of a runner
// command's options, and an id resolved to the runner's address and token
// file (the sandbox's state directory, else its container's labels).
#ifndef SAGEWAI_CLI_SANDBOX_RESOLVE_H_
#define SAGEWAI_CLI_SANDBOX_RESOLVE_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sagewai::cli {

// How to reach the runner of a sandbox that `sagewai-sandbox start` made.
struct SandboxEndpoint {
  std::string id;
  std::string address;     // "unix:///…/tool-runner.sock"
  std::string token_file;  // 0600, beside the socket directory
  std::string container;   // the container id, when known
};

// Looks the sandbox up in its state directory under SandboxStateRoot(), else
// asks the engine for the container labelled sagewai.sandbox_id=ID and
// follows its sagewai.state_dir label (a sandbox another user's `start`
// made). NotFound names `sagewai-sandbox list`; FailedPrecondition when the
// sandbox has no runner socket on this host (the worker's docker exec path).
absl::StatusOr<SandboxEndpoint> ResolveSandbox(const std::string& id,
                                               const std::string& docker = "docker");

// The host pid of the runner in `container`: the one child of the
// container's PID 1 (`docker inspect`'s State.Pid), which is what SO_PEERCRED
// reports for the runner's socket. FailedPrecondition, naming the container,
// when it is not running or its PID 1 has no child or several (then the
// runner cannot be told apart, and it is refused rather than guessed).
absl::StatusOr<pid_t> RunnerHostPid(const std::string& container,
                                    const std::string& docker = "docker");

// Under gVisor (runsc) no host process is the runner: `docker inspect`'s
// State.Pid is the sandbox ("runsc-sandbox"), and the runner's socket on the
// host (runsc --host-uds=create) is made and held by that sandbox's gofer,
// the one "runsc-gofer" child of the same parent (the container's shim).
// Returns the gofer's pid, nullopt when `pid1` is not a gVisor sandbox, and
// FailedPrecondition naming `container` when there is no gofer or several.
absl::StatusOr<std::optional<pid_t>> GVisorSocketHolder(pid_t pid1, const std::string& container,
                                                        const std::string& proc = "/proc");

// The children of `pid`: /proc/PID/task/PID/children, else (a kernel
// without it, or no permission) a scan of every /proc/N/stat for its parent.
// `proc` is "/proc" except in tests.
std::vector<pid_t> ChildrenOf(pid_t pid, const std::string& proc = "/proc");

// The --sandbox ID option of every subcommand that talks to a runner: takes
// `--sandbox ID` / `--sandbox=ID` out of the options in `args` and returns
// ID. Options end at "--"; with `stop_at_positional` also at the first word
// that is neither an option nor the value of one of `value_flags` (names
// without "--"), so that a command's own arguments stay untouched.
// InvalidArgument when it is given twice or without a value.
absl::StatusOr<std::optional<std::string>> ExtractSandboxFlag(
    std::vector<std::string>* args, bool stop_at_positional = false,
    const std::vector<std::string>& value_flags = {});

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_SANDBOX_RESOLVE_H_
