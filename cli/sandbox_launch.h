// Starting a sandbox container the production way and waiting for its runner
// — the part `validate`, `start`, `run` and `doctor --probe` share: the
// hardened `docker run` (docker.h's BuildRunArgs) with secrets passed by
// name, failures turned into what went wrong and what to do, the wait for
// SERVING on the runner's unix socket, and the container's last log lines.
#ifndef SAGEWAI_CLI_SANDBOX_LAUNCH_H_
#define SAGEWAI_CLI_SANDBOX_LAUNCH_H_

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cli/docker.h"

namespace sagewai::cli {

// Something the user can act on: what failed, and what to do about it.
struct LaunchError {
  enum class Kind {
    kEngineDown,  // the Docker engine does not answer
    kNoImage,     // the image is not present locally (--pull never)
    kRuntime,     // --runtime is not registered with the engine
    kRunFailed,   // any other `docker run` failure
    kExited,      // the container exited before its runner served
    kNotServing,  // running, but no SERVING runner on the socket in time
    kInterrupted,
  };
  Kind kind = Kind::kRunFailed;
  std::string what;
  std::string remedy;
  // The container's last log lines, indented ("    | …\n"), or "".
  std::string logs;
};

struct Launch {
  // The full container id; set when `docker run` succeeded.
  std::string container;
  std::optional<LaunchError> error;
  // How long `docker run` took.
  absl::Duration run_time;
};

// `docker run` of `spec`. `secrets` are "NAME=value" entries set only in the
// docker process's environment: spec.env_names must list their names, so
// their values never appear in an argv. On failure the container named
// spec.name may still exist (created, not started): the caller removes it.
Launch LaunchContainer(const Docker& docker, const ContainerSpec& spec,
                       const std::vector<std::string>& secrets);

// What to do when the engine does not answer (names $DOCKER_HOST when set).
std::string EngineDownRemedy();

// What to do about `docker run`'s error line `why`.
std::string DockerRunRemedy(const std::string& why, const std::string& runtime);

struct Readiness {
  bool serving = false;
  // Set when not serving.
  std::optional<LaunchError> error;
  // From the container start (the call) to SERVING.
  absl::Duration waited;
};

// Waits until the runner answers grpc.health.v1 SERVING on `socket_path`
// (the host side of the container's /run/sagewai). Each attempt uses a new
// channel, created once the socket exists, so that no reconnect backoff of
// an early failed attempt delays the answer. Stops early when the container
// exits (kExited, with its last log lines) or `cancel` becomes true.
Readiness WaitForServing(const Docker& docker, const std::string& container,
                         const std::string& socket_path, absl::Duration timeout,
                         const std::atomic<bool>* cancel, const std::string& runtime = "");

// The last `lines` lines of the container's log (stdout and stderr),
// indented "    | ", or "" when there are none.
std::string ContainerLogTail(const Docker& docker, const std::string& container, size_t lines = 20);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_SANDBOX_LAUNCH_H_
