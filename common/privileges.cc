#include "common/privileges.h"

#include <cap-ng.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "common/log.h"

namespace sagewai {
namespace {

std::string Errno(int err) { return strerror(err); }

bool Truthy(const char* v) {
  const std::string s = v == nullptr ? "" : v;
  return s == "1" || s == "true" || s == "yes" || s == "on" || s == "TRUE" || s == "True";
}

std::string OctalMode(mode_t mode) {
  char buf[8];
  snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string Describe(const ResolvedUser& u) {
  return u.name + " (uid " + std::to_string(u.uid) + ", gid " + std::to_string(u.gid) + ")";
}

constexpr char kRemedy[] =
    "give the container CAP_SETUID and CAP_SETGID (docker run --cap-drop ALL --cap-add SETUID "
    "--cap-add SETGID --cap-add SETPCAP), or start it as the agent user (docker run --user "
    "1000:1000)";

// Highest capability number the kernel knows.
int LastCap() {
  int last = 0;
  while (last < 63 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0) ++last;
  return last;
}

bool BoundingSetEmpty() {
  const int last = LastCap();
  for (int cap = 0; cap <= last; ++cap) {
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) > 0) return false;
  }
  return true;
}

bool Kept(uint64_t keep_permitted, int cap) { return cap < 64 && (keep_permitted >> cap) & 1; }

// Which capability is still in a set (beyond the permitted ones kept), or ""
// when none.
std::string LeftoverCapability(uint64_t keep_permitted = 0) {
  if (capng_get_caps_process() != 0) return "capng_get_caps_process failed";
  const int last = LastCap();
  for (int cap = 0; cap <= last; ++cap) {
    const char* set = nullptr;
    if (capng_have_capability(CAPNG_EFFECTIVE, cap) > 0) set = "effective";
    if (capng_have_capability(CAPNG_PERMITTED, cap) > 0 && !Kept(keep_permitted, cap)) {
      set = "permitted";
    }
    if (capng_have_capability(CAPNG_INHERITABLE, cap) > 0) set = "inheritable";
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0) > 0) set = "ambient";
    if (set != nullptr) {
      const char* name = capng_capability_to_name(cap);
      return std::string(set) + " set still holds " + (name ? name : std::to_string(cap));
    }
  }
  return "";
}

class SystemOps : public PrivilegeOps {
 public:
  uid_t EffectiveUid() override { return geteuid(); }
  int SetKeepCaps(bool keep) override {
    return prctl(PR_SET_KEEPCAPS, keep ? 1 : 0, 0, 0, 0) == 0 ? 0 : errno;
  }
  int SetGroups(const std::vector<gid_t>& groups) override {
    return setgroups(groups.size(), groups.empty() ? nullptr : groups.data()) == 0 ? 0 : errno;
  }
  int SetResGid(gid_t gid) override { return setresgid(gid, gid, gid) == 0 ? 0 : errno; }
  int SetResUid(uid_t uid) override { return setresuid(uid, uid, uid) == 0 ? 0 : errno; }

  int ClearCapabilities(uint64_t keep_permitted, bool* bounding_cleared) override {
    if (capng_get_caps_process() != 0) return errno != 0 ? errno : EIO;
    // After setuid with KEEPCAPS, CAP_SETPCAP is permitted but not effective:
    // raise it to clear the bounding set (a failure shows as a set left).
    if (capng_have_capability(CAPNG_PERMITTED, CAP_SETPCAP) > 0 &&
        capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP) <= 0) {
      capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, CAP_SETPCAP);
      capng_apply(CAPNG_SELECT_CAPS);
    }
    capng_clear(CAPNG_SELECT_BOUNDS);
    capng_apply(CAPNG_SELECT_BOUNDS);
    *bounding_cleared = BoundingSetEmpty();
    capng_clear(CAPNG_SELECT_ALL);
    for (int cap = 0; cap < 64; ++cap) {
      if (Kept(keep_permitted, cap)) capng_update(CAPNG_ADD, CAPNG_PERMITTED, cap);
    }
    if (capng_apply(CAPNG_SELECT_CAPS) != 0) return errno != 0 ? errno : EPERM;
    if (capng_apply(CAPNG_SELECT_AMBIENT) != 0) {
      // Emptying the permitted set already emptied the ambient set.
      if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
        return errno;
      }
    }
    if (std::string left = LeftoverCapability(keep_permitted); !left.empty()) {
      log::Error("capabilities left after clearing them", {{"problem", left}});
      return EPERM;
    }
    return 0;
  }

  int SetNoNewPrivs() override { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 ? 0 : errno; }

  std::string Verify(uid_t uid, gid_t gid, const std::vector<gid_t>& groups,
                     uint64_t keep_permitted) override {
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (getresuid(&ru, &eu, &su) != 0 || getresgid(&rg, &eg, &sg) != 0) {
      return "getresuid/getresgid: " + Errno(errno);
    }
    if (ru != uid || eu != uid || su != uid) {
      return "uids are " + std::to_string(ru) + "/" + std::to_string(eu) + "/" +
             std::to_string(su) + ", expected " + std::to_string(uid);
    }
    if (rg != gid || eg != gid || sg != gid) {
      return "gids are " + std::to_string(rg) + "/" + std::to_string(eg) + "/" +
             std::to_string(sg) + ", expected " + std::to_string(gid);
    }
    const int n = getgroups(0, nullptr);
    std::vector<gid_t> have(n > 0 ? n : 0);
    if (n < 0 || getgroups(n, have.data()) != n) return "getgroups: " + Errno(errno);
    std::vector<gid_t> want = groups;
    std::sort(have.begin(), have.end());
    std::sort(want.begin(), want.end());
    want.erase(std::unique(want.begin(), want.end()), want.end());
    have.erase(std::unique(have.begin(), have.end()), have.end());
    if (have != want) return "supplementary groups differ from the user's";
    if (uid != 0 && !Kept(keep_permitted, CAP_SETUID) && (setuid(0) == 0 || seteuid(0) == 0)) {
      return "setuid(0) succeeded";
    }
    if (std::string left = LeftoverCapability(keep_permitted); !left.empty()) return left;
    return "";
  }
};

// What the process is now, for HOME and USER when it kept its uid.
ResolvedUser CurrentUser(const std::string& passwd) {
  ResolvedUser user;
  std::string error;
  if (!ResolveUser(std::to_string(getuid()), passwd, "", &user, &error)) {
    user.uid = getuid();
    user.name = std::to_string(user.uid);
  }
  user.gid = getgid();
  return user;
}

bool AllDigitsOrColon(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == ':'; });
}

}  // namespace

AgentOptions AgentOptions::FromEnvironment() {
  AgentOptions options;
  auto read = [](const char* name, std::string* out) {
    const char* v = getenv(name);
    if (v != nullptr && *v != '\0') *out = v;
  };
  read("AGENT_USER", &options.user);
  read("AGENT_WORKDIR", &options.workdir);
  read("SAGEWAI_PASSWD_FILE", &options.passwd_path);
  read("SAGEWAI_GROUP_FILE", &options.group_path);
  options.require_drop = Truthy(getenv("AGENT_REQUIRE_DROP"));
  return options;
}

PrivilegeOps& SystemPrivilegeOps() {
  static SystemOps* ops = new SystemOps();
  return *ops;
}

uint64_t SetIdCapabilities() { return (uint64_t{1} << CAP_SETUID) | (uint64_t{1} << CAP_SETGID); }

bool DropPrivileges(const ResolvedUser& target, const DropOptions& options, PrivilegeOps& ops,
                    DropResult* result, std::string* error) {
  const bool require_drop = options.require_drop;
  *result = DropResult();
  const bool root = ops.EffectiveUid() == 0;
  bool changed = false;
  if (root) {
    // Keep the permitted set across setuid so that CAP_SETPCAP can still clear
    // the bounding set afterwards; ClearCapabilities empties it right after.
    const bool keepcaps = ops.SetKeepCaps(true) == 0;
    int err = ops.SetGroups(target.groups);
    const char* failed = "setgroups";
    if (err == 0) {
      err = ops.SetResGid(target.gid);
      failed = "setresgid";
    }
    if (err == 0) {
      err = ops.SetResUid(target.uid);
      failed = "setresuid";
    }
    if (keepcaps) ops.SetKeepCaps(false);
    if (err == 0) {
      changed = true;
    } else if (err != EPERM) {
      *error = std::string("cannot switch to user ") + Describe(target) + ": " + failed + ": " +
               Errno(err);
      return false;
    } else if (target.uid == 0) {
      log::Debug("already uid 0, as AGENT_USER asks; identity left unchanged",
                 {{"call", failed}, {"error", Errno(err)}});
    } else if (require_drop) {
      *error = std::string("refusing to start: cannot switch to user ") + Describe(target) + " (" +
               failed + ": " + Errno(err) + ") and AGENT_REQUIRE_DROP is set; " + kRemedy;
      return false;
    } else {
      const std::string message =
          "cannot switch to the " + target.name +
          " user: the container lacks CAP_SETUID/CAP_SETGID; continuing as uid 0 without "
          "capabilities and with no_new_privs, tools under the same uid. To fix, " +
          std::string(kRemedy) + "; set AGENT_REQUIRE_DROP=1 to refuse instead";
      const log::Level level = options.quiet ? log::Level::kDebug : log::Level::kWarn;
      if (log::Enabled(level)) log::Write(level, message,
                 {{"user", target.name}, {"uid", target.uid}, {"call", failed},
                  {"error", Errno(err)}});
    }
  }

  bool bounding_cleared = false;
  const uint64_t keep = changed ? options.keep_permitted : 0;
  if (int err = ops.ClearCapabilities(keep, &bounding_cleared); err != 0) {
    *error = "cannot clear the capability sets: " + Errno(err);
    return false;
  }
  if (!bounding_cleared) {
    log::Debug(
        "bounding set kept: clearing it needs CAP_SETPCAP, which this process lacks "
        "(inert under no_new_privs)");
  }
  if (int err = ops.SetNoNewPrivs(); err != 0) {
    *error = "cannot set no_new_privs: " + Errno(err);
    return false;
  }

  result->dropped_user = changed;
  result->caps_cleared = true;
  result->bounding_cleared = bounding_cleared;
  if (changed) {
    result->uid = target.uid;
    result->gid = target.gid;
    if (std::string problem = ops.Verify(target.uid, target.gid, target.groups, keep);
        !problem.empty()) {
      *error = "privilege drop to " + Describe(target) + " did not hold: " + problem;
      return false;
    }
  } else {
    result->uid = getuid();
    result->gid = getgid();
    if (!root && target.uid != result->uid) {
      log::Debug("already unprivileged: keeping the current uid",
                 {{"uid", result->uid}, {"agent_user_uid", target.uid}});
    }
  }
  return true;
}

std::string ChooseHome(const std::string& passwd_home, uid_t uid) {
  struct stat st;
  if (!passwd_home.empty() && stat(passwd_home.c_str(), &st) == 0 && S_ISDIR(st.st_mode) &&
      faccessat(AT_FDCWD, passwd_home.c_str(), W_OK | X_OK, AT_EACCESS) == 0) {
    return passwd_home;
  }
  const std::string fallback = "/tmp/sagewai-home-" + std::to_string(uid);
  if (mkdir(fallback.c_str(), 0700) != 0 && errno != EEXIST) {
    log::Warn("no writable home directory",
              {{"passwd_home", passwd_home}, {"fallback", fallback}, {"error", Errno(errno)}});
    return passwd_home.empty() ? "/" : passwd_home;
  }
  // An existing directory is only used if it is ours and not a link.
  if (lstat(fallback.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid) {
    log::Warn("no writable home directory: the fallback exists and is not the user's",
              {{"passwd_home", passwd_home}, {"fallback", fallback}});
    return passwd_home.empty() ? "/" : passwd_home;
  }
  chmod(fallback.c_str(), 0700);
  log::Debug("home directory not writable; using a private one under /tmp",
             {{"passwd_home", passwd_home}, {"home", fallback}});
  return fallback;
}

std::string EnterWorkdir(const std::string& workdir, const std::string& home) {
  struct stat st;
  std::string why;
  if (stat(workdir.c_str(), &st) != 0) {
    why = Errno(errno);
  } else if (!S_ISDIR(st.st_mode)) {
    why = "not a directory";
  } else if (chdir(workdir.c_str()) != 0) {
    why = Errno(errno);
  }
  if (!why.empty()) {
    log::Warn(
        "cannot enter the work directory; starting in HOME instead. Create it in the "
        "image, mount one there, or set AGENT_WORKDIR",
        {{"workdir", workdir}, {"error", why}, {"home", home}});
    if (chdir(home.c_str()) == 0) return home;
    return chdir("/") == 0 ? "/" : home;
  }
  if (faccessat(AT_FDCWD, workdir.c_str(), W_OK, AT_EACCESS) != 0) {
    const std::string owner = std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid);
    log::Warn(
        "work directory is not writable by the agent user: tools cannot create files in "
        "it. Fix: chown " +
            std::to_string(geteuid()) + ":" + std::to_string(getegid()) + " " + workdir +
            " in the image, or mount a directory that user can write there",
        {{"workdir", workdir},
         {"owner", owner},
         {"mode", OctalMode(st.st_mode)},
         {"uid", geteuid()}});
  }
  return workdir;
}

bool ReadUserDatabases(const AgentOptions& options, std::string* passwd, std::string* group,
                       std::string* error) {
  std::string read_error;
  if (!ReadSmallFile(options.passwd_path, passwd, &read_error)) {
    // A uid or uid:gid needs no passwd entry; a name does.
    if (!AllDigitsOrColon(options.user)) {
      *error =
          "refusing to start: cannot resolve AGENT_USER \"" + options.user + "\": " + read_error;
      return false;
    }
    log::Debug("no passwd file; using the numeric AGENT_USER as is", {{"error", read_error}});
    passwd->clear();
  }
  if (!ReadSmallFile(options.group_path, group, &read_error)) {
    log::Debug("no group file; no supplementary groups", {{"error", read_error}});
    group->clear();
  }
  return true;
}

bool BecomeAgent(const AgentOptions& options, AgentIdentity* identity, std::string* error) {
  std::string passwd, group;
  if (!ReadUserDatabases(options, &passwd, &group, error)) return false;
  ResolvedUser target;
  if (!ResolveUser(options.user, passwd, group, &target, error)) {
    *error = "refusing to start: " + *error;
    return false;
  }

  DropResult drop;
  if (!DropPrivileges(target, options.require_drop, SystemPrivilegeOps(), &drop, error)) {
    return false;
  }
  const ResolvedUser user =
      drop.uid == target.uid && drop.gid == target.gid ? target : CurrentUser(passwd);

  const std::string home = ChooseHome(user.home, drop.uid);
  setenv("HOME", home.c_str(), 1);
  setenv("USER", user.name.c_str(), 1);
  setenv("LOGNAME", user.name.c_str(), 1);
  const std::string cwd = EnterWorkdir(options.workdir, home);
  setenv("PWD", cwd.c_str(), 1);

  *identity = AgentIdentity{drop.uid, drop.gid,          user.name,         home,
                            cwd,      drop.dropped_user, drop.caps_cleared, drop.bounding_cleared};
  log::Debug("running as the agent user", {{"user", user.name},
                                           {"uid", drop.uid},
                                           {"gid", drop.gid},
                                           {"home", home},
                                           {"workdir", cwd},
                                           {"dropped_user", drop.dropped_user},
                                           {"bounding_cleared", drop.bounding_cleared}});
  return true;
}

}  // namespace sagewai
