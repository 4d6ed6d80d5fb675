#include "common/environ_scrub.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/passwd.h"

namespace sagewai {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kProbeVar[] = "SAGEWAI_SCRUB_PROBE";
constexpr char kToken[] = "tok-5f1c2a9e-secret";
constexpr char kUrl[] = "http://control.example:8090/probe-url";
constexpr char kSessionId[] = "session-probe-77";

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Runs in a re-executed copy of this test binary, before main: scrubs the
// environment the kernel gave it and prints what it then finds.
void RunProbe() {
  char* begin = nullptr;
  char* end = nullptr;
  const bool have_block = InitialEnvironmentBlock(&begin, &end);
  const bool before = have_block && memmem(begin, end - begin, kToken, strlen(kToken)) != nullptr;
  ControlPlaneSecrets secrets = ScrubControlPlaneEnv();
  std::string proc_environ, error;
  ReadSmallFile("/proc/self/environ", &proc_environ, &error);
  bool in_memory = false;
  for (const char* v : {kToken, kUrl, kSessionId}) {
    if (have_block && memmem(begin, end - begin, v, strlen(v)) != nullptr) in_memory = true;
  }
  std::string out;
  out += "block=" + std::to_string(have_block) + "\n";
  out += "token_in_block_before=" + std::to_string(before) + "\n";
  out += "token=" + secrets.session_token + "\n";
  out += "url=" + secrets.control_plane_url + "\n";
  out += "id=" + secrets.session_id + "\n";
  out += "getenv_token=" + std::to_string(getenv("SESSION_TOKEN") != nullptr) + "\n";
  out += "getenv_url=" + std::to_string(getenv("CONTROL_PLANE_URL") != nullptr) + "\n";
  out += "getenv_id=" + std::to_string(getenv("SESSION_ID") != nullptr) + "\n";
  out += "values_in_memory=" + std::to_string(in_memory) + "\n";
  out += "proc_environ=" + proc_environ + "\n";
  const char* other = getenv("OTHER_VAR");
  out += std::string("other=") + (other ? other : "(unset)") + "\n";
  if (write(STDOUT_FILENO, out.data(), out.size()) < 0) _exit(3);
  _exit(0);
}

[[maybe_unused]] const bool kProbeRan = [] {
  if (getenv(kProbeVar) != nullptr) RunProbe();
  return false;
}();

// Re-executes this binary with `env` as its whole environment; returns stdout.
std::string RunProbeProcess(const std::vector<std::string>& env) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  std::vector<char*> envp;
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  char arg0[] = "environ_scrub_probe";
  char* argv[] = {arg0, nullptr};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    execve("/proc/self/exe", argv, envp.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  return out;
}

TEST(ScrubControlPlaneEnvTest, OverwritesTheInitialEnvironmentBlock) {
  const std::string out = RunProbeProcess({
      std::string(kProbeVar) + "=1",
      "BEFORE_VAR=kept-before",
      std::string("SESSION_TOKEN=") + kToken,
      std::string("CONTROL_PLANE_URL=") + kUrl,
      "OTHER_VAR=kept-between",
      std::string("SESSION_ID=") + kSessionId,
      "AFTER_VAR=kept-after",
  });
  ASSERT_THAT(out, HasSubstr("block=1\n"));
  // The probe could see the value before scrubbing: the check below is real.
  EXPECT_THAT(out, HasSubstr("token_in_block_before=1\n"));
  EXPECT_THAT(out, HasSubstr(std::string("token=") + kToken + "\n"));
  EXPECT_THAT(out, HasSubstr(std::string("url=") + kUrl + "\n"));
  EXPECT_THAT(out, HasSubstr(std::string("id=") + kSessionId + "\n"));
  EXPECT_THAT(out, HasSubstr("getenv_token=0\ngetenv_url=0\ngetenv_id=0\n"));
  EXPECT_THAT(out, HasSubstr("values_in_memory=0\n"));
  const size_t at = out.find("proc_environ=");
  ASSERT_NE(at, std::string::npos);
  const std::string proc_environ = out.substr(at, out.find("\nother=") - at);
  for (const char* gone :
       {kToken, kUrl, kSessionId, "SESSION_TOKEN", "CONTROL_PLANE_URL", "SESSION_ID"}) {
    EXPECT_FALSE(Contains(proc_environ, gone)) << gone;
  }
  for (const char* kept :
       {"BEFORE_VAR=kept-before", "OTHER_VAR=kept-between", "AFTER_VAR=kept-after"}) {
    EXPECT_TRUE(Contains(proc_environ, kept)) << kept;
  }
  EXPECT_THAT(out, HasSubstr("other=kept-between\n"));
}

TEST(ScrubControlPlaneEnvTest, RemovesVariablesSetAtRunTime) {
  ASSERT_EQ(setenv("SESSION_TOKEN", "runtime-token", 1), 0);
  ASSERT_EQ(setenv("SESSION_ID", "", 1), 0);
  ASSERT_EQ(setenv("SCRUB_TEST_KEEP", "keep-me", 1), 0);
  unsetenv("CONTROL_PLANE_URL");
  ControlPlaneSecrets secrets = ScrubControlPlaneEnv();
  EXPECT_EQ(secrets.session_token, "runtime-token");
  EXPECT_EQ(secrets.control_plane_url, "");
  EXPECT_EQ(secrets.session_id, "");
  EXPECT_EQ(getenv("SESSION_TOKEN"), nullptr);
  EXPECT_EQ(getenv("SESSION_ID"), nullptr);
  ASSERT_NE(getenv("SCRUB_TEST_KEEP"), nullptr);
  EXPECT_STREQ(getenv("SCRUB_TEST_KEEP"), "keep-me");
  // environ stays usable after compaction.
  ASSERT_EQ(setenv("SCRUB_TEST_AFTER", "x", 1), 0);
  EXPECT_STREQ(getenv("SCRUB_TEST_AFTER"), "x");
  // Nothing left to find the second time.
  EXPECT_TRUE(ScrubControlPlaneEnv().empty());
}

TEST(ControlPlaneSecretsTest, IsControlPlaneVar) {
  EXPECT_TRUE(IsControlPlaneVar("SESSION_TOKEN"));
  EXPECT_TRUE(IsControlPlaneVar("CONTROL_PLANE_URL"));
  EXPECT_TRUE(IsControlPlaneVar("SESSION_ID"));
  EXPECT_FALSE(IsControlPlaneVar("SESSION_TOKEN_X"));
  EXPECT_FALSE(IsControlPlaneVar("session_token"));
  EXPECT_FALSE(IsControlPlaneVar(""));
}

TEST(ControlPlaneSecretsTest, EmptyAndWipe) {
  ControlPlaneSecrets s;
  EXPECT_TRUE(s.empty());
  s.session_id = "x";
  EXPECT_FALSE(s.empty());
  s.session_token = std::string(100, 't');
  s.Wipe();
  EXPECT_TRUE(s.empty());
}

TEST(ControlPlaneSecretsTest, WipeStringZeroesTheWholeBuffer) {
  std::string s(64, 'q');
  s.resize(10);  // keeps the capacity, and the old bytes beyond size
  const char* data = s.data();
  const size_t capacity = s.capacity();
  WipeString(s);
  EXPECT_TRUE(s.empty());
  ASSERT_EQ(s.data(), data);  // same buffer: it was wiped, not released
  for (size_t i = 0; i < capacity; ++i) ASSERT_EQ(data[i], '\0') << i;
}

}  // namespace
}  // namespace sagewai
