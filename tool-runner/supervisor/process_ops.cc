#include "tool-runner/supervisor/process_ops.h"

#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <unordered_map>
#include <utility>

#include "common/log.h"
#include "tool-runner/supervisor/call_cgroup.h"
#include "tool-runner/supervisor/tool_credentials.h"

namespace sagewai {
namespace {

// For kernels without pidfd_open (before 5.3): one tick, then look again.
UniqueFd RecheckTimer() {
  UniqueFd fd(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  itimerspec tick{};
  tick.it_value.tv_nsec = 10 * 1000 * 1000;
  if (fd) timerfd_settime(fd.get(), 0, &tick, nullptr);
  return fd;
}

class KernelProcessOps : public ProcessOps {
 public:
  explicit KernelProcessOps(std::unique_ptr<CallCgroups> cgroups) : cgroups_(std::move(cgroups)) {}
  ~KernelProcessOps() override {
    for (auto& [call, cgroup] : cgroups_of_calls_) cgroup->Remove();
    for (auto& cgroup : lingering_) cgroup->Remove();
  }

  absl::StatusOr<SpawnedProcess> Spawn(uint64_t call, const ProcessSpec& spec) override {
    if (cgroups_ == nullptr) return SpawnProcess(spec);
    RemoveLingering();
    auto cgroup = cgroups_->Create();
    if (!cgroup.ok()) return cgroup.status();
    ProcessSpec in_cgroup = spec;
    in_cgroup.cgroup_fd = (*cgroup)->dir_fd();
    auto spawned = SpawnProcess(in_cgroup);
    if (!spawned.ok()) {
      (*cgroup)->Remove();
      return spawned;
    }
    cgroups_of_calls_[call] = std::move(*cgroup);
    return spawned;
  }

  pid_t WaitAny(int* status) override { return waitpid(-1, status, WNOHANG); }

  int Signal(pid_t pid, int sig) override { return SignalTool(pid, sig); }

  void SignalCall(uint64_t call, pid_t pgid, pid_t root, int sig,
                  std::vector<ProcessRef>* outside) override {
    if (CallCgroup* cgroup = Find(call)) {
      // Remembered, so that the call waits until they are reaped too.
      for (pid_t pid : cgroup->Members()) {
        ProcessRef ref;
        if (RefOf(pid, &ref) &&
            std::find(outside->begin(), outside->end(), ref) == outside->end()) {
          outside->push_back(ref);
        }
      }
      if (sig == SIGKILL) {
        cgroup->Kill();
      } else {
        cgroup->Signal(sig);
      }
      return;
    }
    SignalTree(pgid, root, sig, outside);
    if (sig != SIGKILL) return;
    const std::vector<ProcessRef> before = *outside;
    SignalRefs(outside, SIGKILL);
    // SignalRefs drops zombies; CallAlive waits for them to be reaped.
    for (const ProcessRef& ref : before) {
      if (std::find(outside->begin(), outside->end(), ref) == outside->end() && RefExists(ref)) {
        outside->push_back(ref);
      }
    }
  }

  std::vector<UniqueFd> WatchCall(uint64_t call, pid_t pgid,
                                  std::vector<ProcessRef>* outside) override {
    std::vector<UniqueFd> fds;
    if (CallCgroup* cgroup = Find(call)) {
      bool empty = false;
      UniqueFd events = cgroup->Watch(&empty);
      if (!empty) fds.push_back(events ? std::move(events) : RecheckTimer());
      return fds;
    }
    std::vector<ProcessRef> opened;
    std::vector<UniqueFd> pidfds;
    for (const ProcessRef& ref : LivingMembers(pgid, *outside)) {
      UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, ref.pid, 0)));
      if (!pidfd && errno == ENOSYS) {
        fds.push_back(RecheckTimer());
        return fds;
      }
      if (!pidfd) continue;  // gone already
      opened.push_back(ref);
      pidfds.push_back(std::move(pidfd));
    }
    // Keep only the pidfds of processes that were still the same ones after
    // they were opened: a pid reused in between is not the call's.
    const std::vector<ProcessRef> confirmed = LivingMembers(0, opened);
    for (size_t i = 0; i < opened.size(); ++i) {
      if (std::find(confirmed.begin(), confirmed.end(), opened[i]) != confirmed.end()) {
        fds.push_back(std::move(pidfds[i]));
      }
    }
    // Zombies stay: CallAlive waits for them to be reaped.
    outside->erase(std::remove_if(outside->begin(), outside->end(),
                                  [](const ProcessRef& ref) { return !RefExists(ref); }),
                   outside->end());
    return fds;
  }

  bool CallAlive(uint64_t, pid_t pgid, const std::vector<ProcessRef>& outside) override {
    if (GroupAlive(pgid)) return true;
    for (const ProcessRef& ref : outside) {
      if (RefExists(ref)) return true;
    }
    return false;
  }

  void ReleaseCall(uint64_t call) override {
    auto it = cgroups_of_calls_.find(call);
    if (it == cgroups_of_calls_.end()) return;
    // A background process (`sleep 100 &`) may outlive the call: its
    // cgroup goes once it has ended too.
    if (!it->second->Remove()) lingering_.push_back(std::move(it->second));
    cgroups_of_calls_.erase(it);
  }

 private:
  CallCgroup* Find(uint64_t call) {
    auto it = cgroups_of_calls_.find(call);
    return it == cgroups_of_calls_.end() ? nullptr : it->second.get();
  }
  void RemoveLingering() {
    std::vector<std::unique_ptr<CallCgroup>> keep;
    for (auto& cgroup : lingering_) {
      if (!cgroup->Remove()) keep.push_back(std::move(cgroup));
    }
    lingering_ = std::move(keep);
  }

  std::unique_ptr<CallCgroups> cgroups_;
  std::unordered_map<uint64_t, std::unique_ptr<CallCgroup>> cgroups_of_calls_;
  std::vector<std::unique_ptr<CallCgroup>> lingering_;
};

}  // namespace

std::unique_ptr<ProcessOps> SystemProcessOps(bool call_cgroups) {
  std::unique_ptr<CallCgroups> cgroups;
  if (call_cgroups) {
    auto detected = CallCgroups::Detect();
    if (detected.ok()) {
      cgroups = std::move(*detected);
      log::Info("each call runs in a cgroup of its own", {{"under", cgroups->base()}});
    } else {
      log::Info("calls are ended through their process groups and /proc (no cgroup per call)",
                {{"reason", std::string(detected.status().message())}});
    }
  }
  return std::make_unique<KernelProcessOps>(std::move(cgroups));
}

}  // namespace sagewai
