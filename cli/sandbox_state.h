// Where a sandbox started by `sagewai-sandbox start` keeps its host-side
// state: one private directory per sandbox holding the runner's socket
// directory (mounted at /run/sagewai), the token file, the workspace (when
// it is a host directory), a record of what was started, and the lock a
// live `run` holds.
//
//   <root>/<id>/            0700
//   <root>/<id>/run/        mounted at /run/sagewai; tool-runner.sock inside
//   <root>/<id>/token       0600, the container's SESSION_TOKEN
//   <root>/<id>/workspace/  mounted at /workspace (no --workspace, no --disk)
//   <root>/<id>/sandbox     the record: key=value lines
//   <root>/<id>/lock        flock'ed by a live `run`, holding its pid
#ifndef SAGEWAI_CLI_SANDBOX_STATE_H_
#define SAGEWAI_CLI_SANDBOX_STATE_H_

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace sagewai::cli {

inline constexpr char kStateRootEnv[] = "SAGEWAI_SANDBOX_STATE_DIR";
inline constexpr char kRunnerSocketName[] = "tool-runner.sock";

// $SAGEWAI_SANDBOX_STATE_DIR, else /var/lib/sagewai-sandbox for root, else
// $XDG_STATE_HOME/sagewai/sandboxes, else ~/.local/state/sagewai/sandboxes.
// (On disk rather than under /run: the workspace lives here too.)
std::string SandboxStateRoot();

// Ids are what `start` makes ("sbx-" and 12 hex digits) or what a worker
// labels its containers with: 1-64 of [A-Za-z0-9_.-], not starting with
// '.' or '-' (they name a directory).
bool IsValidSandboxId(absl::string_view id);
std::string NewSandboxId();

struct SandboxPaths {
  std::string dir;
  std::string socket_dir;
  std::string socket_path;
  std::string token_file;
  std::string workspace_dir;
  std::string record_file;
  std::string lock_file;

  // "unix:///…/run/tool-runner.sock".
  std::string Address() const;
};

SandboxPaths PathsFor(const std::string& root, const std::string& id);

// What `start` wrote down about a sandbox. Unknown keys are kept.
struct SandboxRecord {
  std::map<std::string, std::string> values;

  std::string Get(const std::string& key) const;
};

std::string FormatRecord(const SandboxRecord& record);
// InvalidArgument on a line that is not key=value.
absl::StatusOr<SandboxRecord> ParseRecord(absl::string_view text);
// Written to a temporary file and renamed: readers never see half a record.
absl::Status WriteRecord(const std::string& path, const SandboxRecord& record);
absl::StatusOr<SandboxRecord> ReadRecord(const std::string& path);

// Creates `dir` with mode 0700 (and its parents, 0700 too when missing).
absl::Status MakePrivateDir(const std::string& dir);

// A directory the agent user (uid 1000) writes into from inside the
// container: 0770 owned by 1000:0 when we are root, else 0777 (the 0700
// parent keeps other host users out).
absl::Status PrepareAgentDir(const std::string& dir);

// Creates `dir` (which must not exist) for the runner's socket, bind-mounted
// at /run/sagewai: the runner must create its socket there and no tool may
// remove, rename or replace it. As root: owned by the runner user (uid 900)
// and group 0, mode 0770 (a container left as uid 0 without capabilities
// writes through the group). Otherwise (no chown): mode 1777, sticky, so
// that only the owner of an entry can remove or replace it.
absl::Status PrepareRunnerDir(const std::string& dir);

// Writes `content` to a new file with mode 0600.
absl::Status WritePrivateFile(const std::string& path, absl::string_view content);

// The lock a `run` holds on its sandbox for its whole life, so that `reap`
// leaves the sandbox alone. flock(2): released by the kernel when the holder
// dies, however it dies.
class HolderLock {
 public:
  static absl::StatusOr<HolderLock> Acquire(const std::string& path);
  HolderLock() = default;

 private:
  explicit HolderLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// The pid written by a live holder of the lock at `path`, or nullopt when
// nobody holds it (including when there is no lock file). A holder whose
// pid cannot be read reports -1.
std::optional<pid_t> LiveHolder(const std::string& path);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_SANDBOX_STATE_H_
