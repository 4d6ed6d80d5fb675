#include "entrypoint/child.h"

#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/exec_path.h"
#include "common/fd_io.h"
#include "entrypoint/signals.h"

namespace sagewai::entrypoint {
namespace {

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Async-signal-safe: write(2) only.
void WriteErrno(int fd, int err) { WriteAll(fd, &err, sizeof err); }

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
  const ExecutableLookup found = FindExecutable(name, path_var);
  switch (found.kind) {
    case ExecutableLookup::kFound:
      *resolved = found.path;
      return StepStatus::Ok();
    case ExecutableLookup::kNotExecutable:
      return StepStatus::Fail(kExitNotExecutable,
                              "cannot execute " + found.path + ": " + strerror(found.error));
    case ExecutableLookup::kNotFound:
      break;
  }
  if (name.find('/') != std::string::npos) {
    return StepStatus::Fail(kExitNotFound,
                            "command not found: " + name + ": " + strerror(found.error));
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
