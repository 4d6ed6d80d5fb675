#include "tool-runner/supervisor/tool_credentials.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"

namespace sagewai {
namespace {

ToolCredentials g_creds;
RunnerIdentity* g_identity = nullptr;

constexpr uint64_t kSetUid = uint64_t{1} << CAP_SETUID;
constexpr uint64_t kSetGid = uint64_t{1} << CAP_SETGID;

struct CapSets {
  uint64_t effective = 0;
  uint64_t permitted = 0;
  uint64_t inheritable = 0;
};

// capget/capset of the calling thread only (pid 0).
int GetThreadCaps(CapSets* caps) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return errno;
  caps->effective = data[0].effective | (uint64_t{data[1].effective} << 32);
  caps->permitted = data[0].permitted | (uint64_t{data[1].permitted} << 32);
  caps->inheritable = data[0].inheritable | (uint64_t{data[1].inheritable} << 32);
  return 0;
}

int SetThreadCaps(const CapSets& caps) {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  data[0].effective = static_cast<uint32_t>(caps.effective);
  data[1].effective = static_cast<uint32_t>(caps.effective >> 32);
  data[0].permitted = static_cast<uint32_t>(caps.permitted);
  data[1].permitted = static_cast<uint32_t>(caps.permitted >> 32);
  data[0].inheritable = static_cast<uint32_t>(caps.inheritable);
  data[1].inheritable = static_cast<uint32_t>(caps.inheritable >> 32);
  return syscall(SYS_capset, &header, data) == 0 ? 0 : errno;
}

// Makes `mask` effective on this thread (it must be permitted), or takes it
// away again.
int RaiseEffective(uint64_t mask, bool raise) {
  CapSets caps;
  if (int err = GetThreadCaps(&caps); err != 0) return err;
  if (raise && (caps.permitted & mask) != mask) return EPERM;
  caps.effective = raise ? (caps.effective | mask) : (caps.effective & ~mask);
  return SetThreadCaps(caps);
}

// /proc/PID/oom_score_adj of `pid`, written with one write(2).
int WriteOomScoreAdj(pid_t pid, int value) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/oom_score_adj", static_cast<int>(pid));
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  char buf[16];
  const int n = snprintf(buf, sizeof buf, "%d", value);
  const int err = write(fd, buf, n) == n ? 0 : errno;
  close(fd);
  return err;
}

// fsuid and fsgid of the calling thread (CAP_SETUID/CAP_SETGID effective).
// Where setfsuid/setfsgid do not exist (gVisor answers ENOSYS), through the
// thread's effective ids instead, which also set the fs ids; the real and
// saved ids stay the runner's, so the way back is always allowed.
int SetThreadFsIds(uid_t uid, gid_t gid) {
  errno = 0;
  if (syscall(SYS_setfsgid, gid) == -1 && errno == ENOSYS) {
    const uid_t keep_uid = static_cast<uid_t>(-1);
    const gid_t keep_gid = static_cast<gid_t>(-1);
    if (syscall(SYS_setresgid, keep_gid, gid, keep_gid) != 0) return errno;
    if (syscall(SYS_setresuid, keep_uid, uid, keep_uid) != 0) return errno;
    uid_t r, e, s;
    gid_t rg, eg, sg;
    if (syscall(SYS_getresuid, &r, &e, &s) != 0 || syscall(SYS_getresgid, &rg, &eg, &sg) != 0 ||
        e != uid || eg != gid) {
      return EPERM;
    }
    return 0;
  }
  syscall(SYS_setfsuid, uid);
  // Both calls return the previous value: ask again to see what holds.
  if (static_cast<gid_t>(syscall(SYS_setfsgid, static_cast<gid_t>(-1))) != gid ||
      static_cast<uid_t>(syscall(SYS_setfsuid, static_cast<uid_t>(-1))) != uid) {
    return EPERM;
  }
  return 0;
}

// fsuid, fsgid and groups of the calling thread.
int SetThreadFileIdentity(uid_t uid, gid_t gid, const gid_t* groups, int ngroups) {
  if (int err = RaiseEffective(kSetUid | kSetGid, true); err != 0) return err;
  int err = 0;
  if (syscall(SYS_setgroups, ngroups, groups) != 0) err = errno;
  if (err == 0) err = SetThreadFsIds(uid, gid);
  RaiseEffective(kSetUid | kSetGid, false);
  return err;
}

}  // namespace

absl::Status InstallToolCredentials(const RunnerIdentity& identity) {
  ToolCredentials creds;
  creds.separate = identity.separated;
  creds.runner_uid = identity.uid;
  creds.uid = identity.tool.uid;
  creds.gid = identity.tool.gid;
  const auto& groups = identity.tool.groups;
  if (groups.size() > static_cast<size_t>(ToolCredentials::kMaxGroups)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the agent user is in ", groups.size(), " groups; at most ",
                     ToolCredentials::kMaxGroups, " are supported"));
  }
  for (gid_t g : groups) creds.groups[creds.ngroups++] = g;
  if (creds.separate && creds.ngroups == 0) creds.groups[creds.ngroups++] = creds.gid;
  const int n = getgroups(ToolCredentials::kMaxGroups, creds.runner_groups);
  if (n < 0) return ErrnoStatus("getgroups");
  creds.runner_ngroups = n;
  g_creds = creds;
  delete g_identity;
  g_identity = new RunnerIdentity(identity);
  return absl::OkStatus();
}

const ToolCredentials& InstalledToolCredentials() { return g_creds; }

const RunnerIdentity& InstalledRunnerIdentity() {
  static const RunnerIdentity* none = new RunnerIdentity();
  return g_identity != nullptr ? *g_identity : *none;
}

int BecomeToolInChild(const ToolCredentials& creds) {
  if (!creds.separate) return 0;
  CapSets raised;
  raised.permitted = raised.effective = kSetUid | kSetGid;
  if (int err = SetThreadCaps(raised); err != 0) return err;
  if (syscall(SYS_setgroups, creds.ngroups, creds.groups) != 0) return errno;
  if (syscall(SYS_setresgid, creds.gid, creds.gid, creds.gid) != 0) return errno;
  if (syscall(SYS_setresuid, creds.uid, creds.uid, creds.uid) != 0) return errno;
  // The uid change set the memory's dumpable flag to fs.suid_dumpable, and
  // until exec that memory is the runner's (CLONE_VM): with suid_dumpable=1
  // the agent could open /proc/PID/mem of this child and read the runner.
  // Non-dumpable again at once (the runner is anyway); exec decides afresh.
  if (syscall(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return errno;
  if (int err = SetThreadCaps(CapSets()); err != 0) return err;
  uid_t r, e, s;
  if (syscall(SYS_getresuid, &r, &e, &s) != 0 || r != creds.uid || e != creds.uid ||
      s != creds.uid) {
    return EPERM;
  }
  return 0;
}

int SetChildOomScoreAdj(pid_t pid, int value) {
  const int err = WriteOomScoreAdj(pid, value);
  const ToolCredentials& creds = g_creds;
  if (err != EACCES || !creds.separate) return err;
  if (int raise_err = RaiseEffective(kSetUid, true); raise_err != 0) return raise_err;
  const uid_t fsuid = static_cast<uid_t>(syscall(SYS_setfsuid, static_cast<uid_t>(-1)));
  syscall(SYS_setfsuid, 0);
  const int result = static_cast<uid_t>(syscall(SYS_setfsuid, static_cast<uid_t>(-1))) == 0
                         ? WriteOomScoreAdj(pid, value)
                         : EPERM;
  syscall(SYS_setfsuid, fsuid);
  // A thread that could not go back must not go on opening files as root.
  if (static_cast<uid_t>(syscall(SYS_setfsuid, static_cast<uid_t>(-1))) != fsuid) abort();
  RaiseEffective(kSetUid, false);
  return result;
}

int SetExecdChildOomScoreAdj(pid_t pid, int value) {
  int err = EACCES;
  for (int tries = 0; tries < 1000 && err == EACCES; ++tries) {
    err = WriteOomScoreAdj(pid, value);
    if (err == EACCES) sched_yield();
  }
  return err;
}

int SignalTool(pid_t pid, int sig) {
  const ToolCredentials& creds = g_creds;
  if (!creds.separate) return kill(pid, sig);
  if (int err = RaiseEffective(kSetUid, true); err != 0) {
    errno = err;
    return -1;
  }
  if (syscall(SYS_setresuid, static_cast<uid_t>(-1), creds.uid, static_cast<uid_t>(-1)) != 0) {
    const int err = errno;
    RaiseEffective(kSetUid, false);
    errno = err;
    return -1;
  }
  const int result = kill(pid, sig);
  const int kill_errno = errno;
  // Back to the runner's uid (its real uid: always allowed). A thread that
  // could not go back must not go on as the tool user.
  if (syscall(SYS_setresuid, static_cast<uid_t>(-1), creds.runner_uid, static_cast<uid_t>(-1)) !=
      0) {
    abort();
  }
  RaiseEffective(kSetUid, false);
  errno = kill_errno;
  return result;
}

absl::Status ActAsToolForFiles() {
  const ToolCredentials& creds = g_creds;
  if (!creds.separate) return absl::OkStatus();
  if (int err = SetThreadFileIdentity(creds.uid, creds.gid, creds.groups, creds.ngroups);
      err != 0) {
    return ErrnoStatus(absl::StrCat("acting as uid ", creds.uid, " for file access"), err);
  }
  return absl::OkStatus();
}

ScopedToolFileAccess::ScopedToolFileAccess() { status_ = ActAsToolForFiles(); }

ScopedToolFileAccess::~ScopedToolFileAccess() {
  const ToolCredentials& creds = g_creds;
  if (!creds.separate) return;
  if (SetThreadFileIdentity(creds.runner_uid, getgid(), creds.runner_groups,
                            creds.runner_ngroups) != 0) {
    abort();
  }
}

}  // namespace sagewai
