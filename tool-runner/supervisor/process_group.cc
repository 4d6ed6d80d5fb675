#include "tool-runner/supervisor/process_group.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <unordered_map>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/exec_path.h"
#include "tool-runner/supervisor/tool_credentials.h"

namespace sagewai {
namespace {

// What the child reports through the error pipe before it _exits.
struct ChildFailure {
  int stage;  // index into kStages
  int err;
};
constexpr const char* kStages[] = {"setpgid", "dup2", "chdir", "exec", "inherit fds",
                                   "switch to the tool user"};
enum Stage { kSetpgid = 0, kDup2 = 1, kChdir = 2, kExec = 3, kInherit = 4, kIdentity = 5 };
constexpr int kLastStage = kIdentity;

[[noreturn]] void FailChild(int error_fd, Stage stage) {
  ChildFailure failure{stage, errno};
  (void)!write(error_fd, &failure, sizeof failure);
  _exit(stage == kExec ? (failure.err == ENOENT ? 127 : 126) : 125);
}

// Moves spec.inherit_fds to 3, 4, ... First every descriptor involved goes
// above the targets (close-on-exec copies), so that no source is overwritten
// before it is copied; the error pipe moves too, or a target could close it.
// Returns the error pipe's new number.
int PlaceInheritedFds(const ProcessSpec& spec, int* fds, int error_fd) {
  const size_t n = spec.inherit_fds.size();
  const int above = static_cast<int>(3 + n);
  int moved = fcntl(error_fd, F_DUPFD_CLOEXEC, above);
  if (moved < 0) FailChild(error_fd, kInherit);
  error_fd = moved;
  for (size_t i = 0; i < n; ++i) {
    fds[i] = fcntl(spec.inherit_fds[i], F_DUPFD_CLOEXEC, above);
    if (fds[i] < 0) FailChild(error_fd, kInherit);
  }
  for (size_t i = 0; i < n; ++i) {
    // dup2 clears close-on-exec on the target.
    if (dup2(fds[i], static_cast<int>(3 + i)) < 0) FailChild(error_fd, kInherit);
  }
  return error_fd;
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void ExecChild(const ProcessSpec& spec, char* const* argv, char* const* envp,
                            int in_fd, int out_fd, int err_fd, int error_fd, int* scratch) {
  sigset_t empty;
  sigemptyset(&empty);
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    signal(sig, SIG_DFL);
  }
  sigprocmask(SIG_SETMASK, &empty, nullptr);

  if (spec.new_process_group && setpgid(0, 0) != 0) FailChild(error_fd, kSetpgid);
  if (!spec.inherit_fds.empty()) {
    // The pipe ends for 0, 1 and 2 could sit at 3 or 4 too: lift them first.
    for (int* fd : {&in_fd, &out_fd, &err_fd}) {
      int moved = fcntl(*fd, F_DUPFD_CLOEXEC, static_cast<int>(3 + spec.inherit_fds.size()));
      if (moved < 0) FailChild(error_fd, kInherit);
      *fd = moved;
    }
    error_fd = PlaceInheritedFds(spec, scratch, error_fd);
  }
  if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
      dup2(err_fd, STDERR_FILENO) < 0) {
    FailChild(error_fd, kDup2);
  }
  // The parent's pipe ends are close-on-exec; dup2'd copies are not.
  // The tool user from here on: chdir and exec check its permissions.
  if (int err = BecomeToolInChild(InstalledToolCredentials(), spec.oom_score_adj); err != 0) {
    errno = err;
    FailChild(error_fd, kIdentity);
  }
  if (!spec.cwd.empty() && chdir(spec.cwd.c_str()) != 0) FailChild(error_fd, kChdir);

  execve(argv[0], argv, envp);
  FailChild(error_fd, kExec);
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::string ResolveProgram(absl::string_view name, absl::string_view path_env) {
  if (name.find('/') != absl::string_view::npos) return std::string(name);
  ExecutableLookup found = FindExecutable(std::string_view(name.data(), name.size()),
                                          std::string_view(path_env.data(), path_env.size()));
  return found.kind == ExecutableLookup::kFound ? std::move(found.path) : std::string(name);
}

absl::StatusOr<SpawnedProcess> SpawnProcess(const ProcessSpec& spec) {
  if (spec.argv.empty()) return absl::InvalidArgumentError("SpawnProcess: empty argv");
  if (spec.argv[0].find('/') == std::string::npos) {
    return absl::NotFoundError(absl::StrCat("exec ", spec.argv[0], ": not found in PATH"));
  }
  // Everything the child needs is allocated here, before fork.
  std::vector<char*> argv = CStrings(spec.argv);
  std::vector<char*> envp = CStrings(spec.env);
  std::vector<int> scratch(spec.inherit_fds.size() + 1);

  auto in = MakePipe();
  if (!in.ok()) return in.status();
  auto out = MakePipe();
  if (!out.ok()) return out.status();
  auto err = MakePipe();
  if (!err.ok()) return err.status();
  auto error_pipe = MakePipe();
  if (!error_pipe.ok()) return error_pipe.status();

  pid_t pid = fork();
  if (pid < 0) return ErrnoStatus("fork");
  if (pid == 0) {
    ExecChild(spec, argv.data(), envp.data(), in->read.get(), out->write.get(), err->write.get(),
              error_pipe->write.get(), scratch.data());
  }
  // Parent. Set the group from this side too so that a signal sent right
  // after we return reaches the group even if the child has not run yet.
  if (spec.new_process_group) setpgid(pid, pid);
  error_pipe->write.reset();
  in->read.reset();
  out->write.reset();
  err->write.reset();

  ChildFailure failure{};
  ssize_t n;
  do {
    n = read(error_pipe->read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof failure) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    const int stage = failure.stage >= 0 && failure.stage <= kLastStage ? failure.stage : kExec;
    std::string what = stage == kChdir   ? absl::StrCat("chdir ", spec.cwd)
                       : stage == kExec ? absl::StrCat("exec ", spec.argv[0])
                                         : kStages[stage];
    return ErrnoStatus(what, failure.err);
  }

  for (int fd : {in->write.get(), out->read.get(), err->read.get()}) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  if (spec.oom_score_adj != 0 && !InstalledToolCredentials().separate) {
    // A non-dumpable runner's child cannot open its own /proc files before
    // exec (they belong to root until exec makes it dumpable), so the write
    // in the child fails there; once it has exec'd, its /proc entry is ours
    // again. (A child of separate credentials wrote it itself.)
    const std::string path = absl::StrCat("/proc/", pid, "/oom_score_adj");
    if (int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC); fd >= 0) {
      const std::string value = absl::StrCat(spec.oom_score_adj);
      (void)!write(fd, value.data(), value.size());
      close(fd);
    }
  }
  SpawnedProcess proc;
  proc.pid = pid;
  proc.stdin_fd = std::move(in->write);
  proc.stdout_fd = std::move(out->read);
  proc.stderr_fd = std::move(err->read);
  return proc;
}

namespace {

struct ProcStat {
  pid_t ppid = 0;
  char state = '?';
  unsigned long long start_time = 0;
};

// Fields 3 (state), 4 (ppid) and 22 (starttime) of /proc/PID/stat.
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
  int ppid;
  unsigned long long start;
  // state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt
  // utime stime cutime cstime priority nice num_threads itrealvalue starttime
  if (sscanf(rparen + 1,
             " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
             &out->state, &ppid, &start) != 3) {
    return false;
  }
  out->ppid = ppid;
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

const std::string& ShellPath() {
  static const std::string* shell =
      new std::string(access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh");
  return *shell;
}

}  // namespace sagewai
