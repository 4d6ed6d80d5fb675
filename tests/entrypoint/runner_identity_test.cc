// Who runs as whom in a sandbox, with the real static binaries:
// sagewai-entrypoint as PID 1 of a new PID namespace starting
// sagewai-tool-runner in its stdio mode (the existing worker's protocol),
// users from passwd and group files of the test's own (agent 1000,
// sagewai 900). Each test is something a tool tries, and fails while the
// runner, PID 1 and the tools share a uid.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "common/json_reader.h"
#include "common/json_writer.h"
#include "tests/entrypoint/subprocess.h"

namespace sagewai::entrypoint_test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kBin = SAGEWAI_BIN_DIR;
constexpr int kTimeoutMs = 60000;

struct ToolResult {
  bool ok = false;
  std::string out, err, error;
};

class RunnerIdentityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (uid changes, PID namespaces)";
    char tmpl[] = "/tmp/sagewai-identity-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    chmod(dir_.c_str(), 0755);
    workdir_ = dir_ + "/workspace";
    ASSERT_EQ(mkdir(workdir_.c_str(), 0755), 0);
    ASSERT_EQ(chown(workdir_.c_str(), 1000, 1000), 0);
    passwd_ = dir_ + "/passwd";
    group_ = dir_ + "/group";
    std::ofstream(passwd_) << "root:x:0:0:root:/root:/bin/sh\n"
                           << "agent:x:1000:1000:agent:" << workdir_ << ":/bin/sh\n"
                           << "sagewai:x:900:900:runner:/nonexistent:/bin/false\n";
    std::ofstream(group_) << "root:x:0:\nagent:x:1000:\nsagewai:x:900:\n";
  }

  void TearDown() override {
    if (!dir_.empty()) {
      Subprocess rm;
      if (rm.Start({"rm", "-rf", dir_}, {"PATH=/usr/bin:/bin"})) rm.Wait(kTimeoutMs);
    }
  }

  // Runs each command as one `bash` call of a fresh sandbox, in order.
  // `wrapper` goes between unshare and the entrypoint (e.g. setpriv).
  std::vector<ToolResult> Run(const std::vector<std::string>& commands,
                              const std::vector<std::string>& wrapper = {},
                              std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"};
    argv.insert(argv.end(), wrapper.begin(), wrapper.end());
    argv.push_back(kBin + "/sagewai-entrypoint");
    argv.push_back(kBin + "/sagewai-tool-runner");
    env.insert(env.end(), {"PATH=/usr/local/bin:/usr/bin:/bin", "SAGEWAI_PASSWD_FILE=" + passwd_,
                           "SAGEWAI_GROUP_FILE=" + group_, "AGENT_WORKDIR=" + workdir_,
                           "SESSION_TOKEN=tok-0123456789abcdef", "SAGEWAI_LOG_LEVEL=info"});
    Subprocess p;
    std::vector<ToolResult> results;
    if (!p.Start(argv, env)) {
      ADD_FAILURE() << "cannot start the sandbox";
      return results;
    }
    std::string requests;
    for (size_t i = 0; i < commands.size(); ++i) {
      json::ObjectWriter args;
      args.String("command", commands[i]);
      json::ObjectWriter params;
      params.String("tool", "bash").Raw("args", args.Finish()).Int("timeout_s", 30);
      json::ObjectWriter request;
      request.String("jsonrpc", "2.0")
          .Int("id", static_cast<int64_t>(i))
          .String("method", "exec")
          .Raw("params", params.Finish());
      requests += request.Finish() + "\n";
    }
    EXPECT_TRUE(p.WriteStdin(requests));
    p.CloseStdin();
    EXPECT_EQ(p.Wait(kTimeoutMs), 0) << p.err();
    runner_log_ = p.err();
    size_t start = 0;
    const std::string& out = p.out();
    while (start < out.size()) {
      size_t end = out.find('\n', start);
      if (end == std::string::npos) end = out.size();
      auto line = json::Parse(absl::string_view(out).substr(start, end - start));
      start = end + 1;
      ToolResult r;
      const json::Value* result = line.ok() ? line->Find("result") : nullptr;
      if (result == nullptr) {
        ADD_FAILURE() << "not a result: " << out;
        continue;
      }
      r.ok = result->Find("ok")->AsBool().value_or(false);
      r.out = std::string(result->Find("stdout")->AsString().value_or(""));
      r.err = std::string(result->Find("stderr")->AsString().value_or(""));
      if (const json::Value* e = result->Find("error"); e != nullptr && e->is_string()) {
        r.error = std::string(*e->AsString());
      }
      results.push_back(std::move(r));
    }
    EXPECT_EQ(results.size(), commands.size()) << out << runner_log_;
    results.resize(commands.size());
    return results;
  }

  std::string dir_, workdir_, passwd_, group_, runner_log_;
};

// The runner is the tool's parent ($PPID): bash -c is started by it directly.
constexpr char kStatusOf[] = "grep -E '^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs):' /proc/$1/status";

TEST_F(RunnerIdentityTest, ToolsRunAsTheAgentWithNothingElse) {
  auto r = Run({std::string("s() { ") + kStatusOf + "; }; id -u; id -g; id -G; s self"});
  ASSERT_TRUE(r[0].ok) << r[0].err;
  EXPECT_EQ(r[0].out,
            "1000\n1000\n1000\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n"
            "Groups:\t1000 \nCapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n"
            "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\n"
            "NoNewPrivs:\t1\n");
}

TEST_F(RunnerIdentityTest, RunnerHasItsOwnUidAndOnlyTheSetIdCapabilitiesPermitted) {
  auto r = Run({std::string("s() { ") + kStatusOf + "; }; s $PPID"});
  ASSERT_TRUE(r[0].ok) << r[0].err;
  // The stdio mode's main thread does the fs.* calls: its fsuid is the agent's.
  EXPECT_THAT(r[0].out, HasSubstr("Uid:\t900\t900\t900\t"));
  EXPECT_THAT(r[0].out, HasSubstr("CapPrm:\t00000000000000c0\n"));
  EXPECT_THAT(r[0].out, HasSubstr("CapEff:\t0000000000000000\n"));
  EXPECT_THAT(r[0].out, HasSubstr("CapBnd:\t0000000000000000\n"));
  EXPECT_THAT(r[0].out, HasSubstr("CapAmb:\t0000000000000000\n"));
  EXPECT_THAT(r[0].out, HasSubstr("NoNewPrivs:\t1\n"));
}

TEST_F(RunnerIdentityTest, Pid1FollowsTheRunnerNotTheAgent) {
  // PID 1 drops right after it has started the runner: wait for that state.
  auto r = Run({"for i in $(seq 500); do grep -q '^Uid:\t900\t' /proc/1/status && break; "
                "sleep 0.01; done; grep -E '^(Uid|CapPrm|CapEff|NoNewPrivs):' /proc/1/status"});
  ASSERT_TRUE(r[0].ok) << r[0].err;
  EXPECT_EQ(r[0].out,
            "Uid:\t900\t900\t900\t900\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
            "NoNewPrivs:\t1\n");
}

TEST_F(RunnerIdentityTest, ToolsCannotSignalTheRunnerOrPid1) {
  auto r = Run({"kill -0 $PPID; echo $?; kill -TERM $PPID; echo $?; kill -KILL $PPID; echo $?; "
                "kill -TERM 1; echo $?; kill -KILL 1; echo $?",
                // Everything the agent may kill, then another call.
                "kill -9 -1; echo survived", "echo still serving"});
  EXPECT_EQ(r[0].out, "1\n1\n1\n1\n1\n");
  EXPECT_EQ(std::count(r[0].err.begin(), r[0].err.end(), '\n'), 5) << r[0].err;
  EXPECT_THAT(r[0].err, HasSubstr("Operation not permitted"));
  EXPECT_TRUE(r[2].ok);
  EXPECT_EQ(r[2].out, "still serving\n");
}

TEST_F(RunnerIdentityTest, ToolsCannotReadTheRunnersOrPid1sMemoryOrFds) {
  const std::string try_read =
      "t() { if cat \"$1\" >/dev/null 2>&1; then echo \"$1 READABLE\"; else echo denied; fi; }; ";
  auto r = Run({try_read +
                "t /proc/$PPID/environ; t /proc/$PPID/mem; t /proc/1/environ; t /proc/1/mem; "
                "ls /proc/$PPID/fd >/dev/null 2>&1 && echo 'runner fds LISTED' || echo denied; "
                "for f in /proc/$PPID/fd/* /proc/1/fd/*; do [ -e \"$f\" ] && t \"$f\"; done; "
                "grep -c tok-0123456789abcdef /proc/1/environ /proc/$PPID/environ 2>&1 | "
                "grep -v 'Permission denied' || true"});
  EXPECT_THAT(r[0].out, Not(HasSubstr("READABLE")));
  EXPECT_THAT(r[0].out, Not(HasSubstr("LISTED")));
  EXPECT_THAT(r[0].out, HasSubstr("denied\ndenied\ndenied\ndenied\ndenied\n"));
}

TEST_F(RunnerIdentityTest, ToolsCannotTraceTheRunnerOrPid1) {
  // PTRACE_ATTACH (16) through python's ctypes, present on the test host.
  auto r = Run({"for pid in $PPID 1; do python3 -c 'import ctypes,sys,os; "
                "libc=ctypes.CDLL(None,use_errno=True); "
                "r=libc.ptrace(16,int(sys.argv[1]),0,0); "
                "print(\"attached\" if r==0 else os.strerror(ctypes.get_errno()))' $pid; done"});
  ASSERT_TRUE(r[0].ok) << r[0].err;
  EXPECT_EQ(r[0].out, "Operation not permitted\nOperation not permitted\n");
}

TEST_F(RunnerIdentityTest, FileCallsActAsTheAgent) {
  const std::string secret = workdir_ + "/root-only";
  std::ofstream(secret) << "not for the agent\n";
  chmod(secret.c_str(), 0600);
  // fs.* calls go through the same handlers as Filesystem over gRPC.
  Subprocess p;
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "SAGEWAI_PASSWD_FILE=" + passwd_,
                                  "SAGEWAI_GROUP_FILE=" + group_, "AGENT_WORKDIR=" + workdir_};
  ASSERT_TRUE(p.Start({"unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
                       kBin + "/sagewai-entrypoint", kBin + "/sagewai-tool-runner"},
                      env));
  ASSERT_TRUE(p.WriteStdin(
      R"({"jsonrpc":"2.0","id":1,"method":"exec","params":{"tool":"fs.read","args":{"path":"root-only"}}})"
      "\n"
      R"({"jsonrpc":"2.0","id":2,"method":"exec","params":{"tool":"fs.write","args":{"path":"new.txt","content":"x"}}})"
      "\n"));
  p.CloseStdin();
  ASSERT_EQ(p.Wait(kTimeoutMs), 0) << p.err();
  const std::string first = p.out().substr(0, p.out().find('\n'));
  EXPECT_THAT(first, HasSubstr(R"("ok":false)"));
  EXPECT_THAT(first, Not(HasSubstr("not for the agent")));
  EXPECT_THAT(first, HasSubstr("ermission denied"));
  struct stat st;
  ASSERT_EQ(stat((workdir_ + "/new.txt").c_str(), &st), 0) << p.out();
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1000u);
}

// Start states that cannot separate: the tools share the runner's uid, the
// runner says why, and the token still reaches no tool.
TEST_F(RunnerIdentityTest, WithoutSetuidCapabilitiesTheRunnerSaysToolsShareItsUid) {
  auto r = Run({"id -u; grep -c tok-0123456789abcdef /proc/$PPID/environ /proc/1/environ "
                "2>/dev/null; env | grep -c SESSION_TOKEN"},
               {"setpriv", "--inh-caps=-all", "--bounding-set=-all", "--"});
  EXPECT_EQ(r[0].out.substr(0, 2), "0\n");
  EXPECT_THAT(r[0].out, Not(HasSubstr(":1")));
  EXPECT_THAT(runner_log_, HasSubstr("lacks CAP_SETUID/CAP_SETGID"));
}

TEST_F(RunnerIdentityTest, WithoutARunnerUserTheToolsAndRunnerShareTheAgentsUid) {
  std::ofstream(passwd_) << "root:x:0:0:root:/root:/bin/sh\n"
                         << "agent:x:1000:1000:agent:" << workdir_ << ":/bin/sh\n";
  auto r = Run({"id -u; grep '^Uid:' /proc/$PPID/status"});
  EXPECT_EQ(r[0].out, "1000\nUid:\t1000\t1000\t1000\t1000\n");
  EXPECT_THAT(runner_log_, HasSubstr("tools run under the runner's own uid"));
  EXPECT_THAT(runner_log_, HasSubstr("has no user \\\"sagewai\\\""));
}

TEST_F(RunnerIdentityTest, AnUnknownAgentUserIsRefusedBeforeAnythingRuns) {
  Subprocess p;
  ASSERT_TRUE(p.Start({"unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
                       kBin + "/sagewai-entrypoint", kBin + "/sagewai-tool-runner", "serve"},
                      {"PATH=/usr/bin:/bin", "SAGEWAI_PASSWD_FILE=" + passwd_,
                       "SAGEWAI_GROUP_FILE=" + group_, "AGENT_USER=nosuchuser"}));
  p.CloseStdin();
  EXPECT_EQ(p.Wait(kTimeoutMs), 1);
  EXPECT_THAT(p.err(), HasSubstr("nosuchuser"));
}

}  // namespace
}  // namespace sagewai::entrypoint_test
