#include "tool-runner/supervisor/supervisor.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

namespace sagewai {
namespace {

using std::chrono::milliseconds;

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Supervisor::Start(SupervisorOptions{.kill_grace = milliseconds(300)});
    ASSERT_TRUE(s.ok()) << s.status();
    sup_ = std::move(*s);
  }
  void TearDown() override { sup_->Shutdown(milliseconds(100)); }

  static CommandSpec Bash(std::string command) {
    CommandSpec spec;
    spec.process.argv = {ShellPath(), "-c", std::move(command)};
    spec.process.env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
    spec.timeout = milliseconds(20000);
    return spec;
  }

  CommandResult Run(CommandSpec spec) {
    auto r = sup_->RunToCompletion(std::move(spec));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CommandResult{};
  }

  std::unique_ptr<Supervisor> sup_;
};

TEST_F(SupervisorTest, CollectsOutputAndExitCode) {
  CommandResult r = Run(Bash("echo out; echo err >&2; exit 3"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.stdout_data, "out\n");
  EXPECT_EQ(r.stderr_data, "err\n");
  EXPECT_FALSE(r.timed_out);
}

// The leader dies of the SIGTERM at once, and the descendant that left its
// group (setsid) and ignores SIGTERM is no longer its descendant when the
// SIGKILL comes: it must be remembered from the first scan.
TEST_F(SupervisorTest, TimeoutKillsADescendantThatLeftTheGroupAndIgnoresSigterm) {
  char tmpl[] = "/tmp/sagewai-escapee-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string pid_file = std::string(tmpl) + "/pid";
  CommandSpec spec =
      Bash("setsid bash -c 'trap \"\" TERM; echo $$ > " + pid_file +
           "; exec sleep 60' & while [ ! -s " + pid_file + " ]; do :; done; sleep 60");
  spec.timeout = milliseconds(300);
  CommandResult r = Run(std::move(spec));
  EXPECT_TRUE(r.timed_out);
  FILE* f = fopen(pid_file.c_str(), "r");
  ASSERT_NE(f, nullptr);
  int escapee = 0;
  ASSERT_EQ(fscanf(f, "%d", &escapee), 1);
  fclose(f);
  // Killed before the result came back: gone, or at most a zombie nobody
  // reaped yet (this test process is no subreaper).
  char state = 'R';
  if (FILE* st = fopen(("/proc/" + std::to_string(escapee) + "/stat").c_str(), "r")) {
    EXPECT_EQ(fscanf(st, "%*d %*s %c", &state), 1);
    fclose(st);
    EXPECT_EQ(state, 'Z');
  }
  unlink(pid_file.c_str());
  rmdir(tmpl);
}

TEST_F(SupervisorTest, ReportsDeathBySignal) {
  CommandResult r = Run(Bash("kill -SEGV $$"));
  EXPECT_EQ(r.signal, SIGSEGV);
  EXPECT_EQ(r.exit_code, 128 + SIGSEGV);
}

TEST_F(SupervisorTest, FeedsStdinAndClosesIt) {
  CommandSpec spec = Bash("cat; echo done");
  spec.stdin_data = std::string(300000, 'a');  // more than a pipe holds
  CommandResult r = Run(std::move(spec));
  EXPECT_EQ(r.stdout_data.size(), 300000u + 5);
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(SupervisorTest, StartFailureIsAStatusNotAResult) {
  CommandSpec spec = Bash("true");
  spec.process.cwd = "/no/such/dir";
  auto r = sup_->RunToCompletion(std::move(spec));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(sup_->running(), 0u);
}

TEST_F(SupervisorTest, BackgroundChildDoesNotHoldTheCall) {
  const auto start = std::chrono::steady_clock::now();
  CommandResult r = Run(Bash("sleep 30 & echo started"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(r.stdout_data, "started\n");
  EXPECT_EQ(r.exit_code, 0);
  kill(-r.pid, SIGKILL);
}

TEST_F(SupervisorTest, TimeoutKillsTheWholeTree) {
  char dir[] = "/tmp/sagewai-sup-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string marker = std::string(dir) + "/late";
  // The grandchild ignores SIGTERM and would write the marker after the timeout.
  CommandSpec spec = Bash("(trap '' TERM; sleep 2; touch " + marker + ") & trap '' TERM; sleep 60");
  spec.timeout = milliseconds(500);
  const auto start = std::chrono::steady_clock::now();
  CommandResult r = Run(std::move(spec));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_LT(took, milliseconds(500 + 2000));
  EXPECT_FALSE(GroupAlive(r.pid));
  std::this_thread::sleep_for(milliseconds(2500));
  EXPECT_NE(access(marker.c_str(), F_OK), 0) << "a process of the timed-out call survived";
  rmdir(dir);
}

TEST_F(SupervisorTest, HugeOutputIsCappedAndCounted) {
  CommandSpec spec = Bash("head -c 50000000 /dev/zero; echo tail >&2");
  spec.max_output_bytes = 1000;
  CommandResult r = Run(std::move(spec));
  EXPECT_EQ(r.stdout_data.size(), 1000u);
  EXPECT_TRUE(r.stdout_truncated);
  EXPECT_EQ(r.stdout_bytes, 50000000u);
  EXPECT_EQ(r.stderr_data, "tail\n");
  EXPECT_FALSE(r.stderr_truncated);
}

class Collector : public CommandObserver {
 public:
  void OnStartFailed(const absl::Status& status) override { done.set_value(CommandResult{}); }
  void OnStarted(pid_t pid) override { started.set_value(pid); }
  bool OnOutput(OutputStream stream, std::string_view data) override {
    std::lock_guard<std::mutex> lock(mu);
    (stream == OutputStream::kStdout ? out : err).append(data);
    return !pause_after_first || (out.size() + err.size()) == 0;
  }
  void OnExit(CommandResult result) override { done.set_value(std::move(result)); }
  std::mutex mu;
  std::string out, err;
  bool pause_after_first = false;
  std::promise<pid_t> started;
  std::promise<CommandResult> done;
};

TEST_F(SupervisorTest, StreamsOutputAndTakesStdinChunksAndSignals) {
  auto c = std::make_shared<Collector>();
  CommandSpec spec = Bash(
      "trap 'echo got-usr1; exit 7' USR1; read line; echo \"read:$line\"; "
      "while :; do sleep 0.05; done");
  spec.stream_output = true;
  spec.close_stdin = false;
  auto handle = sup_->Launch(std::move(spec), c);
  pid_t pid = c->started.get_future().get();
  EXPECT_GT(pid, 0);
  std::promise<void> written;
  handle->WriteStdin("hel", nullptr);
  handle->WriteStdin("lo\n", [&written] { written.set_value(); });
  written.get_future().wait();
  for (int i = 0; i < 2000; ++i) {
    {
      std::lock_guard<std::mutex> lock(c->mu);
      if (c->out.find("read:hello\n") != std::string::npos) break;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  handle->Signal(SIGUSR1);
  CommandResult r = c->done.get_future().get();
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(c->out, "read:hello\ngot-usr1\n");
  EXPECT_EQ(r.stdout_bytes, c->out.size());
  EXPECT_TRUE(r.stdout_data.empty()) << "streamed output is not buffered again";
}

TEST_F(SupervisorTest, PausedStreamResumesWithoutLosingBytes) {
  auto c = std::make_shared<Collector>();
  c->pause_after_first = true;
  CommandSpec spec = Bash("head -c 3000000 /dev/zero");
  spec.stream_output = true;
  auto handle = sup_->Launch(std::move(spec), c);
  c->started.get_future().wait();
  std::this_thread::sleep_for(milliseconds(200));
  {
    std::lock_guard<std::mutex> lock(c->mu);
    EXPECT_LT(c->out.size(), 3000000u) << "the pause held the producer back";
    c->pause_after_first = false;
  }
  handle->ResumeOutput();
  CommandResult r = c->done.get_future().get();
  EXPECT_EQ(c->out.size(), 3000000u);
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(SupervisorTest, CancelEndsTheCommand) {
  auto c = std::make_shared<Collector>();
  auto handle = sup_->Launch(Bash("sleep 60"), c);
  c->started.get_future().wait();
  handle->Cancel();
  CommandResult r = c->done.get_future().get();
  EXPECT_TRUE(r.cancelled);
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.signal, SIGTERM);
}

TEST_F(SupervisorTest, ManyConcurrentCommands) {
  constexpr int kCalls = 300;
  std::vector<std::shared_ptr<Collector>> collectors;
  for (int i = 0; i < kCalls; ++i) {
    auto c = std::make_shared<Collector>();
    CommandSpec spec = Bash("echo " + std::to_string(i) + "; sleep 0.2");
    sup_->Launch(std::move(spec), c);
    collectors.push_back(c);
  }
  for (int i = 0; i < kCalls; ++i) {
    CommandResult r = collectors[i]->done.get_future().get();
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.stdout_data, std::to_string(i) + "\n");
  }
  EXPECT_EQ(sup_->running(), 0u);
}

TEST_F(SupervisorTest, ReapsOrphansOfTools) {
  CommandResult r = Run(Bash("for i in $(seq 50); do (sleep 0.01 &) ; done; echo ok"));
  EXPECT_EQ(r.stdout_data, "ok\n");
  std::this_thread::sleep_for(milliseconds(500));
  // No zombie children of ours remain.
  FILE* ps = popen(("ps -o stat= --ppid " + std::to_string(getpid())).c_str(), "r");
  ASSERT_NE(ps, nullptr);
  char line[64];
  int zombies = 0;
  while (fgets(line, sizeof line, ps)) zombies += line[0] == 'Z';
  pclose(ps);
  EXPECT_EQ(zombies, 0);
}

TEST_F(SupervisorTest, ShutdownEndsRunningCommandsPromptly) {
  auto c = std::make_shared<Collector>();
  CommandSpec spec = Bash("trap '' TERM; echo ready; sleep 60");
  spec.stream_output = true;
  sup_->Launch(std::move(spec), c);
  c->started.get_future().wait();
  for (int i = 0; i < 2000; ++i) {
    {
      std::lock_guard<std::mutex> lock(c->mu);
      if (!c->out.empty()) break;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  const auto start = std::chrono::steady_clock::now();
  sup_->Shutdown(milliseconds(100));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  auto f = c->done.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(f.get().signal, SIGKILL);
}

}  // namespace
}  // namespace sagewai
