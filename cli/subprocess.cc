#include "cli/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/exec_path.h"

extern char** environ;

namespace sagewai::cli {
namespace {

// What the child reports through the CLOEXEC status pipe when setup fails.
struct ChildFailure {
  int stage;  // 1: chdir, 2: exec
  int err;
};

int DecodeWaitStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::vector<std::string> BuildEnvironment(const SpawnOptions& options) {
  std::vector<std::string> env;
  auto name_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
  auto overridden = [&](const std::string& name) {
    for (const std::string& u : options.unset_env) {
      if (u == name) return true;
    }
    for (const std::string& s : options.set_env) {
      if (name_of(s) == name) return true;
    }
    return false;
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    if (!overridden(name_of(entry))) env.push_back(std::move(entry));
  }
  // A later set_env entry for the same name wins.
  for (size_t i = 0; i < options.set_env.size(); ++i) {
    const std::string name = name_of(options.set_env[i]);
    bool superseded = false;
    for (size_t j = i + 1; j < options.set_env.size(); ++j) {
      if (name_of(options.set_env[j]) == name) superseded = true;
    }
    if (!superseded) env.push_back(options.set_env[i]);
  }
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

absl::Status SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return ErrnoStatus("fcntl");
  return absl::OkStatus();
}

// Reads what is available; false at EOF or on an error (the stream is done).
bool ReadAvailable(UniqueFd& fd, std::string& out, size_t max) {
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n > 0) {
      size_t room = out.size() < max ? max - out.size() : 0;
      out.append(buf, std::min(room, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    fd.reset();
    return false;
  }
}

// write(2) that turns a closed reader into EPIPE without dying of SIGPIPE.
ssize_t WriteNoSigpipe(int fd, const char* data, size_t size) {
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t pending;
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  ssize_t n = ::write(fd, data, size);
  int err = errno;
  if (n < 0 && err == EPIPE && !was_pending) {
    timespec zero{};
    sigtimedwait(&pipe_set, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = err;
  return n;
}

}  // namespace

absl::StatusOr<std::string> FindInPath(const std::string& name) {
  if (name.empty()) return absl::InvalidArgumentError("empty program name");
  if (absl::StrContains(name, '/')) return name;
  const char* path = getenv("PATH");
  ExecutableLookup found =
      FindExecutable(name, path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
  if (found.kind == ExecutableLookup::kFound) return std::move(found.path);
  return absl::NotFoundError(absl::StrCat(name, ": not found in PATH"));
}

absl::StatusOr<ChildProcess> ChildProcess::Spawn(const std::vector<std::string>& argv,
                                                 const SpawnOptions& options) {
  if (argv.empty()) return absl::InvalidArgumentError("empty argv");
  absl::StatusOr<std::string> program = FindInPath(argv[0]);
  if (!program.ok()) return program.status();

  std::vector<std::string> args = argv;
  std::vector<char*> c_args = CStrings(args);
  std::vector<std::string> env = BuildEnvironment(options);
  std::vector<char*> c_env = CStrings(env);
  const char* cwd = options.cwd.empty() ? nullptr : options.cwd.c_str();
  const char* path = program->c_str();

  // child_fds[i] is what the child gets as fd i.
  UniqueFd child_fds[3];
  ChildProcess child;
  UniqueFd* parent_ends[3] = {&child.stdin_, &child.stdout_, &child.stderr_};
  const Stdio modes[3] = {options.stdin_mode, options.stdout_mode, options.stderr_mode};
  for (int i = 0; i < 3; ++i) {
    if (modes[i] == Stdio::kPipe) {
      absl::StatusOr<Pipe> p = MakePipe();
      if (!p.ok()) return p.status();
      child_fds[i] = std::move(i == 0 ? p->read : p->write);
      *parent_ends[i] = std::move(i == 0 ? p->write : p->read);
    } else if (modes[i] == Stdio::kNull) {
      child_fds[i] = UniqueFd(::open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC));
      if (!child_fds[i]) return ErrnoStatus("open /dev/null");
    }
  }
  absl::StatusOr<Pipe> status_pipe = MakePipe();
  if (!status_pipe.ok()) return status_pipe.status();

  const pid_t pid = fork();
  if (pid < 0) return ErrnoStatus("fork");
  if (pid == 0) {
    // Async-signal-safe calls only from here on.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &dfl, nullptr);
    }
    if (options.new_process_group) setpgid(0, 0);
    for (int i = 0; i < 3; ++i) {
      if (!child_fds[i]) continue;
      if (child_fds[i].get() == i) {
        fcntl(i, F_SETFD, 0);
      } else {
        dup2(child_fds[i].get(), i);
      }
    }
    ChildFailure failure{0, 0};
    if (cwd != nullptr && chdir(cwd) != 0) {
      failure = {1, errno};
    } else {
      execve(path, c_args.data(), c_env.data());
      failure = {2, errno};
    }
    ssize_t ignored = write(status_pipe->write.get(), &failure, sizeof failure);
    (void)ignored;
    _exit(failure.err == ENOENT ? 127 : 126);
  }

  child.pid_ = pid;
  child.own_group_ = options.new_process_group;
  if (options.new_process_group) setpgid(pid, pid);  // also done in the child; either may win
  status_pipe->write.reset();
  for (UniqueFd& fd : child_fds) fd.reset();

  ChildFailure failure{0, 0};
  ssize_t n;
  do {
    n = ::read(status_pipe->read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    child.Wait();
    if (failure.stage == 1) return ErrnoStatus(absl::StrCat("chdir ", options.cwd), failure.err);
    return ErrnoStatus(absl::StrCat("exec ", *program), failure.err);
  }
  return child;
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept { *this = std::move(other); }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    Reset();
    pid_ = std::exchange(other.pid_, -1);
    own_group_ = other.own_group_;
    exit_code_ = std::exchange(other.exit_code_, std::nullopt);
    stdin_ = std::move(other.stdin_);
    stdout_ = std::move(other.stdout_);
    stderr_ = std::move(other.stderr_);
  }
  return *this;
}

ChildProcess::~ChildProcess() { Reset(); }

void ChildProcess::Reset() {
  if (running()) {
    Kill(SIGKILL);
    Wait();
  }
  pid_ = -1;
}

void ChildProcess::Kill(int sig) {
  if (!running()) return;
  if (own_group_) {
    if (::kill(-pid_, sig) == 0) return;
  }
  ::kill(pid_, sig);
}

int ChildProcess::Wait() {
  if (exit_code_) return *exit_code_;
  if (pid_ <= 0) return -1;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  exit_code_ = r == pid_ ? DecodeWaitStatus(status) : -1;
  return *exit_code_;
}

std::optional<int> ChildProcess::TryWait() {
  if (exit_code_) return exit_code_;
  if (pid_ <= 0) return std::nullopt;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = DecodeWaitStatus(status);
  } else if (r < 0 && errno == ECHILD) {
    exit_code_ = -1;
  }
  return exit_code_;
}

std::optional<int> ChildProcess::WaitFor(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    if (std::optional<int> code = TryWait()) return code;
    if (absl::Now() >= deadline) return std::nullopt;
    absl::SleepFor(absl::Milliseconds(5));
  }
}

absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         const RunOptions& options) {
  SpawnOptions spawn = options.spawn;
  spawn.stdin_mode = options.stdin_data ? Stdio::kPipe : Stdio::kNull;
  spawn.stdout_mode = Stdio::kPipe;
  spawn.stderr_mode = Stdio::kPipe;
  const absl::Time start = absl::Now();
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(argv, spawn);
  if (!child.ok()) return child.status();

  for (UniqueFd* fd : {&child->stdin_fd(), &child->stdout_fd(), &child->stderr_fd()}) {
    if (*fd) {
      absl::Status s = SetNonBlocking(fd->get());
      if (!s.ok()) return s;
    }
  }
  ProcessResult result;
  size_t stdin_offset = 0;
  const std::string empty;
  const std::string& input = options.stdin_data ? *options.stdin_data : empty;
  if (child->stdin_fd() && input.empty()) child->stdin_fd().reset();
  const absl::Time deadline = start + options.timeout;

  while (child->stdout_fd() || child->stderr_fd()) {
    if (options.cancel != nullptr && options.cancel->load()) {
      child->Kill(SIGKILL);
      child->Wait();
      return absl::CancelledError(absl::StrCat(argv[0], " was interrupted"));
    }
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      result.timed_out = true;
      child->Kill(SIGKILL);
      break;
    }
    pollfd fds[3];
    int nfds = 0;
    for (UniqueFd* fd : {&child->stdout_fd(), &child->stderr_fd()}) {
      if (*fd) fds[nfds++] = {fd->get(), POLLIN, 0};
    }
    if (child->stdin_fd()) fds[nfds++] = {child->stdin_fd().get(), POLLOUT, 0};
    int wait_ms =
        static_cast<int>(std::min<int64_t>(99, absl::ToInt64Milliseconds(deadline - now)) + 1);
    int ready = ::poll(fds, nfds, wait_ms);
    if (ready < 0 && errno != EINTR) return ErrnoStatus("poll");
    if (child->stdout_fd()) ReadAvailable(child->stdout_fd(), result.out, options.max_output);
    if (child->stderr_fd()) ReadAvailable(child->stderr_fd(), result.err, options.max_output);
    if (child->stdin_fd()) {
      ssize_t n = WriteNoSigpipe(child->stdin_fd().get(), input.data() + stdin_offset,
                                 input.size() - stdin_offset);
      if (n > 0) stdin_offset += static_cast<size_t>(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || stdin_offset == input.size()) {
        child->stdin_fd().reset();
      }
    }
    // A daemon the child left behind may hold the pipes open: once the
    // child itself is gone, take what is buffered and stop.
    if (child->TryWait()) {
      if (child->stdout_fd()) ReadAvailable(child->stdout_fd(), result.out, options.max_output);
      if (child->stderr_fd()) ReadAvailable(child->stderr_fd(), result.err, options.max_output);
      break;
    }
  }
  child->stdin_fd().reset();
  if (!result.timed_out && !child->TryWait()) {
    // Outputs closed; the child should exit promptly now.
    while (!child->TryWait()) {
      if (absl::Now() >= deadline) {
        result.timed_out = true;
        child->Kill(SIGKILL);
        break;
      }
      if (options.cancel != nullptr && options.cancel->load()) {
        child->Kill(SIGKILL);
        child->Wait();
        return absl::CancelledError(absl::StrCat(argv[0], " was interrupted"));
      }
      absl::SleepFor(absl::Milliseconds(2));
    }
  }
  result.exit_code = child->Wait();
  result.elapsed = absl::Now() - start;
  return result;
}

}  // namespace sagewai::cli
