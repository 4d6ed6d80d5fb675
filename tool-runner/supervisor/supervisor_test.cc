#include "tool-runner/supervisor/supervisor.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <thread>

namespace sagewai {
namespace {

using std::chrono::milliseconds;

// Gone, or at most a zombie nobody reaped yet (the test process reaps only
// what the supervisor reaps).
bool Ended(pid_t pid) {
  FILE* st = fopen(("/proc/" + std::to_string(pid) + "/stat").c_str(), "r");
  if (st == nullptr) return true;
  char state = 'R';
  const bool parsed = fscanf(st, "%*d %*s %c", &state) == 1;
  fclose(st);
  return parsed && state == 'Z';
}

pid_t ReadPid(const std::string& path) {
  int pid = 0;
  if (FILE* f = fopen(path.c_str(), "r")) {
    if (fscanf(f, "%d", &pid) != 1) pid = 0;
    fclose(f);
  }
  return pid;
}

class SupervisorTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(/*call_cgroups=*/true); }
  void Start(bool call_cgroups) {
    SupervisorOptions options;
    options.kill_grace = milliseconds(300);
    options.call_cgroups = call_cgroups;
    auto s = Supervisor::Start(options);
    ASSERT_TRUE(s.ok()) << s.status();
    sup_ = std::move(*s);
  }
  void TearDown() override { sup_->Shutdown(milliseconds(100)); }

  // Everything the loop had to do before this call (a SIGCHLD already
  // pending included) is done.
  void Settle() {
    std::promise<void> ran;
    ASSERT_TRUE(sup_->loop().Post([&ran] { ran.set_value(); }));
    ran.get_future().wait();
  }

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

// The tests that end a call's tree run both ways: with a cgroup per call
// (where this machine allows one) and with the /proc scan.
class SupervisorKillTest : public SupervisorTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override { Start(GetParam()); }
};

INSTANTIATE_TEST_SUITE_P(CgroupOrScan, SupervisorKillTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "CgroupWhereAllowed" : "ProcScan";
                         });

TEST_F(SupervisorTest, CollectsOutputAndExitCode) {
  CommandResult r = Run(Bash("echo out; echo err >&2; exit 3"));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(r.stdout_data, "out\n");
  EXPECT_EQ(r.stderr_data, "err\n");
  EXPECT_FALSE(r.timed_out);
}

// The timeline `make bench` breaks a call down with is in the order of the
// steps, and the whole of it is the reported duration.
TEST_F(SupervisorTest, TimelineFollowsTheStepsOfACall) {
  CommandResult r = Run(Bash("sleep 0.05"));
  const CommandTimeline& t = r.timeline;
  EXPECT_LE(t.launched, t.loop_start);
  EXPECT_LE(t.loop_start, t.spawned);
  EXPECT_LE(t.spawned, t.exited);
  EXPECT_LE(t.exited, t.finished);
  // The sleep is the tool's own time. `spawned` is stamped after the exec,
  // and a loaded machine may run the tool's first milliseconds before the
  // loop thread stamps it; `loop_start` comes before the tool for sure.
  EXPECT_GE(t.exited - t.loop_start, milliseconds(50));
  EXPECT_EQ(r.duration, std::chrono::duration_cast<milliseconds>(t.finished - t.spawned));
}

// The leader dies of the SIGTERM at once, and the descendant that left its
// group (setsid) and ignores SIGTERM is no longer its descendant when the
// SIGKILL comes: it must be remembered from the first scan.
TEST_P(SupervisorKillTest, TimeoutKillsADescendantThatLeftTheGroupAndIgnoresSigterm) {
  char tmpl[] = "/tmp/sagewai-escapee-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string pid_file = std::string(tmpl) + "/pid";
  CommandSpec spec =
      Bash("setsid bash -c 'trap \"\" TERM; echo $$ > " + pid_file +
           "; exec sleep 60' & while [ ! -s " + pid_file + " ]; do :; done; sleep 60");
  spec.timeout = milliseconds(300);
  CommandResult r = Run(std::move(spec));
  EXPECT_TRUE(r.timed_out);
  const pid_t escapee = ReadPid(pid_file);
  ASSERT_GT(escapee, 0);
  EXPECT_TRUE(Ended(escapee)) << "killed before the result came back";
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

TEST_P(SupervisorKillTest, TimeoutKillsTheWholeTree) {
  char dir[] = "/tmp/sagewai-sup-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string marker = std::string(dir) + "/late";
  const std::string pid_file = std::string(dir) + "/pid";
  // The grandchild ignores SIGTERM and would write the marker after the
  // timeout; the leader waits until it has said who it is.
  CommandSpec spec =
      Bash("(trap '' TERM; echo $BASHPID > " + pid_file + "; sleep 2; touch " + marker +
           ") & trap '' TERM; while [ ! -s " + pid_file + " ]; do :; done; sleep 60");
  spec.timeout = milliseconds(500);
  const auto start = std::chrono::steady_clock::now();
  CommandResult r = Run(std::move(spec));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.signal, SIGKILL);
  EXPECT_LT(took, milliseconds(500 + 2000));
  EXPECT_FALSE(GroupAlive(r.pid));
  // The one process that would write the marker can no longer run.
  const pid_t grandchild = ReadPid(pid_file);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(Ended(grandchild)) << "a process of the timed-out call survived";
  EXPECT_NE(access(marker.c_str(), F_OK), 0);
  unlink(pid_file.c_str());
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

// Until `pid` sleeps in write(2) on fd 1 (/proc/PID/syscall), or 20 s pass.
bool WaitUntilBlockedWriting(pid_t pid) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream syscall_file("/proc/" + std::to_string(pid) + "/syscall");
    std::string number, fd;
    syscall_file >> number >> fd;
    if (number == std::to_string(SYS_write) && fd == "0x1") return true;
    sched_yield();
  }
  return false;
}

class Collector : public CommandObserver {
 public:
  void OnStartFailed(const absl::Status& status) override { done.set_value(CommandResult{}); }
  void OnStarted(pid_t pid) override { started.set_value(pid); }
  bool OnOutput(OutputStream stream, std::string_view data) override {
    std::lock_guard<std::mutex> lock(mu);
    (stream == OutputStream::kStdout ? out : err).append(data);
    grew.notify_all();
    return !pause_after_first || (out.size() + err.size()) == 0;
  }
  // Until stdout holds `text` (or 20 s pass).
  bool WaitForStdout(const std::string& text) {
    std::unique_lock<std::mutex> lock(mu);
    return grew.wait_for(lock, std::chrono::seconds(20),
                         [&] { return out.find(text) != std::string::npos; });
  }
  std::condition_variable grew;
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
  ASSERT_TRUE(c->WaitForStdout("read:hello\n"));
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
  const pid_t producer = c->started.get_future().get();
  // Held back: blocked writing into the full pipe nobody reads.
  ASSERT_TRUE(WaitUntilBlockedWriting(producer));
  Settle();
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

TEST_P(SupervisorKillTest, CancelEndsTheCommand) {
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
  CommandResult r = Run(Bash("for i in $(seq 50); do (sleep 0.01 & echo $! >&2) ; done; echo ok"));
  EXPECT_EQ(r.stdout_data, "ok\n");
  // Each orphan has ended (its pidfd says so), and the SIGCHLD that came
  // with its end has been handled.
  std::istringstream pids(r.stderr_data);
  int orphans = 0;
  for (pid_t pid; pids >> pid; ++orphans) {
    UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) continue;  // already gone
    pollfd p{pidfd.get(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 20000), 1);
  }
  EXPECT_EQ(orphans, 50);
  Settle();
  // No zombie children of ours remain.
  FILE* ps = popen(("ps -o stat= --ppid " + std::to_string(getpid())).c_str(), "r");
  ASSERT_NE(ps, nullptr);
  char line[64];
  int zombies = 0;
  while (fgets(line, sizeof line, ps)) zombies += line[0] == 'Z';
  pclose(ps);
  EXPECT_EQ(zombies, 0);
}

TEST_P(SupervisorKillTest, ShutdownEndsRunningCommandsPromptly) {
  auto c = std::make_shared<Collector>();
  CommandSpec spec = Bash("trap '' TERM; echo ready; sleep 60");
  spec.stream_output = true;
  sup_->Launch(std::move(spec), c);
  c->started.get_future().wait();
  ASSERT_TRUE(c->WaitForStdout("ready\n"));
  const auto start = std::chrono::steady_clock::now();
  sup_->Shutdown(milliseconds(100));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  auto f = c->done.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  EXPECT_EQ(f.get().signal, SIGKILL);
}

}  // namespace
}  // namespace sagewai
