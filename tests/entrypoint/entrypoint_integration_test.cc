// The real static sagewai-entrypoint, run as PID 1 of a new PID namespace
// (`unshare --pid --fork --mount-proc`), with entrypoint_test_child as its
// command. Tests that need root, unshare or setpriv skip with the reason.
#include <elf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/passwd.h"
#include "tests/entrypoint/entrypoint_fixture.h"
#include "tests/entrypoint/subprocess.h"

namespace sagewai::entrypoint_test {
namespace {

class ExitCodeTest : public Fixture {};

TEST_F(ExitCodeTest, PassesTheChildsExitCodeThrough) {
  REQUIRE_PID1();
  for (int code : {0, 1, 2, 3, 42, 126, 127, 128, 200, 254, 255}) {
    Result r = RunToEnd(AsPid1({kChild, "exit", std::to_string(code)}), AgentEnv("root"));
    EXPECT_EQ(r.code, code) << r.err;
  }
}

TEST_F(ExitCodeTest, DeathBySignalIs128PlusTheSignal) {
  REQUIRE_PID1();
  for (int sig : {SIGKILL, SIGTERM, SIGUSR1, SIGSEGV, SIGABRT}) {
    Result r = RunToEnd(AsPid1({kChild, "signal-self", std::to_string(sig)}), AgentEnv("root"));
    EXPECT_EQ(r.code, 128 + sig) << "signal " << sig << ": " << r.err;
  }
}

TEST_F(ExitCodeTest, CommandNotFoundIs127) {
  REQUIRE_PID1();
  Result r = RunToEnd(AsPid1({"no-such-command-anywhere"}), AgentEnv("root"));
  EXPECT_EQ(r.code, 127);
  EXPECT_THAT(r.err, HasSubstr("command not found: no-such-command-anywhere"));
  r = RunToEnd(AsPid1({dir_ + "/missing/tool"}), AgentEnv("root"));
  EXPECT_EQ(r.code, 127);
}

TEST_F(ExitCodeTest, NotExecutableIs126) {
  REQUIRE_PID1();
  const std::string script = dir_ + "/not-executable";
  std::ofstream(script) << "#!/bin/sh\nexit 0\n";
  chmod(script.c_str(), 0644);
  Result r = RunToEnd(AsPid1({script}), AgentEnv("root"));
  EXPECT_EQ(r.code, 126);
  EXPECT_THAT(r.err, HasSubstr("cannot execute"));
  r = RunToEnd(AsPid1({dir_}), AgentEnv("root"));  // a directory
  EXPECT_EQ(r.code, 126);
}

TEST_F(ExitCodeTest, AgentCommandAndArgsFromTheEnvironment) {
  REQUIRE_PID1();
  Result r = RunToEnd(AsPid1({}),
                      AgentEnv("root", {"AGENT_COMMAND=" + kChild, "AGENT_ARGS='exit' \"7\""}));
  EXPECT_EQ(r.code, 7) << r.err;
  r = RunToEnd(AsPid1({}), AgentEnv("root", {"AGENT_COMMAND=" + kChild, "AGENT_ARGS=exit '7"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("AGENT_ARGS"));
}

TEST(EntrypointCliTest, VersionAndHelp) {
  Result r = RunToEnd({kEntrypoint, "--version"}, Env());
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, std::string(SAGEWAI_VERSION) + "\n");
  r = RunToEnd({kEntrypoint, "--help"}, Env());
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("Usage: sagewai-entrypoint"));
  r = RunToEnd({kEntrypoint, "--bogus"}, Env());
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--bogus"));
}

class ReapTest : public Fixture {};

TEST_F(ReapTest, OrphanedGrandchildrenLeaveNoZombieAsPid1) {
  REQUIRE_PID1();
  Result r = RunToEnd(AsPid1({kChild, "orphans", "100"}), AgentEnv("root"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto m = ParseStatus(r.out);
  ASSERT_TRUE(m.count("reparented")) << r.out;
  EXPECT_GT(std::stoi(m.at("reparented")), 0) << "orphans never reached PID 1: " << r.out;
  EXPECT_EQ(m.at("left"), "0") << r.out;
}

TEST_F(ReapTest, SubreaperReapsOrphansWhenNotPid1) {
  if (access(kEntrypoint.c_str(), X_OK) != 0) GTEST_SKIP() << "entrypoint not built";
  // No namespace: the entrypoint is an ordinary process and must make itself
  // a child subreaper for the orphans to come to it.
  Result r = RunToEnd({kEntrypoint, kChild, "orphans", "100"},
                      AgentEnv(geteuid() == 0 ? "root" : std::to_string(geteuid())));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto m = ParseStatus(r.out);
  ASSERT_TRUE(m.count("reparented")) << r.out;
  EXPECT_GT(std::stoi(m.at("reparented")), 0) << "orphans did not reach the subreaper: " << r.out;
  EXPECT_EQ(m.at("left"), "0") << r.out;
}

class SignalTest : public Fixture {};

TEST_F(SignalTest, ForwardsEveryCatchableSignalToTheChild) {
  REQUIRE_PID1();
  const std::vector<int> signals = {SIGTERM,  SIGINT,   SIGHUP,       SIGQUIT, SIGUSR1,   SIGUSR2,
                                    SIGWINCH, SIGALRM,  SIGPIPE,      SIGCONT, SIGTSTP,   SIGTTIN,
                                    SIGTTOU,  SIGURG,   SIGXCPU,      SIGPROF, SIGVTALRM, SIGIO,
                                    SIGPWR,   SIGRTMIN, SIGRTMIN + 5, SIGRTMAX};
  std::vector<std::string> command = {kChild, "trap"};
  for (int sig : signals) command.push_back(std::to_string(sig));
  Subprocess p;
  ASSERT_TRUE(p.Start(AsPid1(command), AgentEnv("root")));
  ASSERT_TRUE(p.WaitForStdout("ready\n", kTimeoutMs)) << p.out() << p.err();
  const pid_t pid1 = WaitForChildOf(p.pid(), kTimeoutMs);
  ASSERT_GT(pid1, 0);
  for (int sig : signals) {
    ASSERT_EQ(kill(pid1, sig), 0);
    EXPECT_TRUE(p.WaitForStdout("got " + std::to_string(sig) + "\n", kTimeoutMs))
        << "signal " << sig << " not forwarded; out: " << p.out();
  }
  EXPECT_EQ(p.Wait(kTimeoutMs), 0) << p.err();
}

TEST_F(SignalTest, SigtermToADefaultHandlerEndsWith143AtOnce) {
  REQUIRE_PID1();
  Subprocess p;
  ASSERT_TRUE(p.Start(AsPid1({kChild, "wait-stdin"}), AgentEnv("root")));
  ASSERT_TRUE(p.WaitForStdout("ready\n", kTimeoutMs)) << p.err();
  const pid_t pid1 = WaitForChildOf(p.pid(), kTimeoutMs);
  ASSERT_GT(pid1, 0);
  const long long start = NowMs();
  ASSERT_EQ(kill(pid1, SIGTERM), 0);
  EXPECT_EQ(p.Wait(kTimeoutMs), 143) << p.err();
  // "At once": well under any grace period a container runtime would use.
  EXPECT_LT(NowMs() - start, 5000);
}

TEST_F(SignalTest, SigtermFromInsideTheNamespaceReachesPid1) {
  REQUIRE_PID1();
  // The kernel drops signals to a namespace's init that has no handler when
  // they come from inside; blocked signals read from a signalfd count.
  Result r = RunToEnd(AsPid1({kChild, "kill-init"}), AgentEnv("root"));
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("got 15"));
}

class SecretsTest : public Fixture {
 protected:
  std::vector<std::string> SecretEnv() {
    return AgentEnv("root",
                    {"SESSION_TOKEN=tok-9b1e4c-secret", "CONTROL_PLANE_URL=http://cp.test:8090/x",
                     "SESSION_ID=sess-31337", "KEEP_ME=kept-value"});
  }
};

TEST_F(SecretsTest, AbsentFromTheChildsEnvironmentAndFds) {
  REQUIRE_PID1();
  Result r = RunToEnd(AsPid1({kChild, "status"}), SecretEnv());
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* gone : {"SESSION_TOKEN", "CONTROL_PLANE_URL", "SESSION_ID", "tok-9b1e4c",
                           "cp.test", "sess-31337", "SAGEWAI_SECRETS_FD"}) {
    EXPECT_THAT(r.out, Not(HasSubstr(gone)));
  }
  EXPECT_THAT(r.out, HasSubstr("env:KEEP_ME=kept-value"));
  // A command other than the tool-runner is not handed any secrets fd.
  EXPECT_EQ(ParseStatus(r.out)["fds"], "0,1,2");
  EXPECT_THAT(r.err, Not(HasSubstr("tok-9b1e4c")));
}

TEST_F(SecretsTest, OverwrittenInPid1sOwnEnvironment) {
  REQUIRE_PID1();
  if (geteuid() != 0) GTEST_SKIP() << "reading another process's environ needs root";
  Subprocess p;
  ASSERT_TRUE(p.Start(AsPid1({kChild, "wait-stdin"}), SecretEnv()));
  ASSERT_TRUE(p.WaitForStdout("ready\n", kTimeoutMs)) << p.err();
  const pid_t pid1 = WaitForChildOf(p.pid(), kTimeoutMs);
  ASSERT_GT(pid1, 0);
  std::string unshare_env, pid1_env, error;
  ASSERT_TRUE(ReadSmallFile("/proc/" + std::to_string(p.pid()) + "/environ", &unshare_env, &error));
  ASSERT_TRUE(ReadSmallFile("/proc/" + std::to_string(pid1) + "/environ", &pid1_env, &error))
      << error;
  // The same read shows the values in the process that started PID 1...
  ASSERT_THAT(unshare_env, HasSubstr("tok-9b1e4c-secret"));
  // ...and not in PID 1, whose original block held them too.
  for (const char* gone : {"tok-9b1e4c-secret", "http://cp.test:8090/x", "sess-31337",
                           "SESSION_TOKEN", "CONTROL_PLANE_URL", "SESSION_ID"}) {
    EXPECT_THAT(pid1_env, Not(HasSubstr(gone)));
  }
  EXPECT_THAT(pid1_env, HasSubstr("KEEP_ME=kept-value"));
  p.CloseStdin();
  EXPECT_EQ(p.Wait(kTimeoutMs), 0);
}

TEST_F(SecretsTest, HandedToTheToolRunnerThroughAnInheritedFd) {
  REQUIRE_PID1();
  const std::string runner = dir_ + "/sagewai-tool-runner";
  ASSERT_EQ(symlink(kChild.c_str(), runner.c_str()), 0);
  Result r = RunToEnd(AsPid1({runner}), SecretEnv());
  ASSERT_EQ(r.code, 0) << r.err;
  const auto m = ParseStatus(r.out);
  EXPECT_NE(m.count("secrets_fd") ? m.at("secrets_fd") : "", "");
  EXPECT_THAT(r.out, HasSubstr("token=tok-9b1e4c-secret\n"));
  EXPECT_THAT(r.out, HasSubstr("url=http://cp.test:8090/x\n"));
  EXPECT_THAT(r.out, HasSubstr("id=sess-31337\n"));
  for (const char* gone : {"env:SESSION_TOKEN", "env:CONTROL_PLANE_URL", "env:SESSION_ID"}) {
    EXPECT_THAT(r.out, Not(HasSubstr(gone)));
  }
}

// The ELF program headers of `path`: no PT_INTERP means statically linked.
bool HasInterpreter(const std::string& path) {
  std::string data, error;
  EXPECT_TRUE(ReadSmallFile(path, &data, &error, 64u << 20)) << error;
  if (data.size() < sizeof(Elf64_Ehdr)) return true;
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(data.data());
  EXPECT_EQ(memcmp(eh->e_ident, ELFMAG, SELFMAG), 0);
  for (int i = 0; i < eh->e_phnum; ++i) {
    const size_t off = eh->e_phoff + static_cast<size_t>(i) * eh->e_phentsize;
    if (off + sizeof(Elf64_Phdr) > data.size()) return true;
    const auto* ph = reinterpret_cast<const Elf64_Phdr*>(data.data() + off);
    if (ph->p_type == PT_INTERP) return true;
  }
  return false;
}

TEST(StaticBinaryTest, IsStaticallyLinkedAndAtMostOneMibStripped) {
  if (access(kEntrypoint.c_str(), R_OK) != 0) GTEST_SKIP() << "entrypoint not built";
#ifdef SAGEWAI_SANITIZED
  GTEST_SKIP() << "a sanitizer build links dynamically (ASan's runtime cannot be static)";
#endif
  EXPECT_FALSE(HasInterpreter(kEntrypoint)) << "has a PT_INTERP: not static";
  char tmpl[] = "/tmp/entrypoint_stripped_XXXXXX";
  const int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  close(fd);
  Result r = RunToEnd({"strip", "-o", tmpl, kEntrypoint}, Env());
  ASSERT_EQ(r.code, 0) << r.err;
  struct stat st;
  ASSERT_EQ(stat(tmpl, &st), 0);
  unlink(tmpl);
  EXPECT_LE(st.st_size, 1 << 20) << "stripped size " << st.st_size;
  std::printf("stripped sagewai-entrypoint: %lld bytes\n", static_cast<long long>(st.st_size));
}

}  // namespace
}  // namespace sagewai::entrypoint_test
