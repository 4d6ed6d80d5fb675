// The gRPC services of a runner that separates itself from its tools, as in
// the images: the runner started as root becomes `sagewai` (900) and starts
// tools as `agent` (1000), users from passwd and group files of the test's
// own. Every call must act as the agent, never as the runner.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <memory>
#include <string>

#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tests/runner/runner_process.h"

namespace sagewai::testing {
namespace {

namespace v1 = ::sagewai::sandbox::v1;
using ::testing::HasSubstr;

class IdentityGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root: the runner switches uids";
    char tmpl[] = "/tmp/sagewai-identity-users-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    users_dir_ = tmpl;
    chmod(users_dir_.c_str(), 0755);
    std::ofstream(users_dir_ + "/passwd") << "root:x:0:0::/root:/bin/sh\n"
                                          << "agent:x:1000:1000::/nonexistent:/bin/sh\n"
                                          << "sagewai:x:900:900::/nonexistent:/bin/false\n";
    std::ofstream(users_dir_ + "/group") << "root:x:0:\nagent:x:1000:\nsagewai:x:900:\n";
    RunnerOptions options;
    options.switch_identity = true;
    options.extra_env = {"SAGEWAI_PASSWD_FILE=" + users_dir_ + "/passwd",
                         "SAGEWAI_GROUP_FILE=" + users_dir_ + "/group"};
    runner_ = std::make_unique<RunnerProcess>(options);
    ASSERT_TRUE(runner_->started()) << runner_->ReadLog();
  }

  void TearDown() override {
    runner_.reset();
    if (!users_dir_.empty()) {
      unlink((users_dir_ + "/passwd").c_str());
      unlink((users_dir_ + "/group").c_str());
      rmdir(users_dir_.c_str());
    }
  }

  v1::BashResult Bash(const std::string& command, uint32_t timeout_ms = 0) {
    auto stub = v1::Bash::NewStub(runner_->channel());
    v1::BashRequest req;
    req.set_command(command);
    req.set_timeout_ms(timeout_ms);
    v1::BashResult out;
    auto ctx = runner_->Context();
    grpc::Status st = stub->Run(ctx.get(), req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  std::string users_dir_;
  std::unique_ptr<RunnerProcess> runner_;
};

TEST_F(IdentityGrpcTest, GetInfoReportsSeparateUids) {
  auto stub = v1::Runner::NewStub(runner_->channel());
  v1::GetInfoResponse info;
  auto ctx = runner_->Context();
  ASSERT_TRUE(stub->GetInfo(ctx.get(), {}, &info).ok());
  EXPECT_EQ(info.uid(), 900u);
  EXPECT_EQ(info.tool_uid(), 1000u);
  EXPECT_EQ(info.tool_gid(), 1000u);
  EXPECT_FALSE(info.tools_share_runner_uid());
  EXPECT_TRUE(info.identity_note().empty()) << info.identity_note();
}

TEST_F(IdentityGrpcTest, BashRunsAsTheAgentAndCannotSignalTheRunner) {
  v1::BashResult r = Bash("id -u; grep CapEff /proc/self/status; kill -0 " +
                          std::to_string(runner_->pid()) + " 2>&1 || echo refused");
  EXPECT_EQ(r.stdout().substr(0, 5), "1000\n");
  EXPECT_THAT(r.stdout(), HasSubstr("CapEff:\t0000000000000000"));
  EXPECT_THAT(r.stdout(), HasSubstr("Operation not permitted"));
  EXPECT_THAT(r.stdout(), HasSubstr("refused"));
}

// A separated runner sets the tool's score before exec through its spawn
// assistant (the child's /proc files are still root's then): the tool has
// 1000 from its first instruction, the runner keeps its own.
TEST_F(IdentityGrpcTest, ToolsGetOomScoreAdjButTheSeparatedRunnerDoesNot) {
  v1::BashResult r = Bash("cat /proc/self/oom_score_adj /proc/$$/oom_score_adj");
  EXPECT_EQ(r.stdout(), "1000\n1000\n");
  std::ifstream runner_adj("/proc/" + std::to_string(runner_->pid()) + "/oom_score_adj");
  int adj = -1;
  ASSERT_TRUE(runner_adj >> adj);
  EXPECT_EQ(adj, 0);
}

TEST_F(IdentityGrpcTest, TimeoutsStillKillTheAgentsWholeTree) {
  const std::string pid_file = runner_->workdir() + "/grandchild.pid";
  // A grandchild that ignores SIGTERM, in a process group of its own.
  v1::BashResult r = Bash("setsid bash -c 'trap \"\" TERM; echo $$ > " + pid_file +
                              "; exec sleep 30' & while [ ! -s " + pid_file +
                              " ]; do :; done; sleep 30",
                          /*timeout_ms=*/500);
  EXPECT_TRUE(r.timed_out());
  // Signalled as the agent, killed and reaped before the reply came.
  std::ifstream in(pid_file);
  pid_t grandchild = 0;
  ASSERT_TRUE(in >> grandchild);
  errno = 0;
  EXPECT_EQ(kill(grandchild, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

TEST_F(IdentityGrpcTest, FilesystemReadIsRefusedWhatTheAgentCannotRead) {
  const std::string secret = runner_->workdir() + "/root-only";
  std::ofstream(secret) << "not for the agent\n";
  chmod(secret.c_str(), 0600);
  auto fs = v1::Filesystem::NewStub(runner_->channel());
  v1::ReadRequest req;
  req.set_path("root-only");
  auto ctx = runner_->Context();
  auto reader = fs->Read(ctx.get(), req);
  v1::ReadChunk chunk;
  std::string data;
  while (reader->Read(&chunk)) data += chunk.data();
  grpc::Status st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
  EXPECT_EQ(data, "");
}

TEST_F(IdentityGrpcTest, FilesystemWritesBelongToTheAgent) {
  auto fs = v1::Filesystem::NewStub(runner_->channel());
  v1::WriteResponse response;
  auto ctx = runner_->Context();
  auto writer = fs->Write(ctx.get(), &response);
  v1::WriteRequest first;
  first.set_path("made-by-a-call.txt");
  first.set_data("hello");
  ASSERT_TRUE(writer->Write(first));
  writer->WritesDone();
  ASSERT_TRUE(writer->Finish().ok());
  struct stat st;
  ASSERT_EQ(stat((runner_->workdir() + "/made-by-a-call.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1000u);

  v1::MakeDirRequest mkdir_req;
  mkdir_req.set_path("made/deep");
  mkdir_req.set_parents(true);
  v1::MakeDirResponse mkdir_resp;
  auto ctx2 = runner_->Context();
  ASSERT_TRUE(fs->MakeDir(ctx2.get(), mkdir_req, &mkdir_resp).ok());
  ASSERT_EQ(stat((runner_->workdir() + "/made/deep").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
}

TEST_F(IdentityGrpcTest, CodeEvalInterpretersRunAsTheAgent) {
  auto eval = v1::CodeEval::NewStub(runner_->channel());
  v1::EvalRequest req;
  req.set_language("python");
  req.set_code("import os\nprint(os.getuid(), os.geteuid())");
  v1::EvalResult result;
  auto ctx = runner_->Context();
  grpc::Status st = eval->Eval(ctx.get(), req, &result);
  if (st.error_code() == grpc::StatusCode::FAILED_PRECONDITION &&
      st.error_message().find("python") != std::string::npos) {
    GTEST_SKIP() << "no python3 here: " << st.error_message();
  }
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(result.stdout(), "1000 1000\n");
}

}  // namespace
}  // namespace sagewai::testing
