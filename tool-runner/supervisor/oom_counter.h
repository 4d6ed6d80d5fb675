// The kernel's count of OOM kills in the cgroup the runner and its tools
// share (cgroup v2 memory.events `oom_kill`, v1 memory.oom_control
// `oom_kill`): a command that died of a SIGKILL the runner did not send while
// the count rose was killed by the OOM killer. With several calls at once
// the attribution is by that count and the SIGKILL, not per process (there
// is no cgroup per call).
#ifndef SAGEWAI_TOOL_RUNNER_SUPERVISOR_OOM_COUNTER_H_
#define SAGEWAI_TOOL_RUNNER_SUPERVISOR_OOM_COUNTER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace sagewai {

// Where the counter is looked for; tests point these at a fake tree.
struct OomCounterSources {
  std::string proc_self_cgroup = "/proc/self/cgroup";
  std::string cgroup_root = "/sys/fs/cgroup";
};

// The `oom_kill N` line of a memory.events or memory.oom_control text.
std::optional<uint64_t> ParseOomKillCount(absl::string_view text);

// The first readable file with an oom_kill count: the runner's own v2
// cgroup, the v2 root (a container's cgroup namespace), then v1's memory
// controller at its path and at the mount's root. nullopt when none.
std::optional<std::string> FindOomCounterFile(const OomCounterSources& sources = {});

// The count in `file` now; nullopt when it cannot be read.
std::optional<uint64_t> ReadOomKillCount(const std::string& file);

// How a command ended, for KilledByOomKiller.
struct OomEvidence {
  int signal = 0;                        // the signal that ended it, 0 if it exited
  int exit_code = -1;                    // 137 is a shell reporting a child that died of SIGKILL
  bool runner_sent_sigkill = false;      // timeout, cancel, shutdown, a client's signal
  std::optional<uint64_t> count_before;  // at the start of the call
  std::optional<uint64_t> count_after;   // after its end
};

// True when the kernel's OOM killer ended the command: a SIGKILL (or a
// shell's 137) the runner did not send while the count rose. Unknown counts
// give false.
bool KilledByOomKiller(const OomEvidence& e);

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SUPERVISOR_OOM_COUNTER_H_
