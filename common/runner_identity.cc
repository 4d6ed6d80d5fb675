#include "common/runner_identity.h"

#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>

#include "common/log.h"

namespace sagewai {
namespace {

bool CanSeparate(const RunnerUsers& users) {
  return users.runner_found && users.runner.uid != 0 && users.runner.uid != users.tool.uid;
}

}  // namespace

bool ResolveRunnerUsers(const AgentOptions& options, RunnerUsers* users, std::string* error) {
  std::string passwd, group;
  if (!ReadUserDatabases(options, &passwd, &group, error)) return false;
  if (!ResolveUser(options.user, passwd, group, &users->tool, error)) {
    *error = "refusing to start: " + *error;
    return false;
  }
  const char* spec = getenv(kRunnerUserEnv);
  users->runner_spec = spec != nullptr && *spec != '\0' ? spec : kDefaultRunnerUser;
  std::string runner_error;
  users->runner_found = ResolveUser(users->runner_spec, passwd, group, &users->runner, &runner_error);
  if (!users->runner_found) {
    log::Debug("no runner user", {{"user", users->runner_spec}, {"error", runner_error}});
  }
  return true;
}

const ResolvedUser& RunnerTarget(const RunnerUsers& users) {
  return CanSeparate(users) ? users.runner : users.tool;
}

bool BecomeRunner(const AgentOptions& options, RunnerIdentity* identity, std::string* error) {
  RunnerUsers users;
  if (!ResolveRunnerUsers(options, &users, error)) return false;
  *identity = RunnerIdentity();
  identity->tool = users.tool;

  const bool root = geteuid() == 0;
  DropResult drop;
  if (root && CanSeparate(users)) {
    DropOptions drop_options{options.require_drop, SetIdCapabilities(), false};
    if (!DropPrivileges(users.runner, drop_options, SystemPrivilegeOps(), &drop, error)) {
      return false;
    }
    identity->separated = drop.dropped_user;
    if (!drop.dropped_user) {
      identity->note =
          "the container has no CAP_SETUID/CAP_SETGID, so tools run under the runner's uid 0; "
          "give it --cap-add SETUID --cap-add SETGID --cap-add SETPCAP to separate them";
    }
  } else {
    if (!DropPrivileges(users.tool, options.require_drop, SystemPrivilegeOps(), &drop, error)) {
      return false;
    }
    if (!root) {
      identity->note = "started as uid " + std::to_string(drop.uid) +
                       " (docker --user, Kubernetes runAsUser), so tools run under the runner's "
                       "uid; start the container as root with only CAP_SETUID, CAP_SETGID and "
                       "CAP_SETPCAP to separate them";
    } else if (!users.runner_found) {
      identity->note = "the image has no user \"" + users.runner_spec +
                       "\" (SAGEWAI_RUNNER_USER), so the runner runs as the agent user; create it "
                       "in the image (uid " +
                       std::to_string(kDefaultRunnerUid) + ") to separate them";
    } else {
      identity->note = "the runner user \"" + users.runner_spec +
                       "\" has the agent's uid (or 0), so tools run under the runner's uid; give "
                       "it its own uid (" +
                       std::to_string(kDefaultRunnerUid) + ")";
    }
  }
  identity->uid = drop.uid;
  identity->gid = drop.gid;
  if (!identity->separated) {
    // Tools inherit what the runner has.
    identity->tool.uid = drop.uid;
    identity->tool.gid = drop.gid;
    if (!drop.dropped_user) identity->tool.groups.clear();
  }
  // A uid change resets the dumpable flag to the system's default.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    *error = "prctl(PR_SET_DUMPABLE, 0) failed";
    return false;
  }
  return true;
}

}  // namespace sagewai
