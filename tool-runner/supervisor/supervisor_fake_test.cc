// The supervisor against a fake kernel: orders of exits, signals and deaths
// that real processes show only by chance.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "tool-runner/supervisor/process_ops.h"
#include "tool-runner/supervisor/supervisor.h"

namespace sagewai {
namespace {

using std::chrono::milliseconds;

class FakeOps : public ProcessOps {
 public:
  absl::StatusOr<SpawnedProcess> Spawn(uint64_t call, const ProcessSpec& spec) override {
    std::lock_guard<std::mutex> lock(mu);
    SpawnedProcess p;
    p.pid = next_pid++;
    auto in = MakePipe(O_NONBLOCK);
    auto out = MakePipe(O_NONBLOCK);
    auto err = MakePipe(O_NONBLOCK);
    if (!in.ok() || !out.ok() || !err.ok()) return absl::InternalError("pipes");
    p.stdin_fd = std::move(in->write);
    p.stdout_fd = std::move(out->read);
    p.stderr_fd = std::move(err->read);
    writers.emplace(p.pid, std::make_pair(std::move(out->write), std::move(err->write)));
    if (exit_at_spawn) {
      // Reaped before the supervisor has even registered the pid.
      exits.push_back({p.pid, exit_at_spawn_status});
      kill(getpid(), SIGCHLD);
    }
    return p;
  }
  pid_t WaitAny(int* status) override {
    std::lock_guard<std::mutex> lock(mu);
    if (exits.empty()) return 0;
    auto [pid, st] = exits.front();
    exits.pop_front();
    *status = st;
    return pid;
  }
  int Signal(pid_t pid, int sig) override {
    std::lock_guard<std::mutex> lock(mu);
    signals.emplace_back(pid, sig);
    errno = ESRCH;
    return -1;
  }
  void SignalCall(uint64_t call, pid_t pgid, pid_t root, int sig,
                  std::vector<ProcessRef>*) override {
    std::lock_guard<std::mutex> lock(mu);
    call_signals.push_back(sig);
  }
  std::vector<UniqueFd> WatchCall(uint64_t, pid_t, std::vector<ProcessRef>*) override {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<UniqueFd> fds;
    if (dying) fds.push_back(std::move(dying));
    return fds;
  }
  bool CallAlive(uint64_t, pid_t, const std::vector<ProcessRef>&) override { return false; }
  void ReleaseCall(uint64_t call) override {
    std::lock_guard<std::mutex> lock(mu);
    released.push_back(call);
  }

  // Test side.
  void Exit(pid_t pid, int status) {
    {
      std::lock_guard<std::mutex> lock(mu);
      writers.erase(pid);  // end of output
      exits.push_back({pid, status});
    }
  }
  static void Notify() { kill(getpid(), SIGCHLD); }

  std::mutex mu;
  pid_t next_pid = 1001;
  std::map<pid_t, std::pair<UniqueFd, UniqueFd>> writers;
  std::deque<std::pair<pid_t, int>> exits;
  std::vector<std::pair<pid_t, int>> signals;
  std::vector<int> call_signals;
  std::vector<uint64_t> released;
  UniqueFd dying;
  bool exit_at_spawn = false;
  int exit_at_spawn_status = 0;
};

class Recorder : public CommandObserver {
 public:
  void OnStartFailed(const absl::Status& status) override { Event("start-failed"); }
  void OnStarted(pid_t pid) override {
    Event("started");
    started.set_value(pid);
  }
  void OnExit(CommandResult result) override {
    Event("exit");
    done.set_value(std::move(result));
  }
  void Event(const char* what) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(what);
  }
  std::mutex mu;
  std::vector<std::string> events;
  std::promise<pid_t> started;
  std::promise<CommandResult> done;
};

class SupervisorFakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ops_ = std::make_shared<FakeOps>();
    SupervisorOptions options;
    options.kill_grace = milliseconds(50);
    options.ops = ops_;
    auto s = Supervisor::Start(options);
    ASSERT_TRUE(s.ok()) << s.status();
    sup_ = std::move(*s);
  }
  void TearDown() override { sup_->Shutdown(milliseconds(0)); }

  static CommandSpec Spec() {
    CommandSpec spec;
    spec.process.argv = {"/fake/tool"};
    spec.timeout = milliseconds(0);
    return spec;
  }
  // Everything posted to the loop before this call has run.
  void Settle() {
    std::promise<void> ran;
    ASSERT_TRUE(sup_->loop().Post([&ran] { ran.set_value(); }));
    ran.get_future().wait();
  }

  std::shared_ptr<FakeOps> ops_;
  std::unique_ptr<Supervisor> sup_;
};

constexpr int Exited(int code) { return code << 8; }

TEST_F(SupervisorFakeTest, EachExitReachesItsOwnCallWhateverTheReapingOrder) {
  auto a = std::make_shared<Recorder>();
  auto b = std::make_shared<Recorder>();
  sup_->Launch(Spec(), a);
  sup_->Launch(Spec(), b);
  const pid_t pa = a->started.get_future().get();
  const pid_t pb = b->started.get_future().get();
  ops_->Exit(4242, Exited(9));  // an orphan of some tool: reaped, not reported
  ops_->Exit(pb, Exited(2));
  ops_->Exit(pa, Exited(1));
  FakeOps::Notify();
  CommandResult ra = a->done.get_future().get();
  CommandResult rb = b->done.get_future().get();
  EXPECT_EQ(ra.pid, pa);
  EXPECT_EQ(ra.exit_code, 1);
  EXPECT_EQ(rb.pid, pb);
  EXPECT_EQ(rb.exit_code, 2);
  std::lock_guard<std::mutex> lock(ops_->mu);
  EXPECT_EQ(ops_->released.size(), 2u);
}

TEST_F(SupervisorFakeTest, AnExitReapedBeforeTheStartIsReportedAfterIt) {
  ops_->exit_at_spawn = true;
  ops_->exit_at_spawn_status = Exited(5);
  auto r = std::make_shared<Recorder>();
  sup_->Launch(Spec(), r);
  {
    std::lock_guard<std::mutex> lock(ops_->mu);
    ops_->writers.clear();  // no output will come
  }
  CommandResult result = r->done.get_future().get();
  EXPECT_EQ(result.exit_code, 5);
  std::lock_guard<std::mutex> lock(r->mu);
  EXPECT_EQ(r->events, (std::vector<std::string>{"started", "exit"}));
}

TEST_F(SupervisorFakeTest, SignalsThatFindNoProcessDoNotStopTheCall) {
  auto r = std::make_shared<Recorder>();
  auto handle = sup_->Launch(Spec(), r);
  const pid_t pid = r->started.get_future().get();
  handle->Signal(SIGUSR1);  // ESRCH: the process is already gone
  handle->Cancel();
  Settle();
  {
    std::lock_guard<std::mutex> lock(ops_->mu);
    ASSERT_EQ(ops_->signals.size(), 1u);
    EXPECT_EQ(ops_->signals[0], std::make_pair(-pid, SIGUSR1));
    EXPECT_EQ(ops_->call_signals, (std::vector<int>{SIGTERM, SIGCONT}));
  }
  ops_->Exit(pid, SIGTERM);  // died of the signal
  FakeOps::Notify();
  CommandResult result = r->done.get_future().get();
  EXPECT_TRUE(result.cancelled);
  EXPECT_EQ(result.signal, SIGTERM);
  std::lock_guard<std::mutex> lock(ops_->mu);
  // The leader gone, the rest of the call gets a SIGKILL before the result.
  EXPECT_EQ(ops_->call_signals, (std::vector<int>{SIGTERM, SIGCONT, SIGKILL}));
}

TEST_F(SupervisorFakeTest, AKilledCallEndsOnlyWhenItsLastProcessHas) {
  UniqueFd dying(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  ASSERT_TRUE(dying);
  const int dying_fd = dying.get();
  UniqueFd dying_writer(dup(dying_fd));
  ops_->dying = std::move(dying);
  auto r = std::make_shared<Recorder>();
  auto handle = sup_->Launch(Spec(), r);
  const pid_t pid = r->started.get_future().get();
  handle->Kill();
  Settle();
  ops_->Exit(pid, SIGKILL);
  FakeOps::Notify();
  Settle();
  Settle();  // the SIGCHLD, then what it started
  auto done = r->done.get_future();
  EXPECT_EQ(done.wait_for(std::chrono::seconds(0)), std::future_status::timeout)
      << "a process of the call is still running";
  const uint64_t one = 1;
  ASSERT_EQ(write(dying_writer.get(), &one, sizeof one), 8);
  CommandResult result = done.get();
  EXPECT_EQ(result.signal, SIGKILL);
  EXPECT_TRUE(result.cancelled);
}

}  // namespace
}  // namespace sagewai
