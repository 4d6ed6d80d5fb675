// The options `start` and `run` share: parsing, checking and their help.
#ifndef SAGEWAI_CLI_SANDBOX_OPTIONS_H_
#define SAGEWAI_CLI_SANDBOX_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/flags.h"

namespace sagewai::cli {

// The options `start` and `run` share, for their --help.
extern const char kStartOptionsHelp[];

inline constexpr int kDefaultPids = 256;
// Under gVisor's ptrace platform the container's pids limit counts the
// sandbox's host threads and stub processes too (about 60 at rest, four or
// more per tool process), and the whole sandbox ends when it is reached.
inline constexpr int kDefaultPidsGVisor = 4096;

struct StartOptions {
  std::string image;  // default: sandbox-base:<this version>
  std::string network = "none";
  std::string cpus = "1";
  int64_t memory_bytes = int64_t{1} << 30;
  // Without --pids: kDefaultPids, or kDefaultPidsGVisor under a runtime
  // named runsc* (gVisor's own host threads count against the limit there).
  int pids = kDefaultPids;
  // --disk: the size of a tmpfs at /workspace (needs no --workspace).
  std::optional<int64_t> disk_bytes;
  std::string runtime;
  std::string project_id;
  std::string run_id;
  // Variables for the container, passed by name (values never in an argv).
  std::vector<std::pair<std::string, std::string>> env;
  // A host directory for /workspace; empty: a fresh one in the state dir.
  std::string workspace;
  // sagewai.lifetime: per_run for `start`, per_tool for `run`.
  std::string lifetime = "per_run";
  absl::Duration start_timeout = absl::Seconds(30);
  std::string docker = "docker";
};

std::vector<FlagSpec> StartFlagSpecs();
// InvalidArgument naming the bad option. `env_lookup` reads this process's
// environment for `--env NAME` (tests pass their own).
absl::StatusOr<StartOptions> StartOptionsFromFlags(const ParsedArgs& parsed);

// "512m", "10g", "1.5G", "10GiB", "64MB", "1048576" (bytes); the units are
// powers of 1024, as docker's. InvalidArgument otherwise.
absl::StatusOr<int64_t> ParseSize(absl::string_view text);
// 1073741824 -> "1 GiB", 1536 -> "1.5 KiB".
std::string FormatSize(int64_t bytes);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_SANDBOX_OPTIONS_H_
