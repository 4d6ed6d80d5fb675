// The fs.* tools through the real `sagewai-tool-runner` in stdio mode (the
// existing worker's `docker exec -i` path), as the unprivileged user the
// entrypoint would run tools as.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/json_reader.h"
#include "common/sha256.h"
#include "tests/fs/fs_test_client.h"
#include "tests/runner/runner_process.h"

namespace sagewai::testing {
namespace {

// One request line in, one reply line out, over real pipes.
class StdioSession {
 public:
  explicit StdioSession(const std::vector<std::string>& env) {
    int in[2], out[2];
    EXPECT_EQ(pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(out, O_CLOEXEC), 0);
    std::string bin = BinDir() + "/sagewai-tool-runner";
    std::vector<std::string> env_copy = env;
    std::vector<char*> envp;
    for (auto& e : env_copy) envp.push_back(e.data());
    envp.push_back(nullptr);
    char* argv[] = {bin.data(), nullptr};
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      int null_fd = open("/dev/null", O_WRONLY);
      dup2(null_fd, 2);
      execve(argv[0], argv, envp.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    in_ = in[1];
    out_ = out[0];
  }
  ~StdioSession() {
    close(in_);
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(out_);
  }

  // The `result` of one exec call (fails the test on anything else).
  json::Value Call(const std::string& tool, const std::string& args_json) {
    const std::string line =
        absl::StrCat(R"({"jsonrpc":"2.0","id":)", ++id_, R"(,"method":"exec","params":{"tool":")",
                     tool, R"(","args":)", args_json, R"(,"call_id":"c"}})", "\n");
    EXPECT_EQ(write(in_, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    std::string reply = ReadLine();
    auto parsed = json::Parse(reply);
    EXPECT_TRUE(parsed.ok()) << reply;
    if (!parsed.ok()) return json::Value();
    const json::Value* result = parsed->Find("result");
    EXPECT_NE(result, nullptr) << reply;
    return result != nullptr ? *result : json::Value();
  }

 private:
  std::string ReadLine() {
    for (;;) {
      size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 20000) <= 0) return "";
      char buf[65536];
      ssize_t n = read(out_, buf, sizeof buf);
      if (n <= 0) return "";
      buffer_.append(buf, static_cast<size_t>(n));
    }
  }

  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
  int id_ = 0;
  std::string buffer_;
};

std::string Str(const json::Value& v, const char* key) {
  const json::Value* f = v.Find(key);
  return f != nullptr && f->is_string() ? std::string(*f->AsString()) : "<not a string>";
}

class FsStdioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sagewai-fs-stdio-XXXXXX";
    dir_ = mkdtemp(tmpl);
    chmod(dir_.c_str(), 0777);
    user_ = getpwnam("nobody") != nullptr ? "nobody" : "65534:65534";
  }
  void TearDown() override {
    std::string cmd = "rm -rf '" + dir_ + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
  }
  std::vector<std::string> Env() const {
    return {"PATH=/usr/bin:/bin", "AGENT_USER=" + user_, "AGENT_WORKDIR=" + dir_,
            "SESSION_TOKEN=must-not-matter"};
  }
  std::string dir_, user_;
};

TEST_F(FsStdioTest, WriteReadListAndErrorsInTheWorkersShape) {
  StdioSession s(Env());
  json::Value w = s.Call("fs.write", R"({"path":"notes/a.txt","content":"hello\n"})");
  ASSERT_EQ(w.Find("ok")->AsBool(), true) << Str(w, "stderr");
  EXPECT_EQ(*w.Find("exit_code")->AsInt(), 0);
  auto info = json::Parse(Str(w, "stdout"));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(Str(*info, "sha256"), Sha256Hex("hello\n"));
  EXPECT_EQ(Str(*info, "path"), dir_ + "/notes/a.txt");
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/notes/a.txt").c_str(), &st), 0);
  if (geteuid() == 0) {
    EXPECT_NE(st.st_uid, 0u) << "tools run as the agent user, not root";
  }

  json::Value r = s.Call("fs.read", R"({"path":"notes/a.txt"})");
  EXPECT_EQ(Str(r, "stdout"), "hello\n");
  EXPECT_EQ(Str(r, "stderr"), "");
  EXPECT_TRUE(r.Find("error")->is_null());

  const std::string bin("\x00\x01\xfe\xff", 4);
  w = s.Call("fs.write", absl::StrCat(R"({"path":"b.bin","encoding":"base64","content":")",
                                      absl::Base64Escape(bin), R"("})"));
  ASSERT_EQ(w.Find("ok")->AsBool(), true) << Str(w, "stderr");
  r = s.Call("fs.read", R"({"path":"b.bin","encoding":"base64"})");
  std::string decoded;
  ASSERT_TRUE(absl::Base64Unescape(Str(r, "stdout"), &decoded));
  EXPECT_EQ(decoded, bin);

  json::Value l = s.Call("fs.list", R"({"path":"","depth":2})");
  auto listing = json::Parse(Str(l, "stdout"));
  ASSERT_TRUE(listing.ok()) << Str(l, "stdout");
  EXPECT_EQ(listing->Find("entries")->AsArray()->size(), 3u);

  json::Value e = s.Call("fs.read", R"({"path":"nope"})");
  EXPECT_EQ(e.Find("ok")->AsBool(), false);
  EXPECT_EQ(*e.Find("exit_code")->AsInt(), 1);
  EXPECT_NE(Str(e, "error").find("No such file or directory"), std::string::npos);
  EXPECT_EQ(Str(e, "stderr"), Str(e, "error") + "\n");
  EXPECT_EQ(Str(e, "stdout"), "");
}

TEST_F(FsStdioTest, PermissionsAreTheAgentUsers) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to own a file the agent user cannot read";
  const std::string secret = dir_ + "/secret";
  FILE* f = fopen(secret.c_str(), "we");
  fputs("root only", f);
  fclose(f);
  chmod(secret.c_str(), 0600);
  StdioSession s(Env());
  json::Value r = s.Call("fs.read", R"({"path":"secret"})");
  EXPECT_EQ(r.Find("ok")->AsBool(), false);
  EXPECT_NE(Str(r, "error").find("Permission denied"), std::string::npos) << Str(r, "error");
  json::Value rm = s.Call("fs.remove", R"({"path":"secret"})");
  EXPECT_EQ(rm.Find("ok")->AsBool(), true) << "the directory is the agent's (0777)";
  json::Value root = s.Call("fs.remove", R"({"path":".","recursive":true})");
  EXPECT_EQ(root.Find("ok")->AsBool(), false);
  EXPECT_NE(Str(root, "error").find("work directory"), std::string::npos) << Str(root, "error");
}

}  // namespace
}  // namespace sagewai::testing
