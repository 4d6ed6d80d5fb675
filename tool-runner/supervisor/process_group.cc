#include "tool-runner/supervisor/process_group.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/exec_path.h"
#include "common/fd_io.h"
#include "tool-runner/supervisor/spawn_assistant.h"
#include "tool-runner/supervisor/spawn_limits.h"
#include "tool-runner/supervisor/tool_credentials.h"

namespace sagewai {
namespace {

// What the child reports through the error pipe before it _exits.
struct ChildFailure {
  int stage;  // index into kStages
  int err;
};
constexpr const char* kStages[] = {"setpgid",
                                   "dup2",
                                   "chdir",
                                   "exec",
                                   "inherit fds",
                                   "switch to the tool user",
                                   "hand over to the spawn assistant",
                                   "join the call's cgroup"};
enum Stage {
  kSetpgid = 0,
  kDup2 = 1,
  kChdir = 2,
  kExec = 3,
  kInherit = 4,
  kIdentity = 5,
  kAssist = 6,
  kCgroup = 7
};
constexpr int kLastStage = kCgroup;

// Everything the child reads, laid out by the parent before clone.
struct ChildArgs {
  const ProcessSpec* spec;
  char* const* argv;
  char* const* envp;
  int in_fd, out_fd, err_fd;
  int error_fd;         // write end of the CLOEXEC error pipe
  int* scratch;         // spec.inherit_fds.size() ints
  SpawnAssist* assist;  // null: nothing to do before exec
  int assistant_fd;     // where `assist` goes
  int go_fd;            // read end of the pipe the assistant releases us with
};

// The child shares the runner's memory (the spawning thread sleeps until it
// has exec'd): raw system calls where glibc would touch more than errno.
[[noreturn]] void FailChild(int error_fd, Stage stage, int err) {
  ChildFailure failure{stage, err};
  syscall(SYS_write, error_fd, &failure, sizeof failure);
  syscall(SYS_exit_group, stage == kExec ? (err == ENOENT ? 127 : 126) : 125);
  __builtin_unreachable();
}
[[noreturn]] void FailChild(int error_fd, Stage stage) { FailChild(error_fd, stage, errno); }

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

// Runs in the child between clone and exec, on its own stack, with every
// signal blocked: async-signal-safe calls only, no allocation.
int ExecChild(void* raw) {
  const ChildArgs& a = *static_cast<const ChildArgs*>(raw);
  const ProcessSpec& spec = *a.spec;
  int in_fd = a.in_fd, out_fd = a.out_fd, err_fd = a.err_fd, error_fd = a.error_fd;
  if (SpawnAssist* assist = a.assist) {
    // The runner sets what must be in place before the tool's first
    // instruction (oom_score_adj, the call's cgroup), then releases us.
    assist->pid = static_cast<pid_t>(syscall(SYS_getpid));
    if (syscall(SYS_write, a.assistant_fd, &assist, sizeof assist) != sizeof assist) {
      FailChild(error_fd, kAssist);
    }
    char go = 0;
    if (syscall(SYS_read, a.go_fd, &go, 1) != 1) FailChild(error_fd, kAssist, EPIPE);
    if (assist->cgroup_errno != 0) FailChild(error_fd, kCgroup, assist->cgroup_errno);
  }

  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
  }
  if (spec.new_process_group && setpgid(0, 0) != 0) FailChild(error_fd, kSetpgid);
  if (!spec.inherit_fds.empty()) {
    // The pipe ends for 0, 1 and 2 could sit at 3 or 4 too: lift them first.
    for (int* fd : {&in_fd, &out_fd, &err_fd}) {
      int moved = fcntl(*fd, F_DUPFD_CLOEXEC, static_cast<int>(3 + spec.inherit_fds.size()));
      if (moved < 0) FailChild(error_fd, kInherit);
      *fd = moved;
    }
    error_fd = PlaceInheritedFds(spec, a.scratch, error_fd);
  }
  if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
      dup2(err_fd, STDERR_FILENO) < 0) {
    FailChild(error_fd, kDup2);
  }
  // The parent's pipe ends are close-on-exec; dup2'd copies are not.
  // The tool user from here on: chdir and exec check its permissions.
  if (int err = BecomeToolInChild(InstalledToolCredentials()); err != 0) {
    FailChild(error_fd, kIdentity, err);
  }
  if (!spec.cwd.empty() && chdir(spec.cwd.c_str()) != 0) FailChild(error_fd, kChdir);
  sigset_t empty;
  sigemptyset(&empty);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, _NSIG / 8);
  syscall(SYS_execve, a.argv[0], a.argv, a.envp);
  FailChild(error_fd, kExec);
}

// The child's stack: mapped before clone, unmapped once the child has exec'd
// or exited (it shares our memory until then).
class ChildStack {
 public:
  static constexpr size_t kSize = 256 * 1024;
  ChildStack() {
    void* p = mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                   -1, 0);
    if (p != MAP_FAILED) {
      base_ = static_cast<char*>(p);
      mprotect(base_, 4096, PROT_NONE);  // a guard page below
    }
  }
  ~ChildStack() {
    if (base_ != nullptr) munmap(base_, kSize);
  }
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;
  bool ok() const { return base_ != nullptr; }
  void* top() const { return base_ + kSize; }

 private:
  char* base_ = nullptr;
};

// Blocks every signal on the calling thread for a scope: no handler of the
// runner may run in the child before it resets the dispositions.
class ScopedBlockAllSignals {
 public:
  ScopedBlockAllSignals() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old_);
  }
  ~ScopedBlockAllSignals() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

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
  // Everything the child needs is allocated here, before clone.
  std::vector<char*> argv = CStrings(spec.argv);
  std::vector<char*> envp = CStrings(spec.env);
  std::vector<int> scratch(spec.inherit_fds.size() + 1);
  ChildStack stack;
  if (!stack.ok()) return ErrnoStatus("mmap (child stack)");

  auto in = MakePipe();
  if (!in.ok()) return in.status();
  auto out = MakePipe();
  if (!out.ok()) return out.status();
  auto err = MakePipe();
  if (!err.ok()) return err.status();
  auto error_pipe = MakePipe();
  if (!error_pipe.ok()) return error_pipe.status();
  auto go = MakePipe();
  if (!go.ok()) return go.status();
  SpawnAssist assist;
  assist.oom_score_adj = spec.oom_score_adj;
  assist.cgroup_fd = spec.cgroup_fd;
  assist.release_fd = go->write.get();
  const bool assisted = spec.oom_score_adj != 0 || spec.cgroup_fd >= 0;
  const int assistant_fd = assisted ? AssistantFd() : -1;
  if (assisted && assistant_fd < 0) {
    return SpawnFailureStatus("starting the spawn assistant", errno);
  }

  ChildArgs args{&spec,
                 argv.data(),
                 envp.data(),
                 in->read.get(),
                 out->write.get(),
                 err->write.get(),
                 error_pipe->write.get(),
                 scratch.data(),
                 assisted ? &assist : nullptr,
                 assistant_fd,
                 go->read.get()};
  pid_t pid;
  {
    ScopedBlockAllSignals blocked;
    // CLONE_VM: no copy of the runner's page tables, so a spawn costs the
    // same however large the runner is; CLONE_VFORK: this thread sleeps only
    // until the child has exec'd (or failed), as with posix_spawn.
    pid = clone(ExecChild, stack.top(), CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  }
  if (pid < 0) return SpawnFailureStatus("clone", errno);
  error_pipe->write.reset();
  in->read.reset();
  out->write.reset();
  err->write.reset();

  // The child has exec'd (end of file) or written why it could not.
  ChildFailure failure{};
  const long n = ReadSome(error_pipe->read.get(), &failure, sizeof failure);
  if (n != 0) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (n != sizeof failure) return absl::InternalError("the child failed before exec");
    const int stage = failure.stage >= 0 && failure.stage <= kLastStage ? failure.stage : kExec;
    std::string what = stage == kChdir  ? absl::StrCat("chdir ", spec.cwd)
                       : stage == kExec ? absl::StrCat("exec ", spec.argv[0])
                                        : kStages[stage];
    return ErrnoStatus(what, failure.err);
  }
  if (spec.oom_score_adj != 0 && !assist.oom_set) {
    // A runner that is neither root nor able to raise CAP_SETUID cannot open
    // the /proc files of a child that shares its non-dumpable memory; after
    // exec the tool is dumpable and its files are ours.
    SetExecdChildOomScoreAdj(pid, spec.oom_score_adj);
  }

  for (int fd : {in->write.get(), out->read.get(), err->read.get()}) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  SpawnedProcess proc;
  proc.pid = pid;
  proc.stdin_fd = std::move(in->write);
  proc.stdout_fd = std::move(out->read);
  proc.stderr_fd = std::move(err->read);
  return proc;
}

const std::string& ShellPath() {
  static const std::string* shell =
      new std::string(access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh");
  return *shell;
}

}  // namespace sagewai
