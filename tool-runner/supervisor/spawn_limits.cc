#include "tool-runner/supervisor/spawn_limits.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errno_status.h"
#include "common/fd_io.h"
#include "common/unique_fd.h"

namespace sagewai {
namespace {

std::string ReadSmallFile(const std::string& path) {
  std::string text;
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd) ReadToEnd(fd.get(), &text, 1 << 20);
  return text;
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// mountinfo writes space, tab, newline and backslash as \ooo.
std::string UnescapeMountField(absl::string_view field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && absl::ascii_isdigit(field[i + 1]) &&
        absl::ascii_isdigit(field[i + 2]) && absl::ascii_isdigit(field[i + 3])) {
      out.push_back(static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                      (field[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

bool HasOption(absl::string_view options, absl::string_view name) {
  for (absl::string_view option : absl::StrSplit(options, ',')) {
    if (option == name) return true;
  }
  return false;
}

// Which hierarchy holds the pids controller, and the runner's path in it.
struct PidsHierarchy {
  bool v1 = false;
  std::string path;  // as /proc/self/cgroup names it
};

std::optional<PidsHierarchy> FindPidsHierarchy(const std::string& proc_cgroup) {
  std::optional<PidsHierarchy> v2;
  // hierarchy-id:controllers:path
  for (absl::string_view line : absl::StrSplit(proc_cgroup, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    if (f[0] == "0" && f[1].empty()) {
      v2 = PidsHierarchy{false, std::string(f[2])};
      continue;
    }
    // A v1 pids controller takes the controller away from v2.
    if (HasOption(f[1], "pids")) return PidsHierarchy{true, std::string(f[2])};
  }
  return v2;
}

// The mount point of the hierarchy and the cgroup at its root.
struct CgroupMount {
  std::string point;
  std::string root = "/";
};

std::optional<CgroupMount> FindMount(const std::string& mountinfo, bool v1) {
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    // id parent major:minor root mount-point options [optional...] - type source super-options
    const size_t dash = line.find(" - ");
    if (dash == absl::string_view::npos) continue;
    std::vector<absl::string_view> after = absl::StrSplit(line.substr(dash + 3), ' ');
    std::vector<absl::string_view> before = absl::StrSplit(line.substr(0, dash), ' ');
    if (after.size() < 3 || before.size() < 5) continue;
    const bool match =
        v1 ? after[0] == "cgroup" && HasOption(after[2], "pids") : after[0] == "cgroup2";
    if (match) return CgroupMount{UnescapeMountField(before[4]), UnescapeMountField(before[3])};
  }
  return std::nullopt;
}

// "max" (no limit) and unreadable files are nullopt.
std::optional<int64_t> ReadCount(const std::string& path) {
  std::string text = ReadSmallFile(path);
  int64_t n;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &n)) return std::nullopt;
  return n;
}

uint64_t NprocLimit(const SpawnLimitSources& sources) {
  if (sources.nproc_limit.has_value()) return *sources.nproc_limit;
  rlimit lim;
  if (getrlimit(RLIMIT_NPROC, &lim) != 0 || lim.rlim_cur == RLIM_INFINITY) return UINT64_MAX;
  return lim.rlim_cur;
}

constexpr absl::string_view kWhatToDo = " — retry later or raise the limit";

}  // namespace

std::optional<PidsUsage> TightestPidsLimit(const SpawnLimitSources& sources) {
  std::optional<PidsHierarchy> hierarchy =
      FindPidsHierarchy(ReadSmallFile(sources.proc_self_cgroup));
  if (!hierarchy) return std::nullopt;
  CgroupMount mount = FindMount(ReadSmallFile(sources.proc_self_mountinfo), hierarchy->v1)
                          .value_or(CgroupMount{hierarchy->v1 ? sources.cgroup_root + "/pids"
                                                              : sources.cgroup_root});
  while (mount.point.size() > 1 && mount.point.back() == '/') mount.point.pop_back();
  // The runner's cgroup as a directory under the mount; its root when the
  // path lies outside what is mounted (another cgroup namespace).
  std::string dir = mount.point;
  const std::string& root = mount.root;
  if (absl::StartsWith(hierarchy->path, root)) {
    absl::string_view rest =
        absl::string_view(hierarchy->path).substr(root == "/" ? 0 : root.size());
    std::string candidate = absl::StrCat(mount.point, rest);
    while (candidate.size() > 1 && candidate.back() == '/') candidate.pop_back();
    if (IsDirectory(candidate)) dir = candidate;
  }
  std::optional<PidsUsage> tightest;
  for (;;) {
    std::optional<int64_t> max = ReadCount(dir + "/pids.max");
    std::optional<int64_t> current = ReadCount(dir + "/pids.current");
    if (max && current && (!tightest || *max - *current < tightest->max - tightest->current)) {
      tightest = PidsUsage{dir, *current, *max};
    }
    if (dir.size() <= mount.point.size()) break;
    dir.resize(dir.rfind('/'));
  }
  return tightest;
}

absl::Status SpawnFailureStatus(absl::string_view what, int err, const SpawnLimitSources& sources) {
  absl::Status status = ErrnoStatus(what, err);
  if (err != EAGAIN) return status;
  const std::optional<PidsUsage> pids = TightestPidsLimit(sources);
  const uint64_t nproc = NprocLimit(sources);
  std::string why;
  // Counts move as processes end; a cgroup within a few of its limit is the one.
  if (pids && (nproc == UINT64_MAX || pids->max - pids->current <= 2)) {
    why = absl::StrCat("the sandbox's process limit is reached (pids.current ", pids->current,
                       " of pids.max ", pids->max, "; docker run --pids-limit)");
  } else if (nproc != UINT64_MAX) {
    why = absl::StrCat("the runner user's process limit is reached (RLIMIT_NPROC ", nproc,
                       "; docker run --ulimit nproc)");
  } else {
    why =
        "the kernel refused a new process or thread (no pids cgroup limit or RLIMIT_NPROC "
        "found: kernel.pid_max or kernel.threads-max?)";
  }
  absl::Status out(
      absl::StatusCode::kResourceExhausted,
      absl::StrCat("cannot start the command: ", why, kWhatToDo, " [", status.message(), "]"));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

uint32_t ConcurrentCallsForPidsLimit(int64_t pids_max, int64_t reserved, uint32_t ceiling) {
  const int64_t calls = std::max({pids_max - reserved, pids_max / 4, int64_t{1}});
  return static_cast<uint32_t>(std::min<int64_t>(calls, ceiling));
}

}  // namespace sagewai
