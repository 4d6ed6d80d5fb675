// The stdio protocol's `code_eval` tool through the real binary over pipes,
// as the existing worker drives it (`docker exec -i CID sagewai-tool-runner`).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/runner/runner_process.h"

namespace sagewai::testing {
namespace {

using ::testing::HasSubstr;

// Runs the runner in stdio mode, feeds it `input`, returns its stdout.
std::string RunStdio(const std::string& input, const std::vector<std::string>& env) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return "";
  std::string bin = BinDir() + "/sagewai-tool-runner";
  std::vector<std::string> env_copy = env;
  std::vector<char*> envp;
  for (auto& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    char* argv[] = {bin.data(), nullptr};
    execve(argv[0], argv, envp.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  // Small enough for the pipe: written whole before anything is read.
  EXPECT_EQ(write(in[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
  close(in[1]);
  std::string output;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) output.append(buf, n);
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  return output;
}

std::string Request(int id, const std::string& args) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"exec","params":{"tool":"code_eval","args":)" + args + R"(,"call_id":"e)" +
         std::to_string(id) + R"(","timeout_s":30}})" + "\n";
}

TEST(CodeEvalStdioModeTest, StateInANamedContextAndTheWorkersResultShape) {
  if (std::system("PATH=/usr/local/bin:/usr/bin:/bin command -v python3 >/dev/null") != 0) {
    GTEST_SKIP() << "python3 is not installed";
  }
  char tmpl[] = "/tmp/sagewai-eval-stdio-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  chmod(dir.c_str(), 0777);
  const std::string user = getpwnam("nobody") != nullptr ? "nobody" : "65534:65534";
  const std::string output = RunStdio(
      Request(1, R"({"language":"python","code":"x = 41","context_id":"main"})") +
          Request(2, R"({"code":"print('hi')\nx + 1","context_id":"main"})") +
          Request(3, R"({"code":"1/0","context_id":"main"})") +
          Request(4, R"j({"code":"import os\nos.environ.get('SESSION_TOKEN', 'absent')"})j") +
          Request(5, R"j({"language":"bash","code":"echo $((6 * 7))"})j"),
      {"PATH=/usr/local/bin:/usr/bin:/bin", "AGENT_USER=" + user, "AGENT_WORKDIR=" + dir,
       "SESSION_TOKEN=tok-must-vanish"});
  std::vector<std::string> lines;
  for (size_t start = 0; start < output.size();) {
    size_t nl = output.find('\n', start);
    if (nl == std::string::npos) nl = output.size();
    lines.push_back(output.substr(start, nl - start));
    start = nl + 1;
  }
  ASSERT_EQ(lines.size(), 5u) << output;
  EXPECT_THAT(lines[0], HasSubstr(R"("call_id":"e1","ok":true,"exit_code":0,"stdout":"")"));
  EXPECT_THAT(lines[1], HasSubstr(R"("ok":true,"exit_code":0,"stdout":"hi\n42\n","stderr":"")"));
  EXPECT_THAT(lines[2], HasSubstr(R"("ok":false,"exit_code":1,"stdout":"")"));
  EXPECT_THAT(lines[2], HasSubstr("ZeroDivisionError: division by zero"));
  EXPECT_THAT(lines[3], HasSubstr(R"("stdout":"'absent'\n")"));
  EXPECT_THAT(lines[4], HasSubstr(R"("ok":true,"exit_code":0,"stdout":"42\n")"));
  std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace sagewai::testing
