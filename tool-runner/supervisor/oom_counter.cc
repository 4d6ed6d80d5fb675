#include "tool-runner/supervisor/oom_counter.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/unique_fd.h"

namespace sagewai {
namespace {

// Small /proc and /sys files: one read (no iostreams on the call path).
std::optional<std::string> ReadSmallFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) return std::nullopt;
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

std::optional<uint64_t> ParseOomKillCount(absl::string_view text) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::ConsumePrefix(&line, "oom_kill ")) continue;
    uint64_t n = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(line), &n)) return n;
  }
  return std::nullopt;
}

std::optional<std::string> FindOomCounterFile(const OomCounterSources& sources) {
  std::vector<std::string> candidates;
  std::optional<std::string> cgroups = ReadSmallFile(sources.proc_self_cgroup);
  std::string v1_path;
  for (absl::string_view line : absl::StrSplit(cgroups.value_or(""), '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    std::string path(f[2]);
    if (path == "/") path.clear();
    if (f[0] == "0" && f[1].empty()) {
      candidates.push_back(sources.cgroup_root + path + "/memory.events");
    }
    for (absl::string_view c : absl::StrSplit(f[1], ',')) {
      if (c == "memory") v1_path = path;
    }
  }
  candidates.push_back(sources.cgroup_root + "/memory.events");
  candidates.push_back(sources.cgroup_root + "/memory" + v1_path + "/memory.oom_control");
  candidates.push_back(sources.cgroup_root + "/memory/memory.oom_control");
  for (const std::string& file : candidates) {
    if (ReadOomKillCount(file)) return file;
  }
  return std::nullopt;
}

std::optional<uint64_t> ReadOomKillCount(const std::string& file) {
  std::optional<std::string> text = ReadSmallFile(file);
  if (!text) return std::nullopt;
  return ParseOomKillCount(*text);
}

bool KilledByOomKiller(const OomEvidence& e) {
  const bool sigkill = e.signal == SIGKILL || (e.signal == 0 && e.exit_code == 128 + SIGKILL);
  if (!sigkill || e.runner_sent_sigkill) return false;
  return e.count_before && e.count_after && *e.count_after > *e.count_before;
}

}  // namespace sagewai
