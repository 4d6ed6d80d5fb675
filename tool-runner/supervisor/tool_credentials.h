// The credentials tools run with, and the few places the runner acts as the
// tool user: starting a tool, signalling one, and file access on behalf of
// the agent.
//
// When the runner and the tools have separate uids (common/runner_identity.h)
// the runner holds CAP_SETUID and CAP_SETGID in its permitted set only. Linux
// keeps credentials per thread, so each operation below raises them on the
// calling thread alone, for as long as it needs them, with raw system calls
// (glibc's wrappers would apply a uid change to every thread).
#ifndef SAGEWAI_TOOL_RUNNER_SUPERVISOR_TOOL_CREDENTIALS_H_
#define SAGEWAI_TOOL_RUNNER_SUPERVISOR_TOOL_CREDENTIALS_H_

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "common/runner_identity.h"

namespace sagewai {

struct ToolCredentials {
  static constexpr int kMaxGroups = 64;
  // False: tools inherit the runner's credentials (one shared uid).
  bool separate = false;
  uid_t runner_uid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  gid_t groups[kMaxGroups] = {};
  int ngroups = 0;
  // The runner's own groups, to come back to.
  gid_t runner_groups[kMaxGroups] = {};
  int runner_ngroups = 0;
};

// Records who tools run as. Called once at start-up, before any thread; an
// identity with more than kMaxGroups groups is refused.
absl::Status InstallToolCredentials(const RunnerIdentity& identity);

// What InstallToolCredentials recorded (not separate before it is called).
const ToolCredentials& InstalledToolCredentials();
// The identity it was given (GetInfo reports it).
const RunnerIdentity& InstalledRunnerIdentity();

// Between clone and exec (async-signal-safe, no allocation, raw system calls:
// the child may share the runner's memory): becomes the tool user with every
// capability set empty. Returns 0 or the errno of the step that failed; a
// no-op with credentials that are not separate.
int BecomeToolInChild(const ToolCredentials& creds);

// Writes /proc/PID/oom_score_adj of a child that has not exec'd yet. Such a
// child shares the runner's non-dumpable memory, so its /proc files belong to
// root: with separate credentials the calling thread opens the file with
// fsuid 0 (CAP_SETUID) for that call only. Returns 0 or an errno (EACCES: a
// runner that is neither root nor separate cannot do it before exec).
int SetChildOomScoreAdj(pid_t pid, int value);

// The same for a child that has just exec'd, as its owner: the new image
// becomes dumpable a moment after exec closed the error pipe, so an EACCES
// is retried a bounded number of times.
int SetExecdChildOomScoreAdj(pid_t pid, int value);

// kill(2) as the tools' owner: `pid` may be a negative process group. With
// separate credentials the calling thread takes the tool uid as its
// effective uid for the call only. Returns 0 or -1 with errno, like kill.
int SignalTool(pid_t pid, int sig);

// From now on the calling thread opens, creates and checks files as the tool
// user (fsuid, fsgid and supplementary groups; its effective uid stays the
// runner's). A no-op without separate credentials. For threads that do
// nothing but file work on behalf of calls.
absl::Status ActAsToolForFiles();

// ActAsToolForFiles for a scope on a thread that must go back afterwards.
class ScopedToolFileAccess {
 public:
  ScopedToolFileAccess();
  ~ScopedToolFileAccess();
  ScopedToolFileAccess(const ScopedToolFileAccess&) = delete;
  ScopedToolFileAccess& operator=(const ScopedToolFileAccess&) = delete;
  const absl::Status& status() const { return status_; }

 private:
  absl::Status status_;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SUPERVISOR_TOOL_CREDENTIALS_H_
