// The limits a new process or thread counts against (the pids cgroup of the
// runner and its ancestors, RLIMIT_NPROC), and the status a spawn that one of
// them refused comes back with: RESOURCE_EXHAUSTED naming the limit.
#ifndef SAGEWAI_TOOL_RUNNER_SUPERVISOR_SPAWN_LIMITS_H_
#define SAGEWAI_TOOL_RUNNER_SUPERVISOR_SPAWN_LIMITS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sagewai {

// Where the limits are read; tests point these at a fake tree.
struct SpawnLimitSources {
  std::string proc_self_cgroup = "/proc/self/cgroup";
  std::string proc_self_mountinfo = "/proc/self/mountinfo";
  // Where the hierarchy is assumed mounted when mountinfo names no mount of
  // it: v2 here, v1's pids controller at <cgroup_root>/pids.
  std::string cgroup_root = "/sys/fs/cgroup";
  // RLIMIT_NPROC's soft limit; nullopt: getrlimit. UINT64_MAX: unlimited.
  std::optional<uint64_t> nproc_limit;
};

// One cgroup's pids.current and pids.max.
struct PidsUsage {
  std::string dir;  // the cgroup directory they were read from
  int64_t current = 0;
  int64_t max = 0;
};

// The cgroup with the least room (pids.max - pids.current) among the
// runner's own pids cgroup and its ancestors up to the mount's root (cgroup
// v2, else v1's pids controller). nullopt when none has a numeric pids.max
// or nothing can be read (no cgroup file system, no pids controller).
std::optional<PidsUsage> TightestPidsLimit(const SpawnLimitSources& sources = {});

// The status of spawn step `what` ("clone", ...) that failed with `err`.
// EAGAIN — a pids cgroup or RLIMIT_NPROC refused the process or thread —
// becomes RESOURCE_EXHAUSTED whose message names the limit and its numbers
// where they can be read, and what to do; any other errno is ErrnoStatus's.
// Either way StatusErrno() gives `err` back. Not async-signal-safe.
absl::Status SpawnFailureStatus(absl::string_view what, int err,
                                const SpawnLimitSources& sources = {});

// Calls that may run at once under a pids limit of `pids_max`, leaving
// `reserved` for what is not a call (the runner's threads, PID 1, code-eval
// interpreters, `docker exec` health checks): pids_max - reserved, but at
// least a quarter of pids_max (and 1), at most `ceiling`. Every call needs at
// least one process, so more slots than that only turn a clean
// RESOURCE_EXHAUSTED into failed forks.
uint32_t ConcurrentCallsForPidsLimit(int64_t pids_max, int64_t reserved, uint32_t ceiling);

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SUPERVISOR_SPAWN_LIMITS_H_
