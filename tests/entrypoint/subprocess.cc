#include "tests/entrypoint/subprocess.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "common/passwd.h"

namespace sagewai::entrypoint_test {

long long NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

Subprocess::~Subprocess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  for (int fd : {in_, out_fd_, err_fd_}) {
    if (fd >= 0) close(fd);
  }
}

bool Subprocess::Start(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    return false;
  }
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) return false;
  if (pid_ == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Only 0, 1 and 2, as a container runtime starts PID 1.
    close_range(3, ~0U, 0);
    execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  in_ = in[1];
  out_fd_ = out[0];
  err_fd_ = err[0];
  return true;
}

bool Subprocess::Pump(int timeout_ms, int wake_fd) {
  pollfd fds[3] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}, {wake_fd, POLLIN, 0}};
  if (out_fd_ < 0 && err_fd_ < 0 && wake_fd < 0) return false;
  if (poll(fds, 3, timeout_ms) <= 0) return out_fd_ >= 0 || err_fd_ >= 0;
  std::string* sinks[2] = {&out_, &err_};
  int* owners[2] = {&out_fd_, &err_fd_};
  for (int i = 0; i < 2; ++i) {
    if (fds[i].fd < 0 || fds[i].revents == 0) continue;
    char buf[8192];
    const ssize_t n = read(fds[i].fd, buf, sizeof buf);
    if (n > 0) {
      sinks[i]->append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      close(*owners[i]);
      *owners[i] = -1;
    }
  }
  return out_fd_ >= 0 || err_fd_ >= 0;
}

bool Subprocess::WaitForStdout(const std::string& needle, int timeout_ms) {
  const long long deadline = NowMs() + timeout_ms;
  while (out_.find(needle) == std::string::npos) {
    const long long left = deadline - NowMs();
    if (left <= 0) return false;
    if (!Pump(static_cast<int>(std::min<long long>(left, 200)))) {
      return out_.find(needle) != std::string::npos;
    }
  }
  return true;
}

bool Subprocess::WriteStdin(const std::string& data) {
  size_t done = 0;
  while (in_ >= 0 && done < data.size()) {
    const ssize_t n = write(in_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return in_ >= 0;
}

void Subprocess::CloseStdin() {
  if (in_ >= 0) close(in_);
  in_ = -1;
}

int Subprocess::Wait(int timeout_ms) {
  const long long deadline = NowMs() + timeout_ms;
  // Readable once the child has exited: the wait below wakes on its exit or
  // on output, whichever comes first.
  const int exited = pid_ > 0 ? static_cast<int>(syscall(SYS_pidfd_open, pid_, 0)) : -1;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (exited >= 0) close(exited);
      // Drain what is left; a leftover grandchild may hold the pipes open.
      while (Pump(50) && NowMs() < deadline) {
      }
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    const long long left = deadline - NowMs();
    if (left <= 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
      if (exited >= 0) close(exited);
      return -1;
    }
    const int slice = static_cast<int>(std::min<long long>(left, 1000));
    // Without a pidfd (kernels before 5.3) and with the pipes closed, there
    // is nothing to wake on: look again every 10 ms.
    if (!Pump(slice, exited) && exited < 0) poll(nullptr, 0, std::min(slice, 10));
  }
}

pid_t WaitForChildOf(pid_t pid, int timeout_ms) {
  const long long deadline = NowMs() + timeout_ms;
  const std::string path =
      "/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children";
  while (NowMs() < deadline) {
    std::string content, error;
    if (ReadSmallFile(path, &content, &error) && !content.empty()) return atoi(content.c_str());
    const timespec ts{0, 10 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return -1;
}

}  // namespace sagewai::entrypoint_test
