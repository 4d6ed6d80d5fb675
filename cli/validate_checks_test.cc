#include "cli/validate_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "cli/subprocess.h"

namespace sagewai::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

TEST(CliParseVersionOutputTest, Forms) {
  EXPECT_EQ(ParseVersionOutput("0.1.0\n"), "0.1.0");
  EXPECT_EQ(ParseVersionOutput("\nsagewai-tool-runner 0.1.3\nbuilt ...\n"), "0.1.3");
  EXPECT_EQ(ParseVersionOutput("  \n"), std::nullopt);
}

TEST(CliCheckRunnerVersionTest, SpecAndMessages) {
  EXPECT_EQ(CheckRunnerVersion("0.1.0"), std::nullopt);
  EXPECT_EQ(CheckRunnerVersion("0.1.7"), std::nullopt);
  auto newer = CheckRunnerVersion("0.2.0");
  ASSERT_TRUE(newer.has_value());
  EXPECT_EQ(newer->what,
            "sagewai-tool-runner --version → 0.2.0 (incompatible: this SDK needs >=0.1,<0.2)");
  auto rc = CheckRunnerVersion("0.1.0rc1");
  ASSERT_TRUE(rc.has_value());
  EXPECT_THAT(rc->what, HasSubstr("pre-releases excluded"));
  EXPECT_TRUE(CheckRunnerVersion("0.0.9").has_value());
  auto junk = CheckRunnerVersion("dev-build");
  ASSERT_TRUE(junk.has_value());
  EXPECT_THAT(junk->what, HasSubstr("not a PEP 440 version"));
}

TEST(CliIsNotFoundInPathTest, DockerExecMessages) {
  EXPECT_TRUE(IsNotFoundInPath(
      127,
      "OCI runtime exec failed: exec failed: unable to start container process: exec: "
      "\"sagewai-tool-runner\": executable file not found in $PATH: unknown"));
  EXPECT_TRUE(IsNotFoundInPath(126, "exec: \"x\": executable file not found in $PATH"));
  EXPECT_FALSE(IsNotFoundInPath(1, "some other failure"));
}

TEST(CliEnvScrubTest, SectionsAndLeaks) {
  const std::string output =
      "@@env\ndeclare -x PATH=\"/usr/bin\"\ndeclare -x LEAK=\"tok123\"\n\n@@proc1\n"
      "cat: /proc/1/environ: Permission denied\n\n@@procs\nA=1\0SID=sid9\0\n";
  auto sections = SplitProbeSections(std::string(output.data(), output.size()));
  EXPECT_THAT(sections, UnorderedElementsAre(Pair("env", HasSubstr("PATH")),
                                             Pair("proc1", HasSubstr("Permission denied")),
                                             Pair("procs", HasSubstr("A=1"))));
  const std::string procs_with_nul = std::string("@@procs\nA=1\0SID=sid9\0\n", 22);
  auto leaks = FindLeakedSecrets(
      {{"env", "declare -x LEAK=\"tok123\"\n"}, {"proc1", "denied"}, {"procs", "SID=sid9"}},
      {{"SESSION_TOKEN", "tok123"}, {"SESSION_ID", "sid9"}, {"HOST_SECRET", "hs"}, {"E", ""}});
  EXPECT_THAT(leaks, UnorderedElementsAre(Pair("SESSION_TOKEN", ElementsAre("env")),
                                          Pair("SESSION_ID", ElementsAre("procs"))));
  EXPECT_EQ(DescribeSections({"env", "proc1", "procs"}),
            "the tool's environment, /proc/1/environ, /proc/*/environ");
  EXPECT_THAT(FindLeakedSecrets(sections, {{"HOST_SECRET", "nothere"}}), IsEmpty());
}

// The probe script itself, run here: it must find a variable in each place.
TEST(CliEnvScrubTest, ProbeScriptFindsVariables) {
  RunOptions options;
  options.spawn.set_env = {"SAGEWAI_PROBE_TEST=needle-4711"};
  auto r = RunProcess({"/bin/bash", "-c", EnvProbeScript()}, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 0) << r->err;
  auto leaks = FindLeakedSecrets(SplitProbeSections(r->out), {{"X", "needle-4711"}});
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_THAT(leaks["X"], ::testing::Contains("env"));
  EXPECT_THAT(leaks["X"], ::testing::Contains("procs"));
}

TEST(CliProcStatusTest, ParseAndCheck) {
  const std::string status =
      "Name:\tcat\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n"
      "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
      "CapBnd:\t0000000000000000\nNoNewPrivs:\t1\n";
  ProcStatus p = ParseProcStatus(status);
  EXPECT_EQ(p.uid, 1000);
  EXPECT_EQ(p.cap_eff, 0u);
  EXPECT_EQ(p.no_new_privs, 1);
  EXPECT_EQ(CheckUnprivileged(p), std::nullopt);

  ProcStatus root =
      ParseProcStatus("Uid:\t0\t0\t0\t0\nCapEff:\t00000000a80425fb\nNoNewPrivs:\t0\n");
  auto failure = CheckUnprivileged(root);
  ASSERT_TRUE(failure.has_value());
  EXPECT_THAT(failure->what, HasSubstr("root (uid 0)"));
  EXPECT_THAT(failure->what, HasSubstr("CapEff 00000000a80425fb"));
  EXPECT_THAT(failure->what, HasSubstr("no_new_privs is not set"));
  // gVisor: no NoNewPrivs line at all, and nothing that answered in its place.
  failure = CheckUnprivileged(ParseProcStatus("Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0\n"));
  ASSERT_TRUE(failure.has_value());
  EXPECT_THAT(failure->what, HasSubstr("cannot tell whether no_new_privs is set"));
  EXPECT_TRUE(CheckUnprivileged(ParseProcStatus("")).has_value());
}

TEST(CliPid1Test, Entrypoint) {
  EXPECT_EQ(
      CheckPid1(std::string("/usr/local/bin/sagewai-entrypoint\0sagewai-tool-runner\0serve\0", 60)),
      std::nullopt);
  EXPECT_EQ(CheckPid1("sagewai-entrypoint"), std::nullopt);
  auto tini = CheckPid1(std::string("/usr/bin/tini\0--\0sleep\0", 23));
  ASSERT_TRUE(tini.has_value());
  EXPECT_EQ(tini->what, "PID 1 is /usr/bin/tini, not sagewai-entrypoint");
  EXPECT_THAT(tini->remedy, HasSubstr("ENTRYPOINT [\"/usr/local/bin/sagewai-entrypoint\"]"));
  EXPECT_EQ(FirstCmdlineArg(std::string("a\0b", 3)), "a");
}

TEST(CliStdioResponseTest, Parse) {
  auto ok = ParseStdioResponse(
      R"({"jsonrpc":"2.0","id":1,"result":{"call_id":"v1","ok":true,"exit_code":0,"stdout":"ok\n","stderr":"","duration_ms":3,"error":null}})");
  EXPECT_TRUE(ok.parsed);
  EXPECT_EQ(ok.error, "");
  EXPECT_TRUE(ok.has_id);
  EXPECT_EQ(ok.id, 1);
  EXPECT_TRUE(ok.ok);
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.stdout_text, "ok\n");

  auto timeout = ParseStdioResponse(
      R"({"jsonrpc":"2.0","id":2,"result":{"ok":false,"exit_code":null,"stdout":"","stderr":"","error":"timeout after 1s"}})");
  EXPECT_FALSE(timeout.ok);
  EXPECT_FALSE(timeout.exit_code.has_value());
  EXPECT_EQ(timeout.error, "timeout after 1s");

  auto rpc_error = ParseStdioResponse(
      R"({"jsonrpc":"2.0","id":0,"error":{"code":-32700,"message":"parse error"}})");
  EXPECT_EQ(rpc_error.error, "parse error");

  auto junk = ParseStdioResponse("hello");
  EXPECT_FALSE(junk.parsed);
  EXPECT_THAT(junk.error, HasSubstr("not a JSON object"));
}

TEST(CliCheckSocketReplaceTest, Verdicts) {
  EXPECT_EQ(CheckSocketReplace("@@unlink\nrm: cannot remove '/run/sagewai/tool-runner.sock': "
                               "Permission denied\n@@rename\nmv: cannot move "
                               "'/run/sagewai/tool-runner.sock' to '/run/sagewai/x': Permission "
                               "denied\n"),
            std::nullopt);
  // A sticky directory the tool may write: EPERM for another user's socket.
  EXPECT_EQ(CheckSocketReplace("@@unlink\nrm: cannot remove 'S': Operation not permitted\n"
                               "@@rename\nmv: cannot move 'K.src' to 'S': Operation not "
                               "permitted\n"),
            std::nullopt);
  auto both = CheckSocketReplace("@@unlink\nok\n@@rename\nok\n");
  ASSERT_TRUE(both.has_value());
  EXPECT_EQ(both->what,
            "a tool cannot replace the runner's socket: a tool removed it; a tool renamed over "
            "it — a tool could listen in its place and receive the host's calls");
  EXPECT_THAT(both->remedy, HasSubstr("`sagewai` (uid 900, gid 900)"));
  EXPECT_THAT(both->remedy, HasSubstr("--cap-add SETUID --cap-add SETGID"));
  auto rename = CheckSocketReplace("@@unlink\nrm: Permission denied\n@@rename\nok\n");
  ASSERT_TRUE(rename.has_value());
  EXPECT_THAT(rename->what, HasSubstr(": a tool renamed over it —"));
  auto odd = CheckSocketReplace("@@unlink\nrm: cannot remove 'S': No such file or directory\n");
  ASSERT_TRUE(odd.has_value());
  EXPECT_THAT(odd->what, HasSubstr("the unlink attempt neither worked nor was refused (rm: cannot "
                                   "remove 'S': No such file or directory)"));
  EXPECT_THAT(odd->what,
              HasSubstr("the rename attempt neither worked nor was refused (no output)"));
}

// A listening unix socket at `path`.
int Listen(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << strerror(errno);
  EXPECT_EQ(listen(fd, 1), 0);
  return fd;
}

ino_t Inode(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

class SocketReplaceProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sagewai-probe-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ + "/tool-runner.sock";
    listener_ = Listen(socket_);
    inode_ = Inode(socket_);
  }
  void TearDown() override {
    close(listener_);
    std::filesystem::remove_all(dir_);
  }
  std::string dir_, socket_;
  int listener_ = -1;
  ino_t inode_ = 0;
};

// Where the tool may do both, the probe says so and puts the socket back.
TEST_F(SocketReplaceProbeTest, UndoesWhatItManaged) {
  auto r = RunProcess({"sh", "-c", SocketReplaceProbeScript("n1", socket_)});
  ASSERT_TRUE(r.ok()) << r.status();
  auto failure = CheckSocketReplace(r->out);
  ASSERT_TRUE(failure.has_value()) << r->out;
  EXPECT_THAT(failure->what, HasSubstr("a tool removed it; a tool renamed over it")) << r->out;
  EXPECT_EQ(Inode(socket_), inode_) << r->out;
  std::vector<std::string> left;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) left.push_back(e.path());
  EXPECT_THAT(left, ElementsAre(socket_));
}

// Where the directory is not the tool's (or sticky, like a non-root host's
// 1777 socket directory), both attempts are refused.
TEST_F(SocketReplaceProbeTest, RefusedInADirectoryTheToolCannotWrite) {
  if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0) {
    GTEST_SKIP() << "needs root and setpriv to run the probe as another user";
  }
  for (mode_t mode : {0755, 01777}) {
    ASSERT_EQ(chmod(dir_.c_str(), mode), 0);
    auto r = RunProcess({"/usr/bin/setpriv", "--reuid", "65534", "--regid", "65534",
                         "--clear-groups", "sh", "-c", SocketReplaceProbeScript("n2", socket_)});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(CheckSocketReplace(r->out), std::nullopt) << std::oct << mode << ": " << r->out;
    EXPECT_EQ(Inode(socket_), inode_);
    std::vector<std::string> left;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) left.push_back(e.path());
    EXPECT_THAT(left, ElementsAre(socket_)) << std::oct << mode;
  }
}

TEST(CliCheckSignalRunnerTest, Verdicts) {
  EXPECT_EQ(CheckSignalRunner(7, "@@kill\nsh: 1: kill: Operation not permitted\n"), std::nullopt);
  auto allowed = CheckSignalRunner(7, "@@kill\nok\n");
  ASSERT_TRUE(allowed.has_value());
  EXPECT_EQ(allowed->what,
            "a tool cannot signal the runner (pid 7): kill -0 succeeded, so a tool can kill it");
  EXPECT_THAT(allowed->remedy, HasSubstr("uid 900"));
  auto gone = CheckSignalRunner(7, "@@kill\nsh: 1: kill: No such process\n");
  ASSERT_TRUE(gone.has_value());
  EXPECT_THAT(gone->what, HasSubstr("neither worked nor was refused with EPERM (sh: 1: kill: No "
                                    "such process)"));
}

// The probe's own words, from the shell tools run with: our pid may be
// signalled, PID 1's (as a non-root user) not.
TEST(CliCheckSignalRunnerTest, ProbeAgainstRealProcesses) {
  auto self = RunProcess({"sh", "-c", SignalProbeScript(getpid())});
  ASSERT_TRUE(self.ok());
  ASSERT_TRUE(CheckSignalRunner(getpid(), self->out).has_value()) << self->out;
  if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) != 0) {
    GTEST_SKIP() << "needs root and setpriv to run the probe as another user";
  }
  auto other = RunProcess({"/usr/bin/setpriv", "--reuid", "65534", "--regid", "65534",
                           "--clear-groups", "sh", "-c", SignalProbeScript(getpid())});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(CheckSignalRunner(getpid(), other->out), std::nullopt) << other->out;
}

TEST(CliSharedUidWarningTest, OnlyWhenShared) {
  EXPECT_EQ(SharedUidWarning(false, "whatever"), std::nullopt);
  EXPECT_EQ(SharedUidWarning(true, "started with --user 1000:1000"),
            "tools share the runner's uid (started with --user 1000:1000): a tool can signal the "
            "runner and replace its socket; the host's peer check and the challenge "
            "authentication still keep the token from it");
  EXPECT_THAT(*SharedUidWarning(true, ""), ::testing::StartsWith("tools share the runner's uid: "));
}

TEST(CliRandomHexTest, LengthAndAlphabet) {
  std::string a = RandomHex(32), b = RandomHex(32);
  EXPECT_EQ(a.size(), 64u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(CliFormatRoundTripTest, Precision) {
  EXPECT_EQ(FormatRoundTrip(0.43), "0.4 ms");
  EXPECT_EQ(FormatRoundTrip(9.94), "9.9 ms");
  EXPECT_EQ(FormatRoundTrip(42.4), "42 ms");
}

}  // namespace
}  // namespace sagewai::cli
