#include "entrypoint/child.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "entrypoint/signals.h"

namespace sagewai::entrypoint {
namespace {

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

enum class Candidate { kMissing, kNotExecutable, kExecutable };

Candidate Check(const std::string& path, int* err) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    *err = errno;
    return errno == EACCES ? Candidate::kNotExecutable : Candidate::kMissing;
  }
  if (S_ISDIR(st.st_mode)) {
    *err = EISDIR;
    return Candidate::kNotExecutable;
  }
  if (faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) != 0) {
    *err = errno;
    return Candidate::kNotExecutable;
  }
  return Candidate::kExecutable;
}

// Async-signal-safe: write(2) only.
void WriteErrno(int fd, int err) {
  const char* p = reinterpret_cast<const char*>(&err);
  size_t left = sizeof err;
  while (left > 0) {
    const ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<size_t>(n);
  }
}

[[noreturn]] void ExecChild(const PreparedCommand& command, const sigset_t& mask, int error_fd) {
  // Own process group, so that a terminal's ^C reaches the child once rather
  // than twice (once directly, once forwarded); the signals are still blocked,
  // so tcsetpgrp from the background group does not stop us with SIGTTOU.
  // Take the terminal only if our parent had it in the foreground.
  const bool foreground = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
  setpgid(0, 0);
  if (foreground) tcsetpgrp(STDIN_FILENO, getpid());
  ResetSignalsForExec(mask);
  execve(command.path().c_str(), command.argv(), command.envp());
  const int err = errno;
  WriteErrno(error_fd, err);
  _exit(err == ENOENT ? kExitNotFound : kExitNotExecutable);
}

}  // namespace

StepStatus ResolveExecutable(const std::string& name, const std::string& path_var,
                             std::string* resolved) {
  if (name.empty()) return StepStatus::Fail(kExitNotFound, "the command is empty");
  int err = 0;
  if (name.find('/') != std::string::npos) {
    switch (Check(name, &err)) {
      case Candidate::kExecutable:
        *resolved = name;
        return StepStatus::Ok();
      case Candidate::kNotExecutable:
        return StepStatus::Fail(kExitNotExecutable,
                                "cannot execute " + name + ": " + strerror(err));
      case Candidate::kMissing:
        return StepStatus::Fail(kExitNotFound, "command not found: " + name + ": " + strerror(err));
    }
  }
  std::string first_unusable;
  int unusable_err = 0;
  size_t start = 0;
  while (start <= path_var.size()) {
    size_t end = path_var.find(':', start);
    if (end == std::string::npos) end = path_var.size();
    std::string dir = path_var.substr(start, end - start);
    start = end + 1;
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    switch (Check(candidate, &err)) {
      case Candidate::kExecutable:
        *resolved = candidate;
        return StepStatus::Ok();
      case Candidate::kNotExecutable:
        if (first_unusable.empty()) {
          first_unusable = candidate;
          unusable_err = err;
        }
        break;
      case Candidate::kMissing:
        break;
    }
  }
  if (!first_unusable.empty()) {
    return StepStatus::Fail(kExitNotExecutable,
                            "cannot execute " + first_unusable + ": " + strerror(unusable_err));
  }
  return StepStatus::Fail(kExitNotFound,
                          "command not found: " + name + " (searched PATH=" + path_var + ")");
}

std::string SearchPath(const std::vector<std::string>& env) {
  for (const std::string& e : env) {
    if (e.rfind("PATH=", 0) == 0) return e.substr(5);
  }
  return kDefaultPath;
}

PreparedCommand::PreparedCommand(std::string path, std::vector<std::string> argv,
                                 std::vector<std::string> env)
    : path_(std::move(path)), argv_(std::move(argv)), env_(std::move(env)) {
  for (std::string& a : argv_) argv_ptrs_.push_back(a.data());
  argv_ptrs_.push_back(nullptr);
  for (std::string& e : env_) env_ptrs_.push_back(e.data());
  env_ptrs_.push_back(nullptr);
}

StepStatus SpawnChild(const PreparedCommand& command, const sigset_t& mask, pid_t* pid) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return StepStatus::Fail(kExitStartFailure, std::string("pipe2: ") + strerror(errno));
  }
  const pid_t child = fork();
  if (child < 0) {
    const int err = errno;
    close(fds[0]);
    close(fds[1]);
    return StepStatus::Fail(kExitStartFailure, std::string("fork: ") + strerror(err));
  }
  if (child == 0) {
    close(fds[0]);
    ExecChild(command, mask, fds[1]);
  }
  close(fds[1]);
  int err = 0;
  size_t got = 0;
  while (got < sizeof err) {
    const ssize_t n = read(fds[0], reinterpret_cast<char*>(&err) + got, sizeof err - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fds[0]);
  if (got == 0) {  // EOF: exec succeeded and closed the pipe.
    *pid = child;
    return StepStatus::Ok();
  }
  while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  const int code = err == ENOENT ? kExitNotFound : kExitNotExecutable;
  return StepStatus::Fail(code, "cannot execute " + command.path() + ": " +
                                    (got == sizeof err ? strerror(err) : "unknown error"));
}

}  // namespace sagewai::entrypoint
