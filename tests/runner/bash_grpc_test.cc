// The real sagewai-tool-runner over a real unix socket, driven by the C++
// gRPC client.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "grpc/health/v1/health.grpc.pb.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tests/runner/runner_process.h"
#include "tests/runner/wait_for.h"

namespace sagewai::testing {
namespace {

namespace v1 = ::sagewai::sandbox::v1;
using std::chrono::milliseconds;

class BashGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runner_ = std::make_unique<RunnerProcess>(Options());
    ASSERT_TRUE(runner_->started()) << runner_->ReadLog();
    bash_ = v1::Bash::NewStub(runner_->channel());
  }
  virtual RunnerOptions Options() { return {}; }

  grpc::Status Run(const v1::BashRequest& req, v1::BashResult* out) {
    auto ctx = runner_->Context();
    return bash_->Run(ctx.get(), req, out);
  }
  v1::BashResult RunOk(const std::string& command) {
    v1::BashRequest req;
    req.set_command(command);
    v1::BashResult out;
    grpc::Status st = Run(req, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }

  std::unique_ptr<RunnerProcess> runner_;
  std::unique_ptr<v1::Bash::Stub> bash_;
};

TEST_F(BashGrpcTest, EchoRoundTrip) {
  v1::BashResult r = RunOk("echo hello");
  EXPECT_EQ(r.stdout(), "hello\n");
  EXPECT_EQ(r.stderr(), "");
  EXPECT_EQ(r.exit_code(), 0);
  EXPECT_FALSE(r.timed_out());
}

TEST_F(BashGrpcTest, EnvCwdAndStdin) {
  mkdir((runner_->workdir() + "/sub").c_str(), 0777);
  v1::BashRequest req;
  req.set_command("echo \"$GREETING\"; pwd; cat; echo \"[$SESSION_TOKEN]\"");
  (*req.mutable_env())["GREETING"] = "hi there";
  (*req.mutable_env())["SESSION_TOKEN"] = "must-not-pass";
  req.set_cwd("sub");
  req.set_stdin("from stdin\n");
  v1::BashResult r;
  ASSERT_TRUE(Run(req, &r).ok());
  EXPECT_EQ(r.stdout(), "hi there\n" + runner_->workdir() + "/sub\nfrom stdin\n[]\n");
}

TEST_F(BashGrpcTest, DefaultCwdIsTheWorkdirAndEnvIsClean) {
  v1::BashResult r = RunOk("pwd; env | cut -d= -f1 | sort | tr '\\n' ' '");
  EXPECT_EQ(r.stdout().substr(0, runner_->workdir().size() + 1), runner_->workdir() + "\n");
  // Only the clean base (bash adds SHLVL and _).
  EXPECT_EQ(r.stdout().substr(runner_->workdir().size() + 1),
            "HOME LANG LOGNAME PATH PWD SHLVL USER _ ");
}

TEST_F(BashGrpcTest, ExitCodesAndSignals) {
  for (int code : {0, 1, 2, 127, 255}) {
    EXPECT_EQ(RunOk("exit " + std::to_string(code)).exit_code(), code);
  }
  v1::BashResult r = RunOk("kill -KILL $$");
  EXPECT_EQ(r.signal(), SIGKILL);
  EXPECT_EQ(r.exit_code(), 128 + SIGKILL);
}

TEST_F(BashGrpcTest, BadRequestsAreErrorsNotResults) {
  v1::BashRequest req;
  v1::BashResult r;
  EXPECT_EQ(Run(req, &r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_command("true");
  req.set_cwd("/no/such/dir");
  grpc::Status st = Run(req, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("/no/such/dir"), std::string::npos) << st.error_message();
  req.set_cwd("");
  (*req.mutable_env())["BAD=NAME"] = "x";
  EXPECT_EQ(Run(req, &r).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// Reads the pids a command wrote to `path`, one a line.
std::vector<pid_t> ReadPids(const std::string& path) {
  std::vector<pid_t> pids;
  if (FILE* f = fopen(path.c_str(), "re")) {
    for (int pid; fscanf(f, "%d", &pid) == 1;) pids.push_back(pid);
    fclose(f);
  }
  return pids;
}

TEST_F(BashGrpcTest, TimeoutKillsTheTreeAndRepliesInTime) {
  const std::string marker = runner_->workdir() + "/late-write";
  const std::string pids = runner_->dir() + "/pids";
  v1::BashRequest req;
  // The grandchild ignores SIGTERM and would write after the timeout; it and
  // the shell say who they are (written whole, then renamed into place).
  req.set_command("(trap '' TERM; sleep 3; echo late > " + marker + ") & echo $! $$ > " + pids +
                  ".new; mv " + pids + ".new " + pids + "; sleep 60");
  req.set_timeout_ms(1000);
  v1::BashResult r;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(Run(req, &r).ok());
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.timed_out());
  EXPECT_LT(took, milliseconds(1000 + 2000));
  // The reply comes after the tree is killed and reaped: at this moment the
  // writer is gone, so the file can never appear.
  const std::vector<pid_t> tree = ReadPids(pids);
  ASSERT_EQ(tree.size(), 2u) << "the command did not record its pids";
  for (pid_t pid : tree) {
    errno = 0;
    EXPECT_EQ(kill(pid, 0), -1) << "pid " << pid << " outlived the reply";
    EXPECT_EQ(errno, ESRCH) << "pid " << pid;
  }
  EXPECT_NE(access(marker.c_str(), F_OK), 0) << "a process of the timed-out call survived";
}

TEST_F(BashGrpcTest, BackgroundChildDoesNotHoldTheCall) {
  const auto start = std::chrono::steady_clock::now();
  v1::BashResult r = RunOk("sleep 100 & echo bg");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(r.stdout(), "bg\n");
}

TEST_F(BashGrpcTest, GigabyteOfOutputIsCappedAndMemoryStaysSmall) {
  std::atomic<bool> done{false};
  long peak_kb = 0;
  std::thread watcher([&] {
    while (!done) {
      peak_kb = std::max(peak_kb, runner_->StatusField("VmRSS"));
      std::this_thread::sleep_for(milliseconds(20));
    }
  });
  v1::BashResult r = RunOk("head -c 1073741824 /dev/zero; echo end >&2");
  done = true;
  watcher.join();
  EXPECT_EQ(r.stdout().size(), 1u << 20);
  EXPECT_TRUE(r.stdout_truncated());
  EXPECT_EQ(r.stdout_bytes(), 1ull << 30);
  EXPECT_EQ(r.stderr(), "end\n");
  EXPECT_LT(peak_kb, 64 * 1024) << "runner RSS peaked at " << peak_kb << " KiB";
}

TEST_F(BashGrpcTest, ManyConcurrentCallsWithBoundedThreads) {
  constexpr int kCalls = 256;
  grpc::CompletionQueue cq;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<v1::BashResult> results(kCalls);
  std::vector<grpc::Status> statuses(kCalls);
  std::vector<std::unique_ptr<grpc::ClientAsyncResponseReader<v1::BashResult>>> readers;
  // Every command holds its call open at the gate until the test has looked.
  CommandGate gate(runner_->dir());
  ASSERT_TRUE(gate.ok());
  for (int i = 0; i < kCalls; ++i) {
    v1::BashRequest req;
    req.set_command(gate.Shell() + "; echo " + std::to_string(i));
    contexts.push_back(runner_->Context(std::chrono::seconds(60)));
    readers.push_back(bash_->AsyncRun(contexts.back().get(), req, &cq));
    readers.back()->Finish(&results[i], &statuses[i],
                           reinterpret_cast<void*>(static_cast<intptr_t>(i)));
  }
  // All of them are running at once when the runner is measured.
  EXPECT_TRUE(gate.WaitReady(kCalls, std::chrono::seconds(60)));
  const long threads = runner_->StatusField("Threads");
  const long rss_kb = runner_->StatusField("VmRSS");
  EXPECT_TRUE(gate.Release(kCalls));
  void* tag;
  bool ok;
  for (int n = 0; n < kCalls; ++n) ASSERT_TRUE(cq.Next(&tag, &ok));
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
    EXPECT_EQ(results[i].stdout(), std::to_string(i) + "\n");
  }
  EXPECT_LE(threads, 16) << "the runner's threads must stay bounded";
#ifndef SAGEWAI_SANITIZED  // ASan's shadow memory and quarantine are not ours to bound
  EXPECT_LT(rss_kb, 64 * 1024);
#endif
}

TEST_F(BashGrpcTest, StreamCarriesStdinOutputAndSignals) {
  auto ctx = runner_->Context();
  auto stream = bash_->Stream(ctx.get());
  v1::BashStreamRequest start;
  start.mutable_start()->set_command(
      "trap 'echo got-term; exit 9' TERM; read a; echo \"line:$a\"; echo err >&2; "
      "while :; do sleep 0.05; done");
  ASSERT_TRUE(stream->Write(start));
  v1::BashStreamEvent ev;
  ASSERT_TRUE(stream->Read(&ev));
  ASSERT_EQ(ev.kind_case(), v1::BashStreamEvent::kStarted);
  EXPECT_GT(ev.started().pid(), 0);
  v1::BashStreamRequest in;
  in.set_stdin("abc\n");
  ASSERT_TRUE(stream->Write(in));
  std::string out, err;
  while (out.find("line:abc\n") == std::string::npos || err.empty()) {
    ASSERT_TRUE(stream->Read(&ev));
    if (ev.kind_case() == v1::BashStreamEvent::kStdout) out += ev.stdout();
    if (ev.kind_case() == v1::BashStreamEvent::kStderr) err += ev.stderr();
  }
  v1::BashStreamRequest sig;
  sig.set_signal(SIGTERM);
  ASSERT_TRUE(stream->Write(sig));
  v1::BashResult exit;
  while (stream->Read(&ev)) {
    if (ev.kind_case() == v1::BashStreamEvent::kStdout) out += ev.stdout();
    if (ev.kind_case() == v1::BashStreamEvent::kExit) exit = ev.exit();
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(out, "line:abc\ngot-term\n");
  EXPECT_EQ(err, "err\n");
  EXPECT_EQ(exit.exit_code(), 9);
  EXPECT_EQ(exit.stdout_bytes(), out.size());
}

TEST_F(BashGrpcTest, StreamHalfCloseEndsStdin) {
  auto ctx = runner_->Context();
  auto stream = bash_->Stream(ctx.get());
  v1::BashStreamRequest start;
  start.mutable_start()->set_command("wc -c");
  start.mutable_start()->set_stdin("12345");
  ASSERT_TRUE(stream->Write(start));
  v1::BashStreamRequest in;
  in.set_stdin("678");
  ASSERT_TRUE(stream->Write(in));
  ASSERT_TRUE(stream->WritesDone());
  std::string out;
  v1::BashStreamEvent ev;
  while (stream->Read(&ev)) {
    if (ev.kind_case() == v1::BashStreamEvent::kStdout) out += ev.stdout();
  }
  EXPECT_TRUE(stream->Finish().ok());
  EXPECT_EQ(out, "8\n");
}

TEST_F(BashGrpcTest, StreamMustStartWithStart) {
  auto ctx = runner_->Context();
  auto stream = bash_->Stream(ctx.get());
  v1::BashStreamRequest in;
  in.set_stdin("x");
  stream->Write(in);
  stream->WritesDone();
  v1::BashStreamEvent ev;
  while (stream->Read(&ev)) {
  }
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(BashGrpcTest, ClientCancelKillsTheCommand) {
  const std::string pidfile = runner_->workdir() + "/pid";
  auto ctx = runner_->Context();
  v1::BashRequest req;
  // Written whole, then renamed: the file appears with the pid in it.
  req.set_command("echo $$ > " + pidfile + ".new; mv " + pidfile + ".new " + pidfile +
                  "; sleep 60");
  v1::BashResult r;
  std::thread canceller([&] {
    EXPECT_TRUE(WaitForPath(pidfile, std::chrono::seconds(5), runner_->pid()));
    ctx->TryCancel();
  });
  grpc::Status st = bash_->Run(ctx.get(), req, &r);
  canceller.join();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED);
  FILE* f = fopen(pidfile.c_str(), "r");
  ASSERT_NE(f, nullptr);
  int pid = 0;
  ASSERT_EQ(fscanf(f, "%d", &pid), 1);
  fclose(f);
  EXPECT_TRUE(WaitForReaped(pid, std::chrono::seconds(3)))
      << "the cancelled command is still running";
}

TEST_F(BashGrpcTest, AuthIsRequiredAndHealthIsOpen) {
  auto raw_bash = v1::Bash::NewStub(runner_->raw_channel());
  v1::BashRequest req;
  req.set_command("echo x");
  v1::BashResult r;
  grpc::ClientContext none;
  grpc::Status missing = raw_bash->Run(&none, req, &r);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(missing.error_message().find("Auth.Challenge"), std::string::npos)
      << missing.error_message();
  grpc::ClientContext info_ctx;
  v1::GetInfoResponse info;
  EXPECT_EQ(v1::Runner::NewStub(runner_->raw_channel())->GetInfo(&info_ctx, {}, &info).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext health_ctx;
  grpc::health::v1::HealthCheckResponse health;
  ASSERT_TRUE(grpc::health::v1::Health::NewStub(runner_->raw_channel())
                  ->Check(&health_ctx, {}, &health)
                  .ok());
  EXPECT_EQ(health.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

TEST_F(BashGrpcTest, SignedCallsPassOnceAndForgedOrReplayedOnesFail) {
  absl::StatusOr<RunnerProcess::ManualSession> session = runner_->StartSession();
  ASSERT_TRUE(session.ok()) << session.status();
  auto raw_bash = v1::Bash::NewStub(runner_->raw_channel());
  v1::BashRequest req;
  req.set_command("echo signed");
  auto call = [&](const std::string& header) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", header);
    v1::BashResult r;
    return raw_bash->Run(&ctx, req, &r);
  };
  const std::string first = session->Header(1, "/sagewai.sandbox.v1.Bash/Run");
  ASSERT_TRUE(call(first).ok());
  // The same header captured and sent again.
  grpc::Status replayed = call(first);
  EXPECT_EQ(replayed.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(replayed.error_message().rfind("replayed call", 0), 0u) << replayed.error_message();
  // Signed for another method, or with another key.
  grpc::Status moved = call(session->Header(2, "/sagewai.sandbox.v1.Bash/Stream"));
  EXPECT_EQ(moved.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(moved.error_message().rfind("bad mac", 0), 0u) << moved.error_message();
  RunnerProcess::ManualSession forged = *session;
  forged.key = session_auth::DeriveSessionKey("not-the-token");
  EXPECT_EQ(
      call(forged.Header(3, "/sagewai.sandbox.v1.Bash/Run")).error_message().rfind("bad mac", 0),
      0u);
  // A nonce the runner never issued.
  RunnerProcess::ManualSession unknown = *session;
  unknown.nonce = std::string(32, 'u');
  EXPECT_EQ(call(unknown.Header(1, "/sagewai.sandbox.v1.Bash/Run")).error_message(),
            "unknown or expired nonce: call Auth.Challenge again");
  // A forgery did not use up seq 2.
  EXPECT_TRUE(call(session->Header(2, "/sagewai.sandbox.v1.Bash/Run")).ok());
  // Plain bearer tokens are refused by default, and the log does not echo them.
  grpc::Status bearer = call("Bearer test-token-0123456789");
  EXPECT_EQ(bearer.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(bearer.error_message().rfind("plain bearer tokens are refused", 0), 0u)
      << bearer.error_message();
  EXPECT_EQ(call("Bearer not-the-token").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(runner_->ReadLog().find("not-the-token"), std::string::npos)
      << "the log must not echo what was sent";
  EXPECT_EQ(runner_->ReadLog().find("test-token-0123456789"), std::string::npos);
}

TEST_F(BashGrpcTest, EveryServiceAcceptsTheSignedChannel) {
  // A method path a service checks against must be the one clients sign.
  auto ctx = runner_->Context();
  v1::ListContextsResponse contexts;
  EXPECT_TRUE(
      v1::CodeEval::NewStub(runner_->channel())->ListContexts(ctx.get(), {}, &contexts).ok());
  auto stat_ctx = runner_->Context();
  v1::StatRequest stat;
  stat.set_path(".");
  v1::FileInfo file;
  grpc::Status st = v1::Filesystem::NewStub(runner_->channel())->Stat(stat_ctx.get(), stat, &file);
  EXPECT_TRUE(st.ok()) << st.error_message();
}

TEST_F(BashGrpcTest, GetInfoDescribesTheRunner) {
  auto ctx = runner_->Context();
  v1::GetInfoResponse info;
  ASSERT_TRUE(v1::Runner::NewStub(runner_->channel())->GetInfo(ctx.get(), {}, &info).ok());
  EXPECT_EQ(info.version(), SAGEWAI_VERSION);
  EXPECT_EQ(std::vector<std::string>(info.auth_schemes().begin(), info.auth_schemes().end()),
            std::vector<std::string>{"sagewai-hmac-sha256-v1"});
  EXPECT_EQ(info.uid(), getuid());
  EXPECT_EQ(info.workdir(), runner_->workdir());
  EXPECT_NE(std::find(info.capabilities().begin(), info.capabilities().end(), "bash"),
            info.capabilities().end());
  EXPECT_EQ(info.limits().max_output_bytes(), 1u << 20);
  EXPECT_EQ(info.limits().max_contexts(), 16u);
  EXPECT_EQ(info.limits().context_idle_timeout_ms(), 30u * 60 * 1000);
}

TEST_F(BashGrpcTest, SigtermStopsPromptlyAndEndsRunningCalls) {
  auto ctx = runner_->Context();
  v1::BashRequest req;
  const std::string started = runner_->dir() + "/started";
  req.set_command("trap '' TERM; echo > " + started + "; sleep 60");
  v1::BashResult r;
  grpc::Status st;
  std::thread call([&] { st = bash_->Run(ctx.get(), req, &r); });
  // The call is running when the runner is told to stop.
  EXPECT_TRUE(WaitForPath(started, std::chrono::seconds(10), runner_->pid()));
  milliseconds took;
  int status = runner_->Stop(&took);
  call.join();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_LT(took, milliseconds(1500));
  EXPECT_FALSE(st.ok() && r.exit_code() == 0);
  EXPECT_NE(access(runner_->socket_path().c_str(), F_OK), 0) << "the socket is removed";
}

TEST_F(BashGrpcTest, ToolsGetOomScoreAdjButTheRunnerDoesNot) {
  v1::BashResult r = RunOk("cat /proc/self/oom_score_adj /proc/" + std::to_string(runner_->pid()) +
                           "/oom_score_adj");
  EXPECT_EQ(r.stdout(), "1000\n0\n");
}

class LimitedRunnerTest : public BashGrpcTest {
  RunnerOptions Options() override {
    RunnerOptions o;
    o.extra_args = {"--max-concurrent-calls", "2", "--max-output-bytes", "10"};
    return o;
  }
};

TEST_F(LimitedRunnerTest, OverTheLimitIsResourceExhausted) {
  CommandGate gate(runner_->dir());
  ASSERT_TRUE(gate.ok());
  std::vector<std::thread> busy;
  for (int i = 0; i < 2; ++i) {
    busy.emplace_back([this, &gate] { RunOk(gate.Shell()); });
  }
  // Both calls are running (their commands said so) while the third comes.
  EXPECT_TRUE(gate.WaitReady(2, std::chrono::seconds(30)));
  v1::BashRequest req;
  req.set_command("echo x");
  v1::BashResult r;
  grpc::Status st = Run(req, &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(st.error_message().find("--max-concurrent-calls"), std::string::npos);
  EXPECT_TRUE(gate.Release(2));
  for (auto& t : busy) t.join();
  // An answered call gives its slot back when gRPC is done with it, a moment
  // after the client has the answer: no event says when, so the next call
  // retries RESOURCE_EXHAUSTED as the README tells clients to.
  v1::BashRequest echo;
  echo.set_command("echo 0123456789abcdef");
  v1::BashResult capped;
  grpc::Status capped_status;
  EXPECT_TRUE(WaitUntil(
      [&] {
        capped_status = Run(echo, &capped);
        return capped_status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED;
      },
      milliseconds(10000)));
  ASSERT_TRUE(capped_status.ok()) << capped_status.error_message();
  EXPECT_EQ(capped.stdout(), "0123456789");
  EXPECT_TRUE(capped.stdout_truncated());
  EXPECT_EQ(capped.stdout_bytes(), 17u);
}

class BearerRunnerTest : public BashGrpcTest {
 protected:
  RunnerOptions Options() override {
    RunnerOptions o;
    o.extra_args = {"--allow-bearer"};
    return o;
  }
};

TEST_F(BearerRunnerTest, AllowBearerAcceptsTheTokenAndSaysSoOnce) {
  auto raw_bash = v1::Bash::NewStub(runner_->raw_channel());
  v1::BashRequest req;
  req.set_command("echo old client");
  auto call = [&](const std::string& header) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", header);
    v1::BashResult r;
    grpc::Status st = raw_bash->Run(&ctx, req, &r);
    if (st.ok()) EXPECT_EQ(r.stdout(), "old client\n");
    return st;
  };
  EXPECT_TRUE(call("Bearer test-token-0123456789").ok());
  EXPECT_EQ(call("Bearer test-token-0123456780").error_message(), "invalid session token");
  // The signed scheme still works beside it.
  EXPECT_TRUE(RunOk("true").exit_code() == 0);
  auto ctx = runner_->Context();
  v1::GetInfoResponse info;
  ASSERT_TRUE(v1::Runner::NewStub(runner_->channel())->GetInfo(ctx.get(), {}, &info).ok());
  EXPECT_EQ(std::vector<std::string>(info.auth_schemes().begin(), info.auth_schemes().end()),
            (std::vector<std::string>{"sagewai-hmac-sha256-v1", "bearer"}));
  const std::string log = runner_->ReadLog();
  size_t warns = 0;
  for (size_t at = log.find("plain bearer tokens are accepted"); at != std::string::npos;
       at = log.find("plain bearer tokens are accepted", at + 1)) {
    ++warns;
  }
  EXPECT_EQ(warns, 1u) << log;
}

}  // namespace
}  // namespace sagewai::testing
