// A cgroup (v2) per call, where the kernel lets the runner create them under
// its own cgroup: the call's processes are then known exactly, wherever they
// moved (new sessions, new groups, reparenting), and one write to cgroup.kill
// ends them all. Docker's default (cgroup v1, or v2 mounted read-only in a
// private cgroup namespace) does not allow it; the runner then scans /proc.
#ifndef SAGEWAI_TOOL_RUNNER_SUPERVISOR_CALL_CGROUP_H_
#define SAGEWAI_TOOL_RUNNER_SUPERVISOR_CALL_CGROUP_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace sagewai {

class CallCgroup {
 public:
  CallCgroup(std::string path, UniqueFd dir) : path_(std::move(path)), dir_(std::move(dir)) {}

  // The directory, for ProcessSpec::cgroup_fd.
  int dir_fd() const { return dir_.get(); }
  const std::string& path() const { return path_; }

  // The pids in it now.
  std::vector<pid_t> Members();
  // Sends `sig` to every process in it (as the tools' owner).
  void Signal(int sig);
  // SIGKILL to every process in it, by the kernel (cgroup.kill).
  void Kill();
  // Opens cgroup.events and reads it through that descriptor: `*empty` when
  // no process is left; else the descriptor reports EPOLLPRI on the next
  // change.
  UniqueFd Watch(bool* empty);
  // rmdir; false while processes remain (EBUSY).
  bool Remove();

 private:
  std::string path_;
  UniqueFd dir_;
};

class CallCgroups {
 public:
  // The runner's own cgroup v2 directory, when it can create child cgroups
  // there and the kernel has cgroup.kill (5.14); else an error that says why.
  static absl::StatusOr<std::unique_ptr<CallCgroups>> Detect();

  // A new, empty cgroup for a call.
  absl::StatusOr<std::unique_ptr<CallCgroup>> Create();

  const std::string& base() const { return base_; }

 private:
  explicit CallCgroups(std::string base) : base_(std::move(base)) {}
  std::string base_;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SUPERVISOR_CALL_CGROUP_H_
