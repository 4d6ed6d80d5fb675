// `sagewai-tool-runner` with no arguments: the existing worker's JSON-RPC
// protocol on stdin/stdout, driven through real pipes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <regex>
#include <string>
#include <vector>

#include "tests/runner/runner_process.h"

namespace sagewai::testing {
namespace {

using std::chrono::milliseconds;

// The runner in stdio mode as a child with pipes on stdin/stdout/stderr.
class StdioRunner {
 public:
  explicit StdioRunner(std::vector<std::string> env, std::vector<std::string> args = {}) {
    int in[2], out[2], err[2];
    EXPECT_EQ(pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(err, O_CLOEXEC), 0);
    std::vector<std::string> argv_s = {BinDir() + "/sagewai-tool-runner"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv, envp;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      dup2(err[1], 2);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    in_ = in[1];
    out_ = out[0];
    err_ = err[0];
    fcntl(err_, F_SETFL, O_NONBLOCK);
  }
  ~StdioRunner() {
    if (in_ >= 0) close(in_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_);
    close(err_);
  }

  void Send(const std::string& text) {
    ASSERT_EQ(write(in_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  // For a runner that may already have refused to start: its stdin may be
  // closed by the time we write (EPIPE), which is not a failure.
  void SendUnlessGone(const std::string& text) {
    const ssize_t n = write(in_, text.data(), text.size());
    if (n < 0) EXPECT_EQ(errno, EPIPE);
  }
  // One line from stdout (with its '\n'), or "" on EOF/timeout.
  std::string ReadLine(milliseconds timeout = milliseconds(20000)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl + 1);
        buffer_.erase(0, nl + 1);
        return line;
      }
      auto left = std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
      char buf[65536];
      ssize_t n = read(out_, buf, sizeof buf);
      if (n <= 0) return "";
      buffer_.append(buf, n);
    }
  }
  std::string Stderr() {
    std::string s;
    char buf[4096];
    ssize_t n;
    while ((n = read(err_, buf, sizeof buf)) > 0) s.append(buf, n);
    return s;
  }
  void CloseStdin() {
    close(in_);
    in_ = -1;
  }
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }
  std::string RestOfStdout() {
    std::string rest = buffer_;
    char buf[4096];
    ssize_t n;
    while ((n = read(out_, buf, sizeof buf)) > 0) rest.append(buf, n);
    return rest;
  }

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
  std::string buffer_;
};

bool StartsWith(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string Exec(int id, const std::string& command, const std::string& extra = "") {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"exec","params":{"tool":"bash","args":{"command":)" + command +
         R"(},"call_id":"c)" + std::to_string(id) + "\"" + extra + "}}\n";
}

class StdioModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sagewai-stdio-XXXXXX";
    dir_ = mkdtemp(tmpl);
    chmod(dir_.c_str(), 0777);
    // Run tools as an unprivileged user, as the entrypoint would.
    user_ = getpwnam("nobody") != nullptr ? "nobody" : "65534:65534";
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }
  std::vector<std::string> Env() const {
    return {"PATH=/usr/local/bin:/usr/bin:/bin", "AGENT_USER=" + user_, "AGENT_WORKDIR=" + dir_,
            "SESSION_TOKEN=tok-must-vanish", "CONTROL_PLANE_URL=http://cp", "SESSION_ID=sid-1",
            "WORKER_VAR=from-docker-exec"};
  }
  std::string dir_;
  std::string user_;
};

TEST_F(StdioModeTest, EchoReplyIsExactlyTheWorkersFormat) {
  StdioRunner r(Env());
  r.Send(Exec(1, R"("echo hi")", R"(,"timeout_s":10)"));
  std::string line = r.ReadLine();
  std::regex expected(
      R"(\{"jsonrpc":"2\.0","id":1,"result":\{"call_id":"c1","ok":true,"exit_code":0,"stdout":"hi\\n","stderr":"","duration_ms":[0-9]+,"error":null\}\}\n)");
  EXPECT_TRUE(std::regex_match(line, expected)) << line;
  r.CloseStdin();
  int status = r.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(r.RestOfStdout(), "") << "nothing but response lines on stdout";
}

TEST_F(StdioModeTest, AnswersEachLineWhileStdinStaysOpen) {
  StdioRunner r(Env());
  for (int i = 1; i <= 3; ++i) {
    r.Send(Exec(i, "\"echo " + std::to_string(i) + "; exit " + std::to_string(i) + "\""));
    std::string line = r.ReadLine();
    EXPECT_NE(line.find("\"id\":" + std::to_string(i) + ","), std::string::npos) << line;
    EXPECT_NE(line.find("\"ok\":false,\"exit_code\":" + std::to_string(i) + ",\"stdout\":\"" +
                        std::to_string(i) + "\\n\""),
              std::string::npos)
        << line;
  }
}

TEST_F(StdioModeTest, ToolsGetTheProcessEnvironmentWithoutControlPlaneVariables) {
  StdioRunner r(Env());
  r.Send(Exec(7,
              R"("echo \"[$WORKER_VAR][$SESSION_TOKEN][$CONTROL_PLANE_URL][$SESSION_ID]\"; )"
              R"(cat /proc/$PPID/environ /proc/1/environ 2>/dev/null | tr '\\0' '\\n' | grep -c tok-must-vanish")"));
  std::string line = r.ReadLine();
  EXPECT_NE(line.find(R"("stdout":"[from-docker-exec][][][]\n0\n")"), std::string::npos) << line;
}

TEST_F(StdioModeTest, DropsPrivilegesLikeTheEntrypoint) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to observe the drop";
  StdioRunner r(Env());
  r.Send(Exec(1, R"("id -u; grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs)' /proc/self/status | tr -s '\\t' ' '; pwd")"));
  std::string line = r.ReadLine();
  EXPECT_NE(line.find(R"("stdout":"65534\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\nCapBnd: 0000000000000000\nNoNewPrivs: 1\n)" +
                      dir_ + "\\n\""),
            std::string::npos)
      << line;
}

TEST_F(StdioModeTest, UnknownUserIsRefused) {
  std::vector<std::string> env = Env();
  env[1] = "AGENT_USER=no-such-user-xyz";
  StdioRunner r(env);
  signal(SIGPIPE, SIG_IGN);
  r.SendUnlessGone(Exec(1, R"("echo should-not-run")"));
  r.CloseStdin();
  int status = r.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << status;
  EXPECT_EQ(r.RestOfStdout().find("should-not-run"), std::string::npos);
  EXPECT_NE(r.Stderr().find("no-such-user-xyz"), std::string::npos);
}

TEST_F(StdioModeTest, ErrorCodesAndTheLoopGoesOn) {
  StdioRunner r(Env());
  r.Send("this is not json\n");
  EXPECT_PRED2(StartsWith, r.ReadLine(), R"({"jsonrpc":"2.0","id":0,"error":{"code":-32700,")");
  r.Send(R"({"jsonrpc":"2.0","id":"abc","method":"nope","params":{}})" "\n");
  EXPECT_PRED2(StartsWith, r.ReadLine(), R"({"jsonrpc":"2.0","id":"abc","error":{"code":-32601,")");
  r.Send(R"({"jsonrpc":"2.0","id":3,"method":"exec","params":{"tool":"teleport","args":{}}})" "\n");
  EXPECT_PRED2(StartsWith, r.ReadLine(), R"({"jsonrpc":"2.0","id":3,"error":{"code":-32602,")");
  r.Send(R"({"jsonrpc":"2.0","id":4,"method":"exec","params":{"tool":"bash","args":"echo"}})" "\n");
  EXPECT_PRED2(StartsWith, r.ReadLine(), R"({"jsonrpc":"2.0","id":4,"error":{"code":-32602,")");
  r.Send(R"({"jsonrpc":"2.0","id":5,"method":"exec","params":{"tool":"bash","args":{"command":7}}})" "\n");
  EXPECT_PRED2(StartsWith, r.ReadLine(), R"({"jsonrpc":"2.0","id":5,"error":{"code":-32602,")");
  r.Send(std::string("{\"id\":6,\"method\":\"exec\",\"params\":{\"tool\":\"bash\",\"args\":{\"command\":\"echo \xff\"}}}\n"));
  EXPECT_PRED2(StartsWith, r.ReadLine(), R"({"jsonrpc":"2.0","id":0,"error":{"code":-32700,")");
  r.Send(Exec(8, R"("echo still-alive")"));
  EXPECT_NE(r.ReadLine().find("still-alive"), std::string::npos);
}

TEST_F(StdioModeTest, TimeoutKillsAndSaysTimeout) {
  StdioRunner r(Env());
  const auto start = std::chrono::steady_clock::now();
  r.Send(Exec(1, R"("sleep 30")", R"(,"timeout_s":0.5)"));
  std::string line = r.ReadLine();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2500));
  EXPECT_NE(line.find(R"("ok":false,"exit_code":null)"), std::string::npos) << line;
  EXPECT_NE(line.find("timeout"), std::string::npos) << line;
}

TEST_F(StdioModeTest, OutputIsCappedWithANote) {
  StdioRunner r(Env());
  r.Send(Exec(1, R"("head -c 5000000 /dev/zero | tr '\\0' a")"));
  std::string line = r.ReadLine();
  EXPECT_LT(line.size(), 2u << 20);
  EXPECT_NE(line.find("stdout truncated: kept 1048576 of 5000000 bytes"), std::string::npos);
}

TEST(StdioVersionTest, PrintsAVersionTheWorkerAccepts) {
  StdioRunner r({"PATH=/usr/bin:/bin"}, {"--version"});
  EXPECT_EQ(r.ReadLine(), std::string(SAGEWAI_VERSION) + "\n");
  int status = r.Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(std::regex_match(std::string(SAGEWAI_VERSION), std::regex(R"(0\.1\.[0-9]+)")));
}

}  // namespace
}  // namespace sagewai::testing
