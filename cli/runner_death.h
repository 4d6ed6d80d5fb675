// What the CLI says when a sandbox's runner goes away under a call: the
// container's state and exit code (the entrypoint's code 3 names a runner
// killed by a signal PID 1 did not send) and its last log lines, instead of
// a bare connection error.
#ifndef SAGEWAI_CLI_RUNNER_DEATH_H_
#define SAGEWAI_CLI_RUNNER_DEATH_H_

#include <optional>
#include <string>

#include "absl/time/time.h"

namespace sagewai::cli {

// What a sandbox container's exit code says about its end.
std::string ContainerExitMeaning(int exit_code, bool oom_killed);

// The message for a runner that died: `container` (an id, shortened),
// its exit code, the engine's OOMKilled flag and the log's last lines.
std::string FormatRunnerDeath(const std::string& container, int exit_code, bool oom_killed,
                              const std::string& log_tail);

// When `container` has stopped (or stops within `wait`: PID 1 ends it right
// after its runner), FormatRunnerDeath of it with `docker logs --tail 12`;
// nullopt while it still runs or when the engine cannot be asked.
std::optional<std::string> RunnerDeathReport(const std::string& container,
                                             absl::Duration wait = absl::Seconds(3),
                                             const std::string& docker = "docker");

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_RUNNER_DEATH_H_
