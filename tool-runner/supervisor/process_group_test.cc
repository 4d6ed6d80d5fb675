#include "tool-runner/supervisor/process_group.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>

namespace sagewai {
namespace {

// Up to `stop` (end of file when empty); the fds are non-blocking, so wait
// with poll(2), at most 10 s for each read.
std::string ReadAll(int fd, const std::string& stop = "") {
  std::string out;
  char buf[4096];
  for (;;) {
    if (!stop.empty() && out.find(stop) != std::string::npos) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) break;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, n);
    } else if (n == 0 || errno != EAGAIN) {
      break;
    }
  }
  return out;
}

int Reap(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

TEST(ProcessGroupTest, RunsInOwnGroupWithGivenEnvAndCwd) {
  ProcessSpec spec;
  spec.argv = {ShellPath(), "-c", "echo $FOO; pwd; echo err >&2; ps -o pgid= -p $$"};
  spec.env = {"FOO=bar", "PATH=/usr/bin:/bin"};
  spec.cwd = "/tmp";
  auto p = SpawnProcess(spec);
  ASSERT_TRUE(p.ok()) << p.status();
  std::string out = ReadAll(p->stdout_fd.get());
  EXPECT_EQ(ReadAll(p->stderr_fd.get()), "err\n");
  int status = Reap(p->pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(out.substr(0, 9), "bar\n/tmp\n");
  EXPECT_EQ(std::stoi(out.substr(9)), p->pid) << "the command leads its own group";
}

std::string OwnOomScoreAdj() {
  FILE* f = fopen("/proc/self/oom_score_adj", "r");
  char buf[16] = {};
  if (f != nullptr) {
    EXPECT_NE(fgets(buf, sizeof buf, f), nullptr);
    fclose(f);
  }
  return buf;
}

// cat reads its value with its first steps: the value was there before exec.
TEST(ProcessGroupTest, SetsOomScoreAdjBeforeExecAndLeavesTheParentsAlone) {
  const std::string own = OwnOomScoreAdj();
  ProcessSpec spec;
  spec.argv = {"/bin/cat", "/proc/self/oom_score_adj"};
  auto p = SpawnProcess(spec);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(ReadAll(p->stdout_fd.get()), "1000\n");
  Reap(p->pid);
  EXPECT_EQ(OwnOomScoreAdj(), own);
}

TEST(ProcessGroupTest, SetsOomScoreAdjFromANonDumpableParent) {
  // The tool-runner is not dumpable; its children's /proc files belong to
  // root until they exec.
  pid_t helper = fork();
  if (helper == 0) {
    prctl(PR_SET_DUMPABLE, 0);
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) _exit(3);
    ProcessSpec spec;
    // Such a runner can set it only after exec, before SpawnProcess returns:
    // the tool reads it once we write to its stdin.
    spec.argv = {"/bin/sh", "-c", "read go; cat /proc/self/oom_score_adj"};
    auto p = SpawnProcess(spec);
    if (!p.ok()) _exit(4);
    if (write(p->stdin_fd.get(), "go\n", 3) != 3) _exit(6);
    std::string out = ReadAll(p->stdout_fd.get());
    _exit(out == "1000\n" ? 0 : 5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(helper, &status, 0), helper);
  if (getuid() != 0) GTEST_SKIP() << "needs root to switch to an unprivileged uid";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "exit " << WEXITSTATUS(status);
}

TEST(ProcessGroupTest, ReportsMissingProgramAndBadCwd) {
  ProcessSpec spec;
  spec.argv = {"/nonexistent/program"};
  auto p = SpawnProcess(spec);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(p.status().message().find("exec /nonexistent/program"), std::string::npos);

  spec.argv = {"/bin/true"};
  spec.cwd = "/does/not/exist";
  p = SpawnProcess(spec);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("chdir /does/not/exist"), std::string::npos);

  char path[] = "/tmp/sagewai-noexec-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd,
                  "\x7f"
                  "ELFgarbage",
                  11),
            11);
  close(fd);
  spec.argv = {path};
  spec.cwd = "";
  chmod(path, 0644);
  p = SpawnProcess(spec);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kPermissionDenied) << p.status();
  chmod(path, 0755);
  p = SpawnProcess(spec);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition) << p.status();
  unlink(path);
}

TEST(ProcessGroupTest, SignalTreeReachesChildrenThatLeftTheGroup) {
  ProcessSpec spec;
  // With job control on, the background job gets a process group of its own.
  spec.argv = {"/bin/bash", "-c", "set -m; sleep 100 & echo $!; wait"};
  auto p = SpawnProcess(spec);
  ASSERT_TRUE(p.ok()) << p.status();
  const std::string line = ReadAll(p->stdout_fd.get(), "\n");
  const pid_t escaped = std::stoi(line);
  // Job control moves the job (in parent and child) before bash goes on.
  EXPECT_NE(getpgid(escaped), p->pid);
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, escaped, 0)));
  ASSERT_TRUE(pidfd);
  EXPECT_GE(SignalTree(p->pid, p->pid, SIGKILL), 2);
  Reap(p->pid);
  // `escaped` was reparented (to init or a subreaper): its pidfd turns
  // readable once it has ended.
  pollfd ended{pidfd.get(), POLLIN, 0};
  EXPECT_EQ(poll(&ended, 1, 10000), 1);
  EXPECT_FALSE(GroupAlive(p->pid));
}

TEST(ProcessGroupTest, ResolvesProgramsOnPath) {
  EXPECT_EQ(ResolveProgram("sh", "/nonexistent:/bin"), "/bin/sh");
  EXPECT_EQ(ResolveProgram("/x/y", "/bin"), "/x/y");
  EXPECT_EQ(ResolveProgram("no-such-program-xyz", "/bin:/usr/bin"), "no-such-program-xyz");
  ProcessSpec spec;
  spec.argv = {"no-such-program-xyz"};
  auto p = SpawnProcess(spec);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sagewai
