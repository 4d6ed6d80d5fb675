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
#include "tests/entrypoint/subprocess.h"

namespace sagewai::entrypoint_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kEntrypoint = std::string(SAGEWAI_BIN_DIR) + "/sagewai-entrypoint";
const std::string kChild = SAGEWAI_TEST_CHILD;
constexpr int kTimeoutMs = 60000;

// The parts of the runner's environment a child needs, plus `extra`.
std::vector<std::string> Env(std::vector<std::string> extra = {}) {
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// `unshare` as PID 1 of a new PID namespace, then optional `wrapper`, then the entrypoint.
std::vector<std::string> AsPid1(const std::vector<std::string>& command,
                                const std::vector<std::string>& wrapper = {}) {
  std::vector<std::string> argv = {"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"};
  argv = Concat(argv, wrapper);
  argv.push_back(kEntrypoint);
  return Concat(argv, command);
}

struct Result {
  int code = -1;
  std::string out, err;
};

Result RunToEnd(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  Subprocess p;
  Result r;
  if (!p.Start(argv, env)) {
    ADD_FAILURE() << "cannot start " << argv[0];
    return r;
  }
  p.CloseStdin();
  r.code = p.Wait(kTimeoutMs);
  r.out = p.out();
  r.err = p.err();
  return r;
}

// Why PID-namespace tests cannot run here, or "".
std::string Pid1Unavailable() {
  static const std::string reason = [] {
    if (access(kEntrypoint.c_str(), X_OK) != 0) return "entrypoint not built at " + kEntrypoint;
    Result r = RunToEnd({"unshare", "--pid", "--fork", "--mount-proc", "true"}, Env());
    if (r.code != 0) {
      return "unshare --pid --fork --mount-proc is not permitted here (needs root or user "
             "namespaces): " +
             r.err;
    }
    return std::string();
  }();
  return reason;
}

#define REQUIRE_PID1()                                       \
  do {                                                       \
    if (std::string why = Pid1Unavailable(); !why.empty()) { \
      GTEST_SKIP() << why;                                   \
    }                                                        \
  } while (0)

#define REQUIRE_ROOT_AND_SETPRIV()                                                             \
  do {                                                                                         \
    REQUIRE_PID1();                                                                            \
    if (geteuid() != 0) GTEST_SKIP() << "needs root to change uids and capabilities";          \
    if (RunToEnd({"setpriv", "--help"}, Env()).code != 0) GTEST_SKIP() << "setpriv not found"; \
  } while (0)

// key -> value of the "Key:\tvalue" and "key=value" lines of the child's status mode.
std::map<std::string, std::string> ParseStatus(const std::string& out) {
  std::map<std::string, std::string> m;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(start, end - start);
    start = end + 1;
    if (line.rfind("env:", 0) == 0) {
      const size_t eq = line.find('=');
      m[line.substr(0, eq)] = line.substr(eq + 1);
      continue;
    }
    size_t sep = line.find(":\t");
    if (sep != std::string::npos) {
      m[line.substr(0, sep)] = line.substr(sep + 2);
      continue;
    }
    sep = line.find('=');
    if (sep != std::string::npos) m[line.substr(0, sep)] = line.substr(sep + 1);
  }
  return m;
}

std::set<std::string> Words(const std::string& text) {
  std::set<std::string> words;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find_first_of(" \t", start);
    const std::string w = text.substr(start, end == std::string::npos ? end : end - start);
    if (!w.empty()) words.insert(w);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return words;
}

int CountOccurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A directory with its own passwd and group files, a home and a work
// directory for the test user sgagent (uid 4242).
class Fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/entrypoint_it_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    chmod(dir_.c_str(), 0755);
    home_ = dir_ + "/home-sgagent";
    work_ = dir_ + "/work";
    mkdir(home_.c_str(), 0755);
    mkdir(work_.c_str(), 0755);
    if (geteuid() == 0) {
      chown(home_.c_str(), 4242, 4242);
      chown(work_.c_str(), 4242, 4242);
    }
    std::ofstream(dir_ + "/passwd") << "# test users\n"
                                    << "root:x:0:0:root:/root:/bin/sh\n"
                                    << "sgagent:x:4242:4242:test agent:" << home_ << ":/bin/sh\n"
                                    << "sgnohome:x:4243:4243::/nonexistent-home:/bin/sh\n";
    std::ofstream(dir_ + "/group") << "root:x:0:\n"
                                   << "sgagent:x:4242:\n"
                                   << "sgextra:x:4300:other,sgagent\n"
                                   << "sgother:x:4301:other\n";
  }
  void TearDown() override {
    std::system(("rm -rf '" + dir_ + "'").c_str());
    for (const std::string& d : cleanup_) std::system(("rm -rf '" + d + "'").c_str());
  }

  // Environment for a run as `user` with the fixture's user database.
  std::vector<std::string> AgentEnv(const std::string& user, std::vector<std::string> extra = {}) {
    return Env(
        Concat({"AGENT_USER=" + user, "AGENT_WORKDIR=" + work_,
                "SAGEWAI_PASSWD_FILE=" + dir_ + "/passwd", "SAGEWAI_GROUP_FILE=" + dir_ + "/group"},
               extra));
  }

  std::string dir_, home_, work_;
  std::vector<std::string> cleanup_;
};

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

class PrivilegeTest : public Fixture {};

void ExpectNoCapabilities(const std::map<std::string, std::string>& m, bool bounding_too = true) {
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapAmb"}) {
    EXPECT_EQ(m.count(set) ? m.at(set) : "?", "0000000000000000") << set;
  }
  if (bounding_too) {
    EXPECT_EQ(m.count("CapBnd") ? m.at("CapBnd") : "?", "0000000000000000");
  }
  EXPECT_EQ(m.count("NoNewPrivs") ? m.at("NoNewPrivs") : "?", "1");
}

TEST_F(PrivilegeTest, DropsToANamedUser) {
  REQUIRE_ROOT_AND_SETPRIV();
  Result r = RunToEnd(AsPid1({kChild, "status"}), AgentEnv("sgagent"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = ParseStatus(r.out);
  EXPECT_EQ(Words(m["Uid"]), std::set<std::string>({"4242"})) << m["Uid"];
  EXPECT_EQ(Words(m["Gid"]), std::set<std::string>({"4242"})) << m["Gid"];
  // Exactly the user's groups: its primary group and sgextra; not the
  // invoker's (root), not sgother.
  EXPECT_EQ(Words(m["Groups"]), std::set<std::string>({"4242", "4300"})) << m["Groups"];
  ExpectNoCapabilities(m);
  EXPECT_EQ(m["setuid0"], "fail");
  EXPECT_EQ(m["env:HOME"], home_);
  EXPECT_EQ(m["env:USER"], "sgagent");
  EXPECT_EQ(m["env:LOGNAME"], "sgagent");
  EXPECT_EQ(m["cwd"], work_);
  EXPECT_EQ(r.err, "") << "a clean drop logs nothing at the default level";
}

TEST_F(PrivilegeTest, DropsToAUidGidWithoutPasswdEntry) {
  REQUIRE_ROOT_AND_SETPRIV();
  cleanup_.push_back("/tmp/sagewai-home-4500");
  chown(work_.c_str(), 4500, 4501);
  Result r = RunToEnd(AsPid1({kChild, "status"}), AgentEnv("4500:4501"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = ParseStatus(r.out);
  EXPECT_EQ(Words(m["Uid"]), std::set<std::string>({"4500"}));
  EXPECT_EQ(Words(m["Gid"]), std::set<std::string>({"4501"}));
  EXPECT_EQ(Words(m["Groups"]), std::set<std::string>()) << "no supplementary groups";
  ExpectNoCapabilities(m);
  EXPECT_EQ(m["env:HOME"], "/tmp/sagewai-home-4500");
  EXPECT_EQ(m["env:USER"], "4500");
  struct stat st;
  ASSERT_EQ(lstat("/tmp/sagewai-home-4500", &st), 0);
  EXPECT_EQ(st.st_uid, 4500u);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(PrivilegeTest, UnwritableHomeFallsBackUnderTmp) {
  REQUIRE_ROOT_AND_SETPRIV();
  cleanup_.push_back("/tmp/sagewai-home-4243");
  Result r = RunToEnd(AsPid1({kChild, "status"}), AgentEnv("sgnohome"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = ParseStatus(r.out);
  EXPECT_EQ(m["env:HOME"], "/tmp/sagewai-home-4243");
  EXPECT_EQ(m["env:USER"], "sgnohome");
}

TEST_F(PrivilegeTest, UnwritableWorkdirGivesOneWarning) {
  REQUIRE_ROOT_AND_SETPRIV();
  chown(work_.c_str(), 0, 0);
  chmod(work_.c_str(), 0755);
  Result r = RunToEnd(AsPid1({kChild, "status"}), AgentEnv("sgagent"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(CountOccurrences(r.err, "\"level\":\"warn\""), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("\"owner\":\"0:0\""));
  EXPECT_THAT(r.err, HasSubstr("\"mode\":\"0755\""));
  EXPECT_THAT(r.err, HasSubstr("chown 4242:4242"));
  EXPECT_EQ(ParseStatus(r.out)["cwd"], work_);
}

TEST_F(PrivilegeTest, UnknownUserIsRefusedAndTheCommandNeverRuns) {
  REQUIRE_PID1();
  Result r = RunToEnd(AsPid1({kChild, "status"}), AgentEnv("nosuchuser"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "") << "the command ran";
  EXPECT_THAT(r.err, HasSubstr("nosuchuser"));
  EXPECT_THAT(r.err, HasSubstr("refusing to start"));
}

TEST_F(PrivilegeTest, CapDropAllWarnsAndContinuesAsRootWithoutCapabilities) {
  REQUIRE_ROOT_AND_SETPRIV();
  // What docker run --cap-drop ALL gives: root with an empty bounding set, so
  // no capability survives the exec of the entrypoint. Root without
  // CAP_DAC_OVERRIDE can only write its own work directory.
  chown(work_.c_str(), 0, 0);
  Result r = RunToEnd(AsPid1({kChild, "status"}, {"setpriv", "--bounding-set", "-all", "--"}),
                      AgentEnv("sgagent"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = ParseStatus(r.out);
  EXPECT_EQ(Words(m["Uid"]), std::set<std::string>({"0"}));
  ExpectNoCapabilities(m);
  EXPECT_EQ(CountOccurrences(r.err, "\"level\":\"warn\""), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--cap-add SETUID --cap-add SETGID"));
  EXPECT_THAT(r.err, HasSubstr("--user 1000:1000"));
}

TEST_F(PrivilegeTest, CapDropAllWithRequireDropRefuses) {
  REQUIRE_ROOT_AND_SETPRIV();
  Result r = RunToEnd(AsPid1({kChild, "status"}, {"setpriv", "--bounding-set", "-all", "--"}),
                      AgentEnv("sgagent", {"AGENT_REQUIRE_DROP=1"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "") << "the command ran";
  EXPECT_THAT(r.err, HasSubstr("AGENT_REQUIRE_DROP"));
  EXPECT_THAT(r.err, HasSubstr("--cap-add SETUID --cap-add SETGID"));
}

TEST_F(PrivilegeTest, OnlySetuidSetgidDropsAndKeepsTheBoundingSetQuietly) {
  REQUIRE_ROOT_AND_SETPRIV();
  Result r = RunToEnd(
      AsPid1({kChild, "status"}, {"setpriv", "--bounding-set", "-all,+setuid,+setgid", "--"}),
      AgentEnv("sgagent"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = ParseStatus(r.out);
  EXPECT_EQ(Words(m["Uid"]), std::set<std::string>({"4242"}));
  EXPECT_EQ(Words(m["Groups"]), std::set<std::string>({"4242", "4300"}));
  ExpectNoCapabilities(m, /*bounding_too=*/false);
  // Without CAP_SETPCAP the bounding set (SETUID, SETGID) cannot be cleared:
  // inert under no_new_privs, and said at debug level only.
  EXPECT_EQ(m["CapBnd"], "00000000000000c0");
  EXPECT_EQ(r.err, "");

  r = RunToEnd(
      AsPid1({kChild, "status"}, {"setpriv", "--bounding-set", "-all,+setuid,+setgid", "--"}),
      AgentEnv("sgagent", {"SAGEWAI_LOG_LEVEL=debug"}));
  EXPECT_THAT(r.err, HasSubstr("bounding set kept"));
}

TEST_F(PrivilegeTest, SetuidSetgidSetpcapClearsTheBoundingSetToo) {
  REQUIRE_ROOT_AND_SETPRIV();
  Result r = RunToEnd(AsPid1({kChild, "status"},
                             {"setpriv", "--bounding-set", "-all,+setuid,+setgid,+setpcap", "--"}),
                      AgentEnv("sgagent"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = ParseStatus(r.out);
  EXPECT_EQ(Words(m["Uid"]), std::set<std::string>({"4242"}));
  ExpectNoCapabilities(m, /*bounding_too=*/true);
}

TEST_F(PrivilegeTest, NonRootStartClearsCapabilitiesAndSetsNoNewPrivs) {
  REQUIRE_ROOT_AND_SETPRIV();
  Result r = RunToEnd(AsPid1({kChild, "status"}, {"setpriv", "--reuid", "4242", "--regid", "4242",
                                                  "--clear-groups", "--"}),
                      AgentEnv("sgagent"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = ParseStatus(r.out);
  EXPECT_EQ(Words(m["Uid"]), std::set<std::string>({"4242"}));
  EXPECT_EQ(Words(m["Gid"]), std::set<std::string>({"4242"}));
  // Not root: the bounding set cannot be cleared, every other set is empty.
  ExpectNoCapabilities(m, /*bounding_too=*/false);
  EXPECT_EQ(m["env:HOME"], home_);
  EXPECT_EQ(r.err, "");
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
