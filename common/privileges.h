// Becoming the unprivileged agent user: resolve AGENT_USER from the passwd and
// group files, drop in a fixed order (supplementary groups, gid, uid, then
// every capability set and the bounding set, then no_new_privs), verify, and
// set HOME/USER/LOGNAME and the work directory.
//
// Start states (DESIGN.md): root with any capabilities that include SETUID and
// SETGID drops; root without them (`--cap-drop ALL`) warns once and continues
// as uid 0 with no capabilities and no_new_privs, or refuses when
// AGENT_REQUIRE_DROP is set; a non-root start keeps its uid and still clears
// capabilities and sets no_new_privs; an unknown AGENT_USER is refused.
#ifndef SAGEWAI_COMMON_PRIVILEGES_H_
#define SAGEWAI_COMMON_PRIVILEGES_H_

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/passwd.h"

namespace sagewai {

struct AgentOptions {  // FromEnvironment() reads AGENT_USER, AGENT_WORKDIR, AGENT_REQUIRE_DROP
  std::string user = "agent";
  std::string workdir = "/workspace";
  bool require_drop = false;
  std::string passwd_path = "/etc/passwd", group_path = "/etc/group";
  // Empty variables keep the defaults. AGENT_REQUIRE_DROP is true for "1",
  // "true", "yes" or "on". SAGEWAI_PASSWD_FILE / SAGEWAI_GROUP_FILE replace
  // the two paths (for tests and unusual images; whoever sets a container's
  // environment can already choose AGENT_USER, so this grants nothing).
  static AgentOptions FromEnvironment();
};

struct AgentIdentity {
  uid_t uid;
  gid_t gid;
  std::string name;
  std::string home;
  std::string workdir;
  bool dropped_user;      // this call switched uid/gid to the AGENT_USER identity
  bool caps_cleared;      // effective, permitted, inheritable and ambient sets empty
  bool bounding_cleared;  // bounding set empty (needs CAP_SETPCAP at the time)
};

// Reads the passwd and group files of `options`. A missing passwd file is an
// error only when AGENT_USER is a name (a uid needs no entry); a missing
// group file means no supplementary groups.
bool ReadUserDatabases(const AgentOptions& options, std::string* passwd, std::string* group,
                       std::string* error);

// The same as the Status version below, without Abseil: false with *error
// set when the process must not go on (unknown user, refused, failed drop).
bool BecomeAgent(const AgentOptions& options, AgentIdentity* identity, std::string* error);

// Resolve the user, drop privileges in the fixed order (or warn/refuse per the start-state table),
// set HOME/USER/LOGNAME, chdir to workdir. Used by the entrypoint, and by the tool-runner's
// stdio mode (docker exec bypasses PID 1), so it must be safe to call in a process that is already
// unprivileged.
// Inline so that only callers link absl::Status: the static entrypoint cannot
// afford it (Debian's absl::Status pulls in iostream and locale, ~1 MB).
inline absl::StatusOr<AgentIdentity> BecomeAgent(const AgentOptions& options) {
  AgentIdentity identity;
  std::string error;
  if (!BecomeAgent(options, &identity, &error)) return absl::FailedPreconditionError(error);
  return identity;
}

// The kernel calls of a drop, behind an interface so that the order and every
// start state are tested without root. Calls return 0 or an errno value.
class PrivilegeOps {
 public:
  virtual ~PrivilegeOps() = default;
  virtual uid_t EffectiveUid() = 0;
  virtual int SetKeepCaps(bool keep) = 0;
  virtual int SetGroups(const std::vector<gid_t>& groups) = 0;
  virtual int SetResGid(gid_t gid) = 0;
  virtual int SetResUid(uid_t uid) = 0;
  // Clears the effective, inheritable and ambient sets and the permitted set
  // but for the capabilities in `keep_permitted` (a mask of 1 << CAP_*) with
  // libcap-ng, and the bounding set when CAP_SETPCAP is (still) permitted.
  virtual int ClearCapabilities(uint64_t keep_permitted, bool* bounding_cleared) = 0;
  virtual int SetNoNewPrivs() = 0;
  // Empty when real/effective/saved uid and gid all equal the target, the
  // supplementary groups are `groups`, no capability is left but the
  // permitted ones in `keep_permitted` and, for a non-zero uid without a kept
  // CAP_SETUID, setuid(0) fails; otherwise what is wrong.
  virtual std::string Verify(uid_t uid, gid_t gid, const std::vector<gid_t>& groups,
                             uint64_t keep_permitted) = 0;
};

// The real system calls.
PrivilegeOps& SystemPrivilegeOps();

struct DropResult {
  uid_t uid = 0;
  gid_t gid = 0;
  bool dropped_user = false;
  bool caps_cleared = false;
  bool bounding_cleared = false;
};

struct DropOptions {
  bool require_drop = false;
  // Capabilities (1 << CAP_*) left in the permitted set, never effective:
  // the tool-runner keeps CAP_SETUID and CAP_SETGID to start tools.
  uint64_t keep_permitted = 0;
  // The `--cap-drop ALL` WARN at debug level: another process says it.
  bool quiet = false;
};

// Drops to `target` per the start-state table. Logs the one WARN of the
// `--cap-drop ALL` state; false with *error when the process must stop.
bool DropPrivileges(const ResolvedUser& target, const DropOptions& options, PrivilegeOps& ops,
                    DropResult* result, std::string* error);
inline bool DropPrivileges(const ResolvedUser& target, bool require_drop, PrivilegeOps& ops,
                           DropResult* result, std::string* error) {
  return DropPrivileges(target, DropOptions{require_drop, 0, false}, ops, result, error);
}

// The capability mask of CAP_SETUID and CAP_SETGID.
uint64_t SetIdCapabilities();

// HOME for the current (already dropped) user: `passwd_home` when it is a
// directory this process can write, else /tmp/sagewai-home-<uid> (created
// 0700, owned by the user). Falls back to `passwd_home` (or "/") if neither works.
std::string ChooseHome(const std::string& passwd_home, uid_t uid);

// chdir to `workdir`; when it is missing or not writable by this process, one
// WARN naming owner, mode and the fix (a missing or unenterable directory
// falls back to `home`). Returns the directory entered.
std::string EnterWorkdir(const std::string& workdir, const std::string& home);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_PRIVILEGES_H_
