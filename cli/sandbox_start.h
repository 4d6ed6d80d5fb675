// Starting and stopping a sandbox by hand (`start`, `stop`, `run`, `reap`,
// `doctor --probe`): the production container settings, a fresh token, the
// private state directory, the labels the worker uses, the wait for SERVING,
// and a cleanup that leaves nothing behind.
#ifndef SAGEWAI_CLI_SANDBOX_START_H_
#define SAGEWAI_CLI_SANDBOX_START_H_

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/connection.h"
#include "cli/docker.h"
#include "cli/sandbox_options.h"
#include "cli/sandbox_state.h"

namespace sagewai::cli {

struct StartedSandbox {
  std::string id;
  SandboxPaths paths;
  std::string container;  // full id
  std::string image;
  // "tmpfs, 1 GiB" or the host directory.
  std::string workspace;
  // Held for `run` (StartSandbox's `hold`), so that `reap` keeps away.
  std::optional<HolderLock> lock;
  absl::Duration run_time;      // `docker run` itself
  absl::Duration serving_time;  // from `docker run` returning to SERVING
  absl::Duration total_time;    // the whole StartSandbox call
};

// Starts a sandbox and waits for its runner. On failure removes whatever it
// made and fills `error` (exit code and a message with what to do, and the
// container's last log lines when it exited at start). `cancel` (may be
// null) aborts it; the error is then exit 130.
bool StartSandbox(const StartOptions& options, bool hold, const std::atomic<bool>* cancel,
                  StartedSandbox* started, CliError* error);

// `docker stop` with `grace` (SIGTERM, then SIGKILL), `docker rm`, and the
// state directory removed. NotFound when there is no such sandbox at all.
// `said` gets one line per thing done, for the user.
absl::Status StopSandbox(const std::string& docker, const std::string& id, absl::Duration grace,
                         std::vector<std::string>* said);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_SANDBOX_START_H_
