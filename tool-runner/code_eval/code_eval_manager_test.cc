// CodeEvalManager with real interpreters under a real Supervisor.
#include "tool-runner/code_eval/code_eval_manager.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "absl/strings/str_cat.h"

namespace sagewai::code_eval {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

constexpr char kPath[] = "/usr/local/bin:/usr/bin:/bin";

// True once `pid`, a child of this process, has ended (its pidfd says so)
// and the supervisor has reaped it (kill() gives ESRCH; no event reports a
// reaping, so that part is polled).
bool WaitGone(pid_t pid, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0) {
    pollfd p{fd, POLLIN, 0};
    poll(&p, 1, static_cast<int>(timeout.count()));
    close(fd);
  }
  while (kill(pid, 0) == 0) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return true;
}

// A FIFO that an eval's code blocks on until the test lets it go on. The
// test holds it open read-write, so neither side's open blocks.
class Gate {
 public:
  Gate() {
    char dir[] = "/tmp/code_eval_gate_XXXXXX";
    if (mkdtemp(dir) == nullptr) return;
    dir_ = dir;
    path_ = dir_ + "/go";
    if (mkfifo(path_.c_str(), 0600) == 0) fd_ = open(path_.c_str(), O_RDWR | O_CLOEXEC);
  }
  ~Gate() {
    if (fd_ >= 0) close(fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  bool ok() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }
  // Lets one reader of a line go on.
  bool Open() { return write(fd_, "go\n", 3) == 3; }

 private:
  std::string dir_, path_;
  int fd_ = -1;
};

class ManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Supervisor::Start(SupervisorOptions{.kill_grace = milliseconds(300)});
    ASSERT_TRUE(s.ok()) << s.status();
    sup_ = std::move(*s);
    Restart(Options());
  }
  void TearDown() override {
    manager_.reset();
    sup_->Shutdown(milliseconds(100));
  }
  virtual CodeEvalOptions Options() {
    CodeEvalOptions o;
    o.interrupt_grace = milliseconds(500);
    return o;
  }
  void Restart(CodeEvalOptions options) {
    manager_.reset();
    manager_ = std::make_unique<CodeEvalManager>(*sup_, options);
  }

  static InterpreterSetup Setup(Language language, std::string path = kPath) {
    InterpreterSetup s;
    s.language = language;
    s.cwd = "/tmp";
    s.env = {"PATH=" + path, "HOME=/tmp", "LANG=C.UTF-8"};
    return s;
  }
  static bool Have(Language language) { return !FindInterpreter(language, kPath).empty(); }

  absl::StatusOr<v1::Context> Create(Language language, std::string id = "") {
    std::promise<absl::StatusOr<v1::Context>> p;
    manager_->Create(Setup(language), id, [&p](absl::StatusOr<v1::Context> c) { p.set_value(c); });
    return p.get_future().get();
  }
  std::string CreateOk(Language language) {
    auto c = Create(language);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? c->context_id() : "";
  }

  // Collects the eval, and says when its first output arrived.
  class SignallingSink : public CollectingSink {
   public:
    using CollectingSink::CollectingSink;
    bool OnOutput(OutputStream stream, absl::string_view data) override {
      if (!seen_) {
        seen_ = true;
        first_output_.set_value();
      }
      return CollectingSink::OnOutput(stream, data);
    }
    std::future<void> first_output() { return first_output_.get_future(); }

   private:
    bool seen_ = false;  // loop thread only
    std::promise<void> first_output_;
  };
  struct Pending {
    std::shared_ptr<EvalControl> control;
    std::future<absl::StatusOr<v1::EvalResult>> result;
    std::future<void> first_output;
  };
  Pending Start(const std::string& id, const std::string& code, milliseconds timeout,
                Language language = Language::kPython) {
    auto p = std::make_shared<std::promise<absl::StatusOr<v1::EvalResult>>>();
    Pending out;
    out.result = p->get_future();
    CodeEvalManager::EvalRequest r;
    r.code = code;
    r.context_id = id;
    r.timeout = timeout;
    r.setup = Setup(language);
    auto sink = std::make_shared<SignallingSink>(1 << 20, [p](auto res) { p->set_value(res); });
    out.first_output = sink->first_output();
    out.control = manager_->Eval(std::move(r), std::move(sink));
    return out;
  }
  absl::StatusOr<v1::EvalResult> Eval(const std::string& id, const std::string& code,
                                      milliseconds timeout = milliseconds(20000),
                                      Language language = Language::kPython) {
    return Start(id, code, timeout, language).result.get();
  }
  v1::EvalResult EvalOk(const std::string& id, const std::string& code,
                        Language language = Language::kPython) {
    auto r = Eval(id, code, milliseconds(20000), language);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : v1::EvalResult{};
  }
  static std::string Value(const v1::EvalResult& r) {
    for (const auto& o : r.outputs()) {
      if (o.is_result()) return o.data().at("text/plain");
    }
    return "<no result>";
  }
  // Keeps the loop thread busy until the returned promise is set: calls made
  // meanwhile are all queued before anything they start (a spawn, a driver's
  // ready line) can run, however the threads are scheduled.
  std::shared_ptr<std::promise<void>> HoldLoop() {
    auto release = std::make_shared<std::promise<void>>();
    auto holding = std::make_shared<std::promise<void>>();
    std::future<void> held = holding->get_future();
    sup_->loop().Post([holding, gate = release->get_future().share()] {
      holding->set_value();
      gate.wait();
    });
    held.wait();
    return release;
  }
  std::vector<v1::Context> List() {
    std::promise<std::vector<v1::Context>> p;
    manager_->List([&p](std::vector<v1::Context> l) { p.set_value(std::move(l)); });
    return p.get_future().get();
  }

  std::unique_ptr<Supervisor> sup_;
  std::unique_ptr<CodeEvalManager> manager_;
};

TEST_F(ManagerTest, PythonStateSurvivesAndTrailingExpressionIsTheResult) {
  if (!Have(Language::kPython)) GTEST_SKIP() << "no python3 on " << kPath;
  const std::string id = CreateOk(Language::kPython);
  v1::EvalResult a = EvalOk(id, "x = 41");
  EXPECT_EQ(a.outputs_size(), 0);
  EXPECT_TRUE(a.error().name().empty());
  EXPECT_EQ(a.context_id(), id);
  v1::EvalResult b = EvalOk(id, "def f(v):\n    return v + 1\nf(x)");
  EXPECT_EQ(Value(b), "42");
  EXPECT_FALSE(b.timed_out());
  EXPECT_FALSE(b.context_dead());
}

TEST_F(ManagerTest, OutputAtTheFdLevelIsCapturedPerStream) {
  if (!Have(Language::kPython)) GTEST_SKIP() << "no python3 on " << kPath;
  const std::string id = CreateOk(Language::kPython);
  v1::EvalResult r =
      EvalOk(id,
             "import os, subprocess, sys\nprint('py-out')\nprint('py-err', file=sys.stderr)\n"
             "os.write(1, b'fd-out\\n')\nos.write(2, b'fd-err\\n')\n"
             "subprocess.run(['sh', '-c', 'echo sub-out; echo sub-err >&2'])\nNone");
  EXPECT_EQ(r.stdout(), "py-out\nfd-out\nsub-out\n");
  EXPECT_EQ(r.stderr(), "py-err\nfd-err\nsub-err\n");
}

TEST_F(ManagerTest, ExceptionCarriesNameMessageAndTheUsersLines) {
  if (!Have(Language::kPython)) GTEST_SKIP() << "no python3 on " << kPath;
  const std::string id = CreateOk(Language::kPython);
  v1::EvalResult r = EvalOk(id, "def g():\n    raise ValueError('bad value')\ng()");
  EXPECT_EQ(r.error().name(), "ValueError");
  EXPECT_EQ(r.error().message(), "bad value");
  EXPECT_THAT(r.error().traceback(), HasSubstr("raise ValueError('bad value')"));
  EXPECT_THAT(r.error().traceback(), HasSubstr("<cell-"));
  EXPECT_THAT(r.error().traceback(), ::testing::Not(HasSubstr("_sagewai")));
  EXPECT_EQ(Value(EvalOk(id, "1 + 1")), "2") << "the context survives an exception";
}

TEST_F(ManagerTest, TimeoutInterruptsAndTheContextKeepsItsState) {
  if (!Have(Language::kPython)) GTEST_SKIP() << "no python3 on " << kPath;
  const std::string id = CreateOk(Language::kPython);
  EvalOk(id, "kept = 'yes'");
  const auto start = std::chrono::steady_clock::now();
  auto r = Eval(id, "while True: pass", milliseconds(300));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(300 + 2000));
  EXPECT_TRUE(r->timed_out());
  EXPECT_FALSE(r->context_dead());
  EXPECT_EQ(r->error().name(), "KeyboardInterrupt");
  EXPECT_EQ(Value(EvalOk(id, "kept")), "'yes'");
}

TEST_F(ManagerTest, CodeIgnoringSigintIsKilledAndTheContextIsDead) {
  if (!Have(Language::kPython)) GTEST_SKIP() << "no python3 on " << kPath;
  const std::string id = CreateOk(Language::kPython);
  const auto start = std::chrono::steady_clock::now();
  auto r = Eval(id, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass",
                milliseconds(300));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(300 + 2000));
  EXPECT_TRUE(r->timed_out());
  EXPECT_TRUE(r->context_dead());
  EXPECT_EQ(r->error().name(), "ContextDied");
  auto next = Eval(id, "1");
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(next.status().message()), HasSubstr("dead"));
  auto listed = List();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].state(), "dead");

  std::promise<absl::StatusOr<v1::Context>> p;
  manager_->Restart(id, [&p](absl::StatusOr<v1::Context> c) { p.set_value(c); });
  auto restarted = p.get_future().get();
  ASSERT_TRUE(restarted.ok()) << restarted.status();
  EXPECT_EQ(restarted->context_id(), id);
  EXPECT_EQ(restarted->state(), "idle");
  EXPECT_EQ(Value(EvalOk(id, "'fresh' if 'signal' not in dir() else 'stale'")), "'fresh'");
}

TEST_F(ManagerTest, ACrashedInterpreterIsReportedAndRefusesFurtherEvals) {
  if (!Have(Language::kPython)) GTEST_SKIP() << "no python3 on " << kPath;
  const std::string id = CreateOk(Language::kPython);
  v1::EvalResult r = EvalOk(
      id, "import os, signal\nprint('before', flush=True)\nos.kill(os.getpid(), signal.SIGSEGV)");
  EXPECT_TRUE(r.context_dead());
  EXPECT_FALSE(r.timed_out());
  EXPECT_EQ(r.stdout(), "before\n");
  EXPECT_THAT(r.error().message(), HasSubstr("SIGSEGV"));
  auto next = Eval(id, "1");
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(next.status().message()), HasSubstr("SIGSEGV"));

  const std::string other = CreateOk(Language::kPython);
  v1::EvalResult exited = EvalOk(other, "import os\nos._exit(3)");
  EXPECT_TRUE(exited.context_dead());
  EXPECT_THAT(exited.error().message(), HasSubstr("exited with status 3"));
}

TEST_F(ManagerTest, OneEvalAtATimePerContext) {
  if (!Have(Language::kPython)) GTEST_SKIP() << "no python3 on " << kPath;
  const std::string id = CreateOk(Language::kPython);
  Gate gate;
  ASSERT_TRUE(gate.ok());
  // Evals of a context run in the order they were posted: the second comes
  // while the first waits at the gate.
  Pending slow = Start(id, "open('" + gate.path() + "').readline()\n'slow'", milliseconds(20000));
  auto second = Eval(id, "1");
  ASSERT_TRUE(gate.Open());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("context busy"));
  auto first = slow.result.get();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(Value(*first), "'slow'");
}

TEST_F(ManagerTest, CancelInterruptsTheRunningEval) {
  if (!Have(Language::kPython)) GTEST_SKIP() << "no python3 on " << kPath;
  const std::string id = CreateOk(Language::kPython);
  Pending p = Start(id, "import time\nprint('running', flush=True)\nwhile True: time.sleep(0.01)",
                    milliseconds(60000));
  // The code runs (not the driver before it) when the interrupt comes.
  ASSERT_EQ(p.first_output.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  p.control->Cancel();
  ASSERT_EQ(p.result.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto r = p.result.get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->error().name(), "KeyboardInterrupt");
  EXPECT_FALSE(r->timed_out());
  EXPECT_FALSE(r->context_dead());
}

TEST_F(ManagerTest, SeparateContextsDoNotShareState) {
  if (!Have(Language::kPython)) GTEST_SKIP() << "no python3 on " << kPath;
  const std::string a = CreateOk(Language::kPython);
  const std::string b = CreateOk(Language::kPython);
  ASSERT_NE(a, b);
  EvalOk(a, "secret = 1");
  v1::EvalResult r = EvalOk(b, "secret");
  EXPECT_EQ(r.error().name(), "NameError");
  auto listed = List();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_NE(listed[0].pid(), listed[1].pid());
}

TEST_F(ManagerTest, OneShotEvalsStartFreshEachTime) {
  if (!Have(Language::kPython)) GTEST_SKIP() << "no python3 on " << kPath;
  v1::EvalResult a = EvalOk("", "y = 5\nprint('one-shot')\ny * 2");
  EXPECT_EQ(a.stdout(), "one-shot\n");
  EXPECT_EQ(Value(a), "10");
  EXPECT_EQ(a.context_id(), "");
  EXPECT_EQ(EvalOk("", "y").error().name(), "NameError");
  EXPECT_EQ(manager_->size(), 0u);
}

TEST_F(ManagerTest, SpareInterpretersKeepEachSetUpApart) {
  if (!Have(Language::kPython)) GTEST_SKIP() << "no python3 on " << kPath;
  auto create = [this](const std::string& value) {
    InterpreterSetup setup = Setup(Language::kPython);
    setup.env.push_back("CHOICE=" + value);
    std::promise<absl::StatusOr<v1::Context>> p;
    manager_->Create(setup, "", [&p](absl::StatusOr<v1::Context> c) { p.set_value(c); });
    auto c = p.get_future().get();
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : v1::Context();
  };
  v1::Context a = create("one");
  std::this_thread::sleep_for(milliseconds(300));  // the spare for "one" gets ready
  const auto start = std::chrono::steady_clock::now();
  v1::Context b = create("one");
  const auto took = std::chrono::steady_clock::now() - start;
  v1::Context c = create("two");
  EXPECT_NE(a.pid(), b.pid());
  EXPECT_LT(took, milliseconds(1000));
  for (const auto& [context, want] : {std::pair{a, "'one'"}, {b, "'one'"}, {c, "'two'"}}) {
    EXPECT_EQ(Value(EvalOk(context.context_id(), "import os\nos.environ['CHOICE']")), want);
    EXPECT_EQ(Value(EvalOk(context.context_id(), "sorted(k for k in globals() if k[:2] != '__')")),
              "['_', 'os']")
        << "a spare starts with an empty namespace";
  }
  // One-shot evals from spares are fresh too.
  for (int i = 0; i < 3; ++i) {
    v1::EvalResult r = EvalOk("", "'seen' in dir()");
    EXPECT_EQ(Value(r), "False");
    EvalOk("", "seen = 1");
  }
}

TEST_F(ManagerTest, DeleteOrRestartWhileStartingAnswersEveryCaller) {
  if (!Have(Language::kBash)) GTEST_SKIP() << "no bash on " << kPath;
  // A ready spare would answer a Create before the Delete or Restart behind
  // it arrives: every context here has to start for real.
  CodeEvalOptions no_spares = Options();
  no_spares.max_spares = 0;
  Restart(no_spares);
  std::promise<absl::StatusOr<v1::Context>> created, restarted, created2;
  std::promise<absl::Status> deleted;
  // Unheld, a descheduled test thread let the interpreter become ready (and
  // the Create succeed) before the Delete was even posted.
  auto release = HoldLoop();
  manager_->Create(Setup(Language::kBash), "gone", [&](auto c) { created.set_value(c); });
  manager_->Delete("gone", [&](absl::Status s) { deleted.set_value(s); });
  release->set_value();
  EXPECT_TRUE(deleted.get_future().get().ok());
  auto c = created.get_future().get();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kAborted);

  release = HoldLoop();
  manager_->Create(Setup(Language::kBash), "again", [&](auto c) { created2.set_value(c); });
  manager_->Restart("again", [&](auto c) { restarted.set_value(c); });
  release->set_value();
  auto first = created2.get_future().get();
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), absl::StatusCode::kAborted);
  auto second = restarted.get_future().get();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->state(), "idle");
  auto listed = List();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].context_id(), "again");
  EXPECT_EQ(EvalOk("again", "echo ok", Language::kBash).stdout(), "ok\n");
}

TEST_F(ManagerTest, MissingInterpreterIsAFailedPrecondition) {
  std::promise<absl::StatusOr<v1::Context>> p;
  manager_->Create(Setup(Language::kNode, "/nonexistent"), "",
                   [&p](absl::StatusOr<v1::Context> c) { p.set_value(c); });
  auto c = p.get_future().get();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("no node"));
  EXPECT_EQ(manager_->size(), 0u);
}

TEST_F(ManagerTest, DeleteKillsAndForgets) {
  if (!Have(Language::kPython)) GTEST_SKIP() << "no python3 on " << kPath;
  auto c = Create(Language::kPython);
  ASSERT_TRUE(c.ok()) << c.status();
  std::promise<absl::Status> p;
  manager_->Delete(c->context_id(), [&p](absl::Status s) { p.set_value(s); });
  EXPECT_TRUE(p.get_future().get().ok());
  EXPECT_TRUE(WaitGone(c->pid(), milliseconds(10000))) << "the interpreter is gone";
  auto r = Eval(c->context_id(), "1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ManagerTest, BashContextKeepsDirectoryAndVariables) {
  if (!Have(Language::kBash)) GTEST_SKIP() << "no bash on " << kPath;
  const std::string id = CreateOk(Language::kBash);
  EvalOk(id, "cd /usr && greeting=hello", Language::kBash);
  v1::EvalResult r = EvalOk(id, "echo \"$greeting from $PWD\"", Language::kBash);
  EXPECT_EQ(r.stdout(), "hello from /usr\n");
  EXPECT_TRUE(r.error().name().empty());
  v1::EvalResult failed = EvalOk(id, "ls /no/such/dir", Language::kBash);
  EXPECT_EQ(failed.error().name(), "ExitStatus");
  EXPECT_THAT(failed.stderr(), HasSubstr("/no/such/dir"));
  auto interrupted = Eval(id, "f() { while :; do :; done; }; f; echo not-reached",
                          milliseconds(300), Language::kBash);
  ASSERT_TRUE(interrupted.ok()) << interrupted.status();
  EXPECT_TRUE(interrupted->timed_out());
  EXPECT_FALSE(interrupted->context_dead());
  EXPECT_EQ(interrupted->stdout(), "");
  EXPECT_EQ(EvalOk(id, "echo $greeting", Language::kBash).stdout(), "hello\n");
  auto nul = Eval(id, std::string("echo a\0b", 8), milliseconds(20000), Language::kBash);
  ASSERT_FALSE(nul.ok());
  EXPECT_EQ(nul.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EvalOk(id, "echo still in step", Language::kBash).stdout(), "still in step\n");
}

TEST_F(ManagerTest, ExitInTheCodeAnswersTheEvalAndEndsTheContext) {
  if (!Have(Language::kBash)) GTEST_SKIP() << "no bash on " << kPath;
  const std::string id = CreateOk(Language::kBash);
  v1::EvalResult r = EvalOk(id, "echo bye; exit 3", Language::kBash);
  EXPECT_EQ(r.stdout(), "bye\n");
  EXPECT_EQ(r.error().name(), "ExitStatus");
  EXPECT_THAT(r.error().message(), HasSubstr("status 3"));
  EXPECT_TRUE(r.context_dead());
  auto next = Eval(id, "echo again", milliseconds(20000), Language::kBash);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kFailedPrecondition);
  if (Have(Language::kNode)) {
    const std::string node = CreateOk(Language::kNode);
    v1::EvalResult n = EvalOk(node, "console.log('bye'); process.exit(4)", Language::kNode);
    EXPECT_EQ(n.stdout(), "bye\n");
    EXPECT_EQ(n.error().name(), "Exit");
    EXPECT_TRUE(n.context_dead());
  }
}

TEST_F(ManagerTest, NodeContextKeepsState) {
  if (!Have(Language::kNode)) GTEST_SKIP() << "no node on " << kPath;
  const std::string id = CreateOk(Language::kNode);
  EvalOk(id, "var x = 41; const add = (a) => a + 1;", Language::kNode);
  v1::EvalResult r = EvalOk(id, "console.log('hi'); add(x)", Language::kNode);
  EXPECT_EQ(r.stdout(), "hi\n");
  EXPECT_EQ(Value(r), "42");
  v1::EvalResult e = EvalOk(id, "null.boom", Language::kNode);
  EXPECT_EQ(e.error().name(), "TypeError");
  EXPECT_THAT(e.error().traceback(), HasSubstr("<cell-"));
  auto t = Eval(id, "while (true) {}", milliseconds(300), Language::kNode);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_TRUE(t->timed_out());
  EXPECT_FALSE(t->context_dead());
  EXPECT_EQ(Value(EvalOk(id, "x", Language::kNode)), "41");
}

class SmallLimitsTest : public ManagerTest {
 protected:
  CodeEvalOptions Options() override {
    CodeEvalOptions o;
    o.max_contexts = 2;
    o.idle_timeout = milliseconds(400);
    o.max_display_bytes = 1000;
    return o;
  }
};

TEST_F(SmallLimitsTest, TheContextCountIsCapped) {
  if (!Have(Language::kBash)) GTEST_SKIP() << "no bash on " << kPath;
  CreateOk(Language::kBash);
  CreateOk(Language::kBash);
  auto third = Create(Language::kBash);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(third.status().message()), HasSubstr("--max-contexts"));
}

TEST_F(SmallLimitsTest, IdleContextsAreReclaimedButBusyOnesAreNot) {
  if (!Have(Language::kBash)) GTEST_SKIP() << "no bash on " << kPath;
  auto idle = Create(Language::kBash);
  ASSERT_TRUE(idle.ok()) << idle.status();
  auto busy = Create(Language::kBash);
  ASSERT_TRUE(busy.ok()) << busy.status();
  Gate gate;
  ASSERT_TRUE(gate.ok());
  // Busy until the gate opens, however long the idle one takes to go.
  Pending slow = Start(busy->context_id(), "read -r _ < '" + gate.path() + "'", milliseconds(20000),
                       Language::kBash);
  // The reclaim kills the interpreter and forgets the context in one step.
  EXPECT_TRUE(WaitGone(idle->pid(), milliseconds(20000))) << "the reclaimed interpreter is gone";
  auto listed = List();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].context_id(), busy->context_id());
  ASSERT_TRUE(gate.Open());
  ASSERT_TRUE(slow.result.get().ok());
  // Idle from the end of its eval on: reclaimed in turn.
  EXPECT_TRUE(WaitGone(busy->pid(), milliseconds(20000)));
  EXPECT_TRUE(List().empty());
}

TEST_F(SmallLimitsTest, DisplayDataBeyondTheLimitIsDroppedWithANote) {
  if (!Have(Language::kPython)) GTEST_SKIP() << "no python3 on " << kPath;
  v1::EvalResult r = EvalOk("", "display('a' * 100)\ndisplay('b' * 5000)\n'c'");
  ASSERT_EQ(r.outputs_size(), 2);
  EXPECT_EQ(r.outputs(0).data().at("text/plain").size(), 102u);
  EXPECT_EQ(Value(r), "'c'");
  EXPECT_THAT(r.stderr(), HasSubstr("1 display output(s) dropped"));
}

}  // namespace
}  // namespace sagewai::code_eval
