#include "tool-runner/supervisor/process_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <utility>

#include "tool-runner/supervisor/tool_credentials.h"

namespace sagewai {
namespace {

struct ProcStat {
  pid_t ppid = 0;
  pid_t pgrp = 0;
  char state = '?';
  unsigned long long start_time = 0;
};

// Fields 3 (state), 4 (ppid), 5 (pgrp) and 22 (starttime) of /proc/PID/stat.
bool ReadProcStat(pid_t pid, ProcStat* out) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return false;
  buf[n] = '\0';
  // The command name may contain spaces and parentheses: parse after the last ')'.
  char* rparen = strrchr(buf, ')');
  if (rparen == nullptr) return false;
  int ppid, pgrp;
  unsigned long long start;
  // state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
  // utime stime cutime cstime priority nice num_threads itrealvalue starttime
  if (sscanf(rparen + 1,
             " %c %d %d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
             &out->state, &ppid, &pgrp, &start) != 4) {
    return false;
  }
  out->ppid = ppid;
  out->pgrp = pgrp;
  out->start_time = start;
  return true;
}

// Every process, from /proc.
std::unordered_map<pid_t, ProcStat> ProcessTable() {
  std::unordered_map<pid_t, ProcStat> table;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return table;
  while (dirent* entry = readdir(dir)) {
    char* end;
    long pid = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    ProcStat st;
    if (ReadProcStat(static_cast<pid_t>(pid), &st)) table[static_cast<pid_t>(pid)] = st;
  }
  closedir(dir);
  return table;
}

// Processes descending from any of `roots`.
std::vector<std::pair<pid_t, ProcStat>> Descendants(
    const std::unordered_map<pid_t, ProcStat>& table, const std::vector<pid_t>& roots) {
  std::vector<std::pair<pid_t, ProcStat>> out;
  for (const auto& [pid, st] : table) {
    for (pid_t p = st.ppid, hops = 0; p > 1 && hops < 4096; ++hops) {
      if (std::find(roots.begin(), roots.end(), p) != roots.end()) {
        out.emplace_back(pid, st);
        break;
      }
      auto it = table.find(p);
      if (it == table.end()) break;
      p = it->second.ppid;
    }
  }
  return out;
}

void Remember(std::vector<ProcessRef>* refs, ProcessRef ref) {
  if (refs != nullptr && std::find(refs->begin(), refs->end(), ref) == refs->end()) {
    refs->push_back(ref);
  }
}

}  // namespace

int SignalTree(pid_t pgid, pid_t root, int sig, std::vector<ProcessRef>* outside) {
  // Find the descendants first: once the group is signalled, dying parents
  // hand their children to the subreaper and the ancestry is lost.
  std::vector<std::pair<pid_t, ProcStat>> descendants;
  if (root > 0) descendants = Descendants(ProcessTable(), {root});
  int signalled = 0;
  if (pgid > 0 && SignalTool(-pgid, sig) == 0) ++signalled;
  for (const auto& [pid, st] : descendants) {
    if (getpgid(pid) == pgid) continue;
    Remember(outside, ProcessRef{pid, st.start_time});
    if (SignalTool(pid, sig) == 0) ++signalled;
  }
  return signalled;
}

int SignalRefs(std::vector<ProcessRef>* refs, int sig) {
  if (refs->empty()) return 0;
  const auto table = ProcessTable();
  std::vector<ProcessRef> live;
  std::vector<pid_t> roots;
  for (const ProcessRef& ref : *refs) {
    auto it = table.find(ref.pid);
    if (it == table.end() || it->second.start_time != ref.start_time || it->second.state == 'Z') {
      continue;
    }
    live.push_back(ref);
    roots.push_back(ref.pid);
  }
  for (const auto& [pid, st] : Descendants(table, roots)) {
    if (st.state != 'Z') Remember(&live, ProcessRef{pid, st.start_time});
  }
  int signalled = 0;
  for (const ProcessRef& ref : live) {
    if (SignalTool(ref.pid, sig) == 0) ++signalled;
  }
  *refs = std::move(live);
  return signalled;
}

bool GroupAlive(pid_t pgid) { return pgid > 0 && (kill(-pgid, 0) == 0 || errno == EPERM); }

bool RefExists(const ProcessRef& ref) {
  ProcStat st;
  return ReadProcStat(ref.pid, &st) && st.start_time == ref.start_time;
}

bool RefOf(pid_t pid, ProcessRef* ref) {
  ProcStat st;
  if (!ReadProcStat(pid, &st)) return false;
  *ref = ProcessRef{pid, st.start_time};
  return true;
}

std::vector<ProcessRef> LivingMembers(pid_t pgid, const std::vector<ProcessRef>& refs) {
  std::vector<ProcessRef> living;
  for (const auto& [pid, st] : ProcessTable()) {
    if (st.state == 'Z') continue;
    const ProcessRef ref{pid, st.start_time};
    if ((pgid > 0 && st.pgrp == pgid) || std::find(refs.begin(), refs.end(), ref) != refs.end()) {
      living.push_back(ref);
    }
  }
  return living;
}

}  // namespace sagewai
