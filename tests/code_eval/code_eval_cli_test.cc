// `sagewai-sandbox eval` and `context` against the real runner.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/runner/runner_process.h"

namespace sagewai::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct CliRun {
  int exit_code = -1;
  std::string out, err;
};

// Runs the CLI with `args`, feeding `input` on stdin.
CliRun RunCli(const RunnerProcess& runner, std::vector<std::string> args,
              const std::string& input = "") {
  args.insert(args.begin(), {BinDir() + "/sagewai-sandbox"});
  std::vector<std::string> env = {"PATH=/usr/local/bin:/usr/bin:/bin",
                                  "SAGEWAI_RUNNER_ADDR=" + runner.address(),
                                  "SAGEWAI_RUNNER_TOKEN=" + RunnerOptions{}.token};
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
    return {};
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!input.empty()) {
    EXPECT_EQ(write(in[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
  }
  close(in[1]);
  CliRun r;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0 && poll(fds, 2, 60000) > 0) {
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, n);
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

std::string Trim(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

class CodeEvalCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(runner_.started()) << runner_.ReadLog();
    if (std::system("PATH=/usr/local/bin:/usr/bin:/bin command -v python3 >/dev/null") != 0) {
      GTEST_SKIP() << "python3 is not installed";
    }
  }
  RunnerProcess runner_;
};

TEST_F(CodeEvalCliTest, ContextsKeepStateAndTheExitCodeTellsTheOutcome) {
  CliRun created = RunCli(runner_, {"context", "create", "--lang", "python"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string id = Trim(created.out);
  EXPECT_THAT(id, StartsWith("ctx-"));

  EXPECT_EQ(RunCli(runner_, {"eval", "--context", id, "x = 41"}).exit_code, 0);
  CliRun value = RunCli(runner_, {"eval", "--context", id, "print('adding'); x + 1"});
  EXPECT_EQ(value.exit_code, 0) << value.err;
  EXPECT_EQ(value.out, "adding\n42\n");

  CliRun raised =
      RunCli(runner_, {"eval", "--context", id, "-"}, "def f():\n    return 1/0\nf()\n");
  EXPECT_EQ(raised.exit_code, 1);
  EXPECT_THAT(raised.err, HasSubstr("return 1/0"));
  EXPECT_THAT(raised.err, HasSubstr("ZeroDivisionError"));

  CliRun timed_out =
      RunCli(runner_, {"eval", "--context", id, "--timeout", "0.5", "while True: pass"});
  EXPECT_EQ(timed_out.exit_code, 124);
  EXPECT_THAT(timed_out.err, HasSubstr("interrupted"));
  EXPECT_EQ(RunCli(runner_, {"eval", "--context", id, "x"}).out, "41\n") << "the context survived";

  CliRun listed = RunCli(runner_, {"context", "ls"});
  EXPECT_EQ(listed.exit_code, 0);
  EXPECT_THAT(listed.out, HasSubstr(id));
  EXPECT_THAT(listed.out, HasSubstr("idle"));

  CliRun crashed = RunCli(runner_, {"eval", "--context", id, "import os; os._exit(9)"});
  EXPECT_EQ(crashed.exit_code, 125);
  EXPECT_THAT(crashed.err, HasSubstr("context restart " + id));
  CliRun refused = RunCli(runner_, {"eval", "--context", id, "1"});
  EXPECT_EQ(refused.exit_code, 65);
  EXPECT_THAT(refused.err, HasSubstr("dead"));
  EXPECT_EQ(RunCli(runner_, {"context", "restart", id}).exit_code, 0);
  EXPECT_EQ(RunCli(runner_, {"eval", "--context", id, "'x' in dir()"}).out, "False\n");

  EXPECT_EQ(RunCli(runner_, {"context", "rm", id}).exit_code, 0);
  EXPECT_EQ(RunCli(runner_, {"context", "rm", id}).exit_code, 65);
  EXPECT_THAT(RunCli(runner_, {"context", "ls"}).out, ::testing::Not(HasSubstr(id)));
}

TEST_F(CodeEvalCliTest, OneShotEvalsAndOtherLanguages) {
  CliRun py = RunCli(runner_, {"eval", "import sys; print('err', file=sys.stderr); 6 * 7"});
  EXPECT_EQ(py.exit_code, 0);
  EXPECT_EQ(py.out, "42\n");
  EXPECT_EQ(py.err, "err\n");
  CliRun sh = RunCli(runner_, {"eval", "--lang", "bash", "cd /; pwd; false"});
  EXPECT_EQ(sh.exit_code, 1);
  EXPECT_EQ(sh.out, "/\n");
  CliRun usage = RunCli(runner_, {"eval", "--lang", "bash", "--context", "c", "ls"});
  EXPECT_EQ(usage.exit_code, 2);
}

TEST_F(CodeEvalCliTest, ImagesAreSavedToFilesItNames) {
  if (std::system("PATH=/usr/local/bin:/usr/bin:/bin python3 -c 'import matplotlib' 2>/dev/null") !=
      0) {
    GTEST_SKIP() << "matplotlib is not installed for python3; no image to save";
  }
  const std::string dir = runner_.dir() + "/images";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  CliRun r = RunCli(runner_, {"eval", "--timeout", "120", "--output-dir", dir,
                              "import matplotlib.pyplot as plt\nplt.plot([3, 1, 2])\nplt.show()"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "[image/png saved to " + dir + "/eval-output-1.png]\n");
  std::ifstream png(dir + "/eval-output-1.png");
  std::stringstream ss;
  ss << png.rdbuf();
  EXPECT_EQ(ss.str().substr(0, 4), "\x89PNG");
}

}  // namespace
}  // namespace sagewai::testing
