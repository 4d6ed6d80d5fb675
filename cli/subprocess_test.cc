#include "cli/subprocess.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <thread>

namespace sagewai::cli {
namespace {

using ::testing::HasSubstr;

TEST(CliRunProcessTest, CollectsOutputsAndExitCode) {
  auto r = RunProcess({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
}

TEST(CliRunProcessTest, SearchesPath) {
  auto r = RunProcess({"sh", "-c", "exit 0"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
}

TEST(CliRunProcessTest, FeedsStdin) {
  RunOptions options;
  options.stdin_data = std::string(1 << 20, 'x') + "end";
  auto r = RunProcess({"/bin/sh", "-c", "wc -c"}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, std::to_string((1 << 20) + 3) + "\n");
}

TEST(CliRunProcessTest, StdinToAChildThatDoesNotReadIsNoCrash) {
  RunOptions options;
  options.stdin_data = std::string(4 << 20, 'x');
  auto r = RunProcess({"/bin/sh", "-c", "exit 4"}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 4);
}

TEST(CliRunProcessTest, SignalDeathIs128PlusSignal) {
  auto r = RunProcess({"/bin/sh", "-c", "kill -TERM $$"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 128 + SIGTERM);
}

TEST(CliRunProcessTest, TimeoutKillsTheGroup) {
  RunOptions options;
  options.timeout = absl::Milliseconds(200);
  const absl::Time start = absl::Now();
  auto r = RunProcess({"/bin/sh", "-c", "sleep 30 & sleep 30"}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, 128 + SIGKILL);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST(CliRunProcessTest, ABackgroundChildHoldingThePipeDoesNotBlock) {
  const absl::Time start = absl::Now();
  auto r = RunProcess({"/bin/sh", "-c", "sleep 5 & echo done"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "done\n");
  EXPECT_LT(absl::Now() - start, absl::Seconds(4));
}

TEST(CliRunProcessTest, Cancel) {
  char dir[] = "/tmp/sagewai-cli-cancel-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string fifo = std::string(dir) + "/started";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::atomic<bool> cancel{false};
  RunOptions options;
  options.cancel = &cancel;
  // Cancels once the command says it is running (and who it is).
  pid_t pid = 0;
  std::thread t([&] {
    if (FILE* f = fopen(fifo.c_str(), "re")) {
      if (fscanf(f, "%d", &pid) != 1) pid = 0;
      fclose(f);
    }
    cancel = true;
  });
  auto r = RunProcess({"/bin/sh", "-c", "echo $$ > " + fifo + "; sleep 30"}, options);
  if (!cancel) close(open(fifo.c_str(), O_WRONLY | O_NONBLOCK));  // the command never wrote
  t.join();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kCancelled);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(kill(pid, 0), -1) << "the cancelled command is still there";
  EXPECT_EQ(errno, ESRCH);
  unlink(fifo.c_str());
  rmdir(dir);
}

TEST(CliRunProcessTest, EnvironmentOverrides) {
  setenv("SAGEWAI_TEST_KEEP", "kept", 1);
  setenv("SAGEWAI_TEST_DROP", "dropped", 1);
  RunOptions options;
  options.spawn.set_env = {"SAGEWAI_TEST_NEW=old", "SAGEWAI_TEST_KEEP=replaced",
                           "SAGEWAI_TEST_NEW=new"};
  options.spawn.unset_env = {"SAGEWAI_TEST_DROP"};
  auto r = RunProcess(
      {"/bin/sh", "-c", "echo $SAGEWAI_TEST_NEW $SAGEWAI_TEST_KEEP x${SAGEWAI_TEST_DROP}x"},
      options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "new replaced xx\n");
}

TEST(CliRunProcessTest, Cwd) {
  RunOptions options;
  options.spawn.cwd = "/proc";
  auto r = RunProcess({"/bin/sh", "-c", "pwd"}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "/proc\n");
  options.spawn.cwd = "/nonexistent-dir";
  auto bad = RunProcess({"/bin/sh", "-c", "pwd"}, options);
  EXPECT_THAT(bad.status().ToString(), HasSubstr("chdir /nonexistent-dir"));
}

TEST(CliRunProcessTest, MissingProgram) {
  auto r = RunProcess({"sagewai-no-such-program"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().ToString(), HasSubstr("not found in PATH"));
  auto abs = RunProcess({"/nonexistent/prog"});
  EXPECT_FALSE(abs.ok());
}

TEST(CliRunProcessTest, OutputIsCapped) {
  RunOptions options;
  options.max_output = 10;
  auto r = RunProcess({"/bin/sh", "-c", "head -c 100000 /dev/zero"}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out.size(), 10u);
  EXPECT_EQ(r->exit_code, 0);
}

TEST(CliRunProcessTest, ChildGetsDefaultSignalDispositions) {
  signal(SIGUSR1, SIG_IGN);
  auto r = RunProcess({"/bin/sh", "-c", "kill -USR1 $$; echo survived"});
  signal(SIGUSR1, SIG_DFL);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 128 + SIGUSR1);
  EXPECT_EQ(r->out, "");
}

TEST(CliChildProcessTest, DestructorKillsAndReaps) {
  pid_t pid;
  {
    auto child = ChildProcess::Spawn({"/bin/sleep", "30"}, {});
    ASSERT_TRUE(child.ok());
    pid = child->pid();
    EXPECT_TRUE(child->running());
  }
  EXPECT_NE(kill(pid, 0), 0);  // gone and reaped
}

TEST(CliChildProcessTest, WaitForAndKill) {
  auto child = ChildProcess::Spawn({"/bin/sleep", "30"}, {});
  ASSERT_TRUE(child.ok());
  EXPECT_FALSE(child->WaitFor(absl::Milliseconds(50)).has_value());
  child->Kill(SIGTERM);
  EXPECT_EQ(child->WaitFor(absl::Seconds(5)), 128 + SIGTERM);
}

}  // namespace
}  // namespace sagewai::cli
