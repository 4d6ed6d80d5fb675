#include "tool-runner/supervisor/call_cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"
#include "common/fd_io.h"
#include "tool-runner/supervisor/tool_credentials.h"

namespace sagewai {
namespace {

// The path of this process in the cgroup v2 hierarchy ("0::/path").
std::string OwnCgroupPath() {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "0::")) return line.substr(3);
  }
  return "";
}

// Where the cgroup2 file system is mounted, and which cgroup is its root.
bool FindCgroup2Mount(std::string* mount_point, std::string* root) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point options [optional...] - type source super-options
    const size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::vector<std::string> after = absl::StrSplit(line.substr(dash + 3), ' ');
    if (after.empty() || after[0] != "cgroup2") continue;
    std::vector<std::string> before = absl::StrSplit(line.substr(0, dash), ' ');
    if (before.size() < 6) continue;
    *root = before[3];
    *mount_point = before[4];
    return true;
  }
  return false;
}

int WriteFileAt(int dir, const char* name, absl::string_view value) {
  UniqueFd fd(openat(dir, name, O_WRONLY | O_CLOEXEC));
  if (!fd) return errno;
  return WriteAll(fd.get(), value.data(), value.size()) ? 0 : errno;
}

// Empty call cgroups left by runners that are gone (killed before they
// could remove them); rmdir fails on any that still holds a process.
void RemoveStale(const std::string& base) {
  DIR* dir = opendir(base.c_str());
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    int owner = 0;
    if (sscanf(entry->d_name, "sagewai-call-%d-", &owner) != 1 || owner == getpid()) continue;
    if (kill(owner, 0) == 0 || errno != ESRCH) continue;
    rmdir((base + "/" + entry->d_name).c_str());
  }
  closedir(dir);
}

}  // namespace

std::vector<pid_t> CallCgroup::Members() {
  std::vector<pid_t> members;
  UniqueFd fd(openat(dir_.get(), "cgroup.procs", O_RDONLY | O_CLOEXEC));
  std::string pids;
  if (!fd || !ReadToEnd(fd.get(), &pids, 1 << 20)) return members;
  for (absl::string_view line : absl::StrSplit(pids, '\n', absl::SkipEmpty())) {
    int pid;
    if (absl::SimpleAtoi(line, &pid) && pid > 0) members.push_back(pid);
  }
  return members;
}

void CallCgroup::Signal(int sig) {
  for (pid_t pid : Members()) SignalTool(pid, sig);
}

void CallCgroup::Kill() { WriteFileAt(dir_.get(), "cgroup.kill", "1"); }

UniqueFd CallCgroup::Watch(bool* empty) {
  UniqueFd fd(openat(dir_.get(), "cgroup.events", O_RDONLY | O_CLOEXEC));
  std::string events;
  char buf[256];
  const long n = fd ? ReadSome(fd.get(), buf, sizeof buf) : -1;
  if (n > 0) events.assign(buf, n);
  *empty = n > 0 && absl::StrContains(events, "populated 0");
  if (*empty) return UniqueFd();
  return fd;
}

bool CallCgroup::Remove() { return rmdir(path_.c_str()) == 0 || errno == ENOENT; }

absl::StatusOr<std::unique_ptr<CallCgroups>> CallCgroups::Detect() {
  const std::string own = OwnCgroupPath();
  if (own.empty()) return absl::UnavailableError("no cgroup v2 hierarchy (/proc/self/cgroup)");
  std::string mount_point, root;
  if (!FindCgroup2Mount(&mount_point, &root)) {
    return absl::UnavailableError("cgroup2 is not mounted here");
  }
  if (!absl::StartsWith(own, root)) {
    return absl::UnavailableError(
        absl::StrCat("the runner's cgroup ", own, " is outside the mounted one ", root));
  }
  std::string base = mount_point + own.substr(root == "/" ? 0 : root.size());
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  // (The root cgroup has no cgroup.kill of its own: look at a child.)
  const std::string probe = absl::StrCat(base, "/sagewai-probe-", getpid());
  if (mkdir(probe.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoStatus(absl::StrCat("creating a cgroup under ", base));
  }
  const bool has_kill = access((probe + "/cgroup.kill").c_str(), W_OK) == 0;
  const bool can_join = access((probe + "/cgroup.procs").c_str(), W_OK) == 0;
  rmdir(probe.c_str());
  if (!has_kill) {
    return absl::UnavailableError(absl::StrCat(base, ": no cgroup.kill (kernel before 5.14)"));
  }
  if (!can_join) {
    return absl::UnavailableError(absl::StrCat("cannot move processes into cgroups under ", base));
  }
  RemoveStale(base);
  return std::unique_ptr<CallCgroups>(new CallCgroups(std::move(base)));
}

absl::StatusOr<std::unique_ptr<CallCgroup>> CallCgroups::Create() {
  // Unique in this process, whatever supervisor (tests start many) asks.
  static std::atomic<uint64_t> next{1};
  std::string path = absl::StrCat(base_, "/sagewai-call-", getpid(), "-", next++);
  if (mkdir(path.c_str(), 0755) != 0) return ErrnoStatus(absl::StrCat("mkdir ", path));
  UniqueFd dir(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) {
    const int err = errno;
    rmdir(path.c_str());
    return ErrnoStatus(absl::StrCat("open ", path), err);
  }
  return std::make_unique<CallCgroup>(std::move(path), std::move(dir));
}

}  // namespace sagewai
