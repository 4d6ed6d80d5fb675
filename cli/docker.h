// The docker CLI, driven with fork/exec and argv vectors: image lookup and
// pull, the hardened `docker run` that production uses, exec, stop, remove.
#ifndef SAGEWAI_CLI_DOCKER_H_
#define SAGEWAI_CLI_DOCKER_H_

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/subprocess.h"

namespace sagewai::cli {

// A sandbox container as the worker starts one.
struct ContainerSpec {
  std::string image;
  std::string name;
  // e.g. "runsc"; empty for the engine's default.
  std::string runtime;
  // Host directory mounted read-write at /workspace.
  std::string workspace_dir;
  // When non-zero and there is no workspace_dir: /workspace is a tmpfs of
  // this many bytes owned by the agent user (a hard size limit: writes past
  // it fail with ENOSPC).
  int64_t workspace_tmpfs_bytes = 0;
  // Host directory mounted at /run/sagewai, where the runner puts its socket.
  std::string socket_dir;
  // Passed as bare `-e NAME`: docker takes each value from its own
  // environment, so secrets never appear on a command line.
  std::vector<std::string> env_names;
  // "key=value" labels.
  std::vector<std::string> labels;
  // Limits; the defaults are what validate and the worker use.
  std::string network = "none";
  std::string cpus = "1";
  std::string memory = "1g";
  int pids_limit = 256;
  // Replaces the image's CMD when not empty.
  std::vector<std::string> command;
  // Never pull implicitly (`--pull never`): a missing image is an error the
  // caller explains, instead of a slow or hanging pull inside `docker run`.
  bool no_pull = false;
};

// Everything after "docker": `run -d --name ... IMAGE` with --cap-drop ALL,
// --cap-add SETUID/SETGID/SETPCAP, no-new-privileges, --read-only, a noexec
// /tmp tmpfs, the spec's network (default none) and pid/memory/cpu limits.
std::vector<std::string> BuildRunArgs(const ContainerSpec& spec);

// What `docker image inspect` tells about a local image.
struct ImageIdentity {
  std::string id;                         // "sha256:..."
  std::vector<std::string> repo_digests;  // "repo@sha256:..."
};

// Parses the output of ImageInspectFormat().
ImageIdentity ParseImageInspect(const std::string& output);
const char* ImageInspectFormat();

// "digest sha256:…" when a registry digest is known (preferring the one of
// `image`'s repository), else "image id sha256:…".
std::string DescribeImageIdentity(const ImageIdentity& identity, const std::string& image);

// The last non-empty line of `text`, trimmed ("" if none).
std::string LastLine(const std::string& text);
// The line of a docker CLI error that says what went wrong: the last one that
// is not a "Run 'docker ... --help'" or "See '...'" hint.
std::string DockerErrorLine(const std::string& text);

class Docker {
 public:
  // `cancel` (may be null) aborts a running docker command when set.
  explicit Docker(std::string binary, const std::atomic<bool>* cancel = nullptr)
      : binary_(std::move(binary)), cancel_(cancel) {}

  // `docker ARGS...`; exit codes are results, errors mean it did not run.
  absl::StatusOr<ProcessResult> Run(const std::vector<std::string>& args,
                                    absl::Duration timeout = absl::Minutes(2),
                                    std::optional<std::string> stdin_data = std::nullopt,
                                    const std::vector<std::string>& set_env = {}) const;

  // The engine's version, or an error naming why the daemon cannot be used.
  absl::StatusOr<std::string> ServerVersion() const;
  // nullopt when the image is not present locally.
  absl::StatusOr<std::optional<ImageIdentity>> InspectImage(const std::string& image) const;
  // "running", "exited", ... and the exit code.
  struct State {
    bool running = false;
    int exit_code = 0;
    std::string status;
    std::string error;
  };
  absl::StatusOr<State> InspectState(const std::string& container) const;
  // `docker rm -f`, errors ignored: used on cleanup paths.
  void ForceRemove(const std::string& container) const;

 private:
  std::string binary_;
  const std::atomic<bool>* cancel_;
};

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_DOCKER_H_
