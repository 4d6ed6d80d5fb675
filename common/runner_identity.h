// Who the tool-runner and its tools run as (DESIGN.md, Identities): the
// runner as its own system user (`sagewai`, uid 900) keeping only CAP_SETUID
// and CAP_SETGID in its permitted set, tools as AGENT_USER (uid 1000). Where
// the start state cannot separate the two (no CAP_SETUID/CAP_SETGID, started
// as non-root, no runner user in the image) both share one uid and the
// result says why.
//
// Shared by the tool-runner (which becomes the runner user) and the
// entrypoint (which follows it to the same uid once the runner is started,
// so that it can still forward signals to it). Abseil-free: the static
// entrypoint links it.
#ifndef SAGEWAI_COMMON_RUNNER_IDENTITY_H_
#define SAGEWAI_COMMON_RUNNER_IDENTITY_H_

#include <sys/types.h>

#include <string>

#include "common/passwd.h"
#include "common/privileges.h"

namespace sagewai {

inline constexpr char kRunnerUserEnv[] = "SAGEWAI_RUNNER_USER";
inline constexpr char kDefaultRunnerUser[] = "sagewai";
// The uid and gid images give the runner user (documented; the host's peer
// check expects it by default).
inline constexpr uid_t kDefaultRunnerUid = 900;

struct RunnerUsers {
  ResolvedUser tool;    // AGENT_USER
  ResolvedUser runner;  // SAGEWAI_RUNNER_USER; valid when runner_found
  bool runner_found = false;
  std::string runner_spec;  // as asked for, for messages
};

// Resolves AGENT_USER (an unknown one is an error: refuse to start) and the
// runner user (SAGEWAI_RUNNER_USER, default `sagewai`; a missing one is not an
// error, it only prevents separation).
bool ResolveRunnerUsers(const AgentOptions& options, RunnerUsers* users, std::string* error);

struct RunnerIdentity {
  uid_t uid = 0;  // the runner's own, after the drop
  gid_t gid = 0;
  ResolvedUser tool;
  // Tools run under tool.uid while the runner runs under another uid and
  // holds CAP_SETUID/CAP_SETGID (permitted only) to start them.
  bool separated = false;
  // When not separated: why, and what would separate them.
  std::string note;
};

// Becomes the runner: with CAP_SETUID/CAP_SETGID as root, switches to the
// runner user keeping those two capabilities permitted (never effective);
// otherwise drops like the entrypoint always did (tools and runner share the
// resulting uid). Every other capability, the bounding and ambient sets are
// cleared and no_new_privs is set in every case. Must run while the process
// has one thread. False with *error when the process must not go on.
bool BecomeRunner(const AgentOptions& options, RunnerIdentity* identity, std::string* error);

// The uid the runner will end up with in this start state, for PID 1 to
// follow it: the runner user's when root can switch to it, else what
// DropPrivileges would leave. `users` from ResolveRunnerUsers.
const ResolvedUser& RunnerTarget(const RunnerUsers& users);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_RUNNER_IDENTITY_H_
