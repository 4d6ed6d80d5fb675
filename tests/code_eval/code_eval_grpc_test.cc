// sagewai.sandbox.v1.CodeEval on the real sagewai-tool-runner over a unix
// socket, with real interpreters.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <thread>

#include "absl/status/statusor.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tests/runner/runner_process.h"
#include "tests/runner/wait_for.h"

namespace sagewai::testing {
namespace {

namespace v1 = ::sagewai::sandbox::v1;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

constexpr char kPath[] = "/usr/local/bin:/usr/bin:/bin";

// The runner's tools see kPath (RunnerProcess sets it).
bool Installed(const std::string& program) {
  return std::system(("PATH=" + std::string(kPath) + " command -v " + program + " >/dev/null 2>&1")
                         .c_str()) == 0;
}
bool PythonHas(const std::string& module) {
  return std::system(
             ("PATH=" + std::string(kPath) + " python3 -c 'import " + module + "' >/dev/null 2>&1")
                 .c_str()) == 0;
}

class CodeEvalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runner_ = std::make_unique<RunnerProcess>(Options());
    ASSERT_TRUE(runner_->started()) << runner_->ReadLog();
    stub_ = v1::CodeEval::NewStub(runner_->channel());
    if (!Installed("python3")) GTEST_SKIP() << "python3 is not installed on " << kPath;
  }
  virtual RunnerOptions Options() { return {}; }

  absl::StatusOr<v1::Context> TryCreate(const std::string& language) {
    v1::CreateContextRequest req;
    req.set_language(language);
    v1::Context out;
    auto ctx = runner_->Context();
    grpc::Status st = stub_->CreateContext(ctx.get(), req, &out);
    if (!st.ok())
      return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
    return out;
  }
  std::string Create(const std::string& language = "python") {
    auto c = TryCreate(language);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? c->context_id() : "";
  }
  grpc::Status Eval(const std::string& id, const std::string& code, v1::EvalResult* out,
                    uint32_t timeout_ms = 20000, milliseconds deadline = milliseconds(30000)) {
    v1::EvalRequest req;
    req.set_context_id(id);
    req.set_code(code);
    req.set_timeout_ms(timeout_ms);
    auto ctx = runner_->Context(deadline);
    return stub_->Eval(ctx.get(), req, out);
  }
  v1::EvalResult EvalOk(const std::string& id, const std::string& code) {
    v1::EvalResult out;
    grpc::Status st = Eval(id, code, &out);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return out;
  }
  static std::string Value(const v1::EvalResult& r) {
    for (const auto& o : r.outputs()) {
      if (o.is_result()) return o.data().at("text/plain");
    }
    return "<no result>";
  }
  std::vector<v1::Context> List() {
    v1::ListContextsResponse out;
    auto ctx = runner_->Context();
    EXPECT_TRUE(stub_->ListContexts(ctx.get(), {}, &out).ok());
    return {out.contexts().begin(), out.contexts().end()};
  }

  std::unique_ptr<RunnerProcess> runner_;
  std::unique_ptr<v1::CodeEval::Stub> stub_;
};

TEST_F(CodeEvalTest, StateSurvivesBetweenEvals) {
  const std::string id = Create();
  v1::EvalResult a = EvalOk(id, "x = 41");
  EXPECT_EQ(a.outputs_size(), 0);
  EXPECT_EQ(a.context_id(), id);
  v1::EvalResult b = EvalOk(id, "x + 1");
  ASSERT_EQ(b.outputs_size(), 1);
  EXPECT_TRUE(b.outputs(0).is_result());
  EXPECT_EQ(b.outputs(0).data().at("text/plain"), "42");
  EXPECT_TRUE(b.error().name().empty());
  EXPECT_EQ(Value(EvalOk(id, "import math\ndef area(r):\n    return round(math.pi * r * r, 2)")),
            "<no result>");
  EXPECT_EQ(Value(EvalOk(id, "area(x)")), "5281.02") << "imports and functions survive too";
}

TEST_F(CodeEvalTest, SeparateContextsDoNotShareState) {
  const std::string a = Create();
  const std::string b = Create();
  EvalOk(a, "only_in_a = 1");
  v1::EvalResult r = EvalOk(b, "only_in_a");
  EXPECT_EQ(r.error().name(), "NameError");
  auto contexts = List();
  ASSERT_EQ(contexts.size(), 2u);
  EXPECT_NE(contexts[0].pid(), contexts[1].pid());
  for (const auto& c : contexts) {
    EXPECT_EQ(c.state(), "idle");
    EXPECT_EQ(c.language(), "python");
    EXPECT_EQ(c.cwd(), runner_->workdir());
    EXPECT_GT(c.created_unix_ms(), 0);
    // Its own process group, and the OOM killer's first choice.
    EXPECT_EQ(getpgid(c.pid()), c.pid());
    std::ifstream adj("/proc/" + std::to_string(c.pid()) + "/oom_score_adj");
    int value = 0;
    adj >> value;
    EXPECT_EQ(value, 1000);
  }
}

TEST_F(CodeEvalTest, ExceptionCarriesATracebackOfTheUsersCode) {
  const std::string id = Create();
  v1::EvalResult r = EvalOk(id, "def divide(a, b):\n    return a / b\n\ndivide(1, 0)");
  EXPECT_EQ(r.error().name(), "ZeroDivisionError");
  EXPECT_EQ(r.error().message(), "division by zero");
  EXPECT_THAT(r.error().traceback(), HasSubstr("return a / b"));
  EXPECT_THAT(r.error().traceback(), HasSubstr("line 4"));
  EXPECT_FALSE(r.context_dead());
  EXPECT_EQ(Value(EvalOk(id, "'still alive'")), "'still alive'");
}

TEST_F(CodeEvalTest, StdoutAndStderrAreSeparateEvenAtTheFdLevel) {
  const std::string id = Create();
  v1::EvalResult r = EvalOk(id,
                            "import os, sys\n"
                            "print('to stdout')\n"
                            "print('to stderr', file=sys.stderr)\n"
                            "os.write(1, b'fd 1\\n')\n"
                            "os.write(2, b'fd 2\\n')\n"
                            "os.system('echo from a child; echo child err >&2')\n"
                            "None");
  EXPECT_EQ(r.stdout(), "to stdout\nfd 1\nfrom a child\n");
  EXPECT_EQ(r.stderr(), "to stderr\nfd 2\nchild err\n");
  EXPECT_FALSE(r.stdout_truncated());
}

TEST_F(CodeEvalTest, OneShotEvalRunsInAFreshInterpreter) {
  v1::EvalRequest req;
  req.set_code("import os\nprint(os.getcwd())\nvalue = 6 * 7\nvalue");
  req.set_timeout_ms(20000);
  v1::EvalResult r;
  auto ctx = runner_->Context();
  ASSERT_TRUE(stub_->Eval(ctx.get(), req, &r).ok());
  EXPECT_EQ(r.stdout(), runner_->workdir() + "\n");
  EXPECT_EQ(Value(r), "42");
  EXPECT_EQ(r.context_id(), "");
  req.set_code("value");
  auto ctx2 = runner_->Context();
  ASSERT_TRUE(stub_->Eval(ctx2.get(), req, &r).ok());
  EXPECT_EQ(r.error().name(), "NameError");
  EXPECT_TRUE(List().empty()) << "one-shot interpreters are not contexts";
}

TEST_F(CodeEvalTest, TimeoutInterruptsTheCodeAndTheContextSurvives) {
  const std::string id = Create();
  EvalOk(id, "kept = [1, 2, 3]");
  v1::EvalResult r;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eval(id, "while True: pass", &r, /*timeout_ms=*/500).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(500 + 2000));
  EXPECT_TRUE(r.timed_out());
  EXPECT_FALSE(r.context_dead());
  EXPECT_EQ(r.error().name(), "KeyboardInterrupt");
  EXPECT_EQ(Value(EvalOk(id, "sum(kept)")), "6");
}

TEST_F(CodeEvalTest, CodeThatIgnoresSigintIsKilledAndTheContextIsDead) {
  const std::string id = Create();
  v1::EvalResult r;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(Eval(id,
                   "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                   "while True: pass",
                   &r, /*timeout_ms=*/500)
                  .ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(500 + 2000));
  EXPECT_TRUE(r.timed_out());
  EXPECT_TRUE(r.context_dead());
  EXPECT_THAT(r.error().message(), HasSubstr("killed"));

  v1::EvalResult next;
  grpc::Status st = Eval(id, "1", &next);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("RestartContext"));

  v1::RestartContextRequest req;
  req.set_context_id(id);
  v1::Context restarted;
  auto ctx = runner_->Context();
  ASSERT_TRUE(stub_->RestartContext(ctx.get(), req, &restarted).ok());
  EXPECT_EQ(restarted.context_id(), id);
  EXPECT_EQ(restarted.state(), "idle");
  EXPECT_EQ(Value(EvalOk(id, "'signal' in dir()")), "False") << "fresh state, same id";
}

TEST_F(CodeEvalTest, ACrashedInterpreterIsReportedUntilRestarted) {
  const std::string id = Create();
  v1::EvalResult r = EvalOk(id, "import ctypes\nctypes.string_at(0)");
  EXPECT_TRUE(r.context_dead());
  EXPECT_FALSE(r.timed_out());
  EXPECT_THAT(r.error().message(), HasSubstr("SIGSEGV"));
  v1::EvalResult next;
  grpc::Status st = Eval(id, "1", &next);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("dead"));
  auto contexts = List();
  ASSERT_EQ(contexts.size(), 1u);
  EXPECT_EQ(contexts[0].state(), "dead");

  const std::string other = Create();
  EXPECT_THAT(EvalOk(other, "import os\nos._exit(7)").error().message(),
              HasSubstr("exited with status 7"));
}

TEST_F(CodeEvalTest, ASecondEvalOnABusyContextIsRefused) {
  const std::string id = Create();
  // The first eval says it is running, then waits for the test's go.
  CommandGate gate(runner_->dir());
  ASSERT_TRUE(gate.ok());
  std::thread slow([&] {
    v1::EvalResult r;
    EXPECT_TRUE(Eval(id,
                     "import os\nos.write(os.open('" + gate.ready() + "', os.O_WRONLY), b'\\n')\n" +
                         "os.read(os.open('" + gate.go() + "', os.O_RDONLY), 1)",
                     &r)
                    .ok());
    EXPECT_TRUE(r.error().name().empty()) << r.error().message();
  });
  EXPECT_TRUE(gate.WaitReady(1, std::chrono::seconds(30)));
  v1::EvalResult r;
  grpc::Status st = Eval(id, "1", &r);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("context busy"));
  EXPECT_TRUE(gate.Release(1));
  slow.join();
  EXPECT_EQ(Value(EvalOk(id, "2")), "2");
}

TEST_F(CodeEvalTest, ACancelledCallInterruptsTheCode) {
  const std::string id = Create();
  EvalOk(id, "n = 0");
  v1::EvalResult r;
  grpc::Status st = Eval(id, "while True: n += 1", &r, 60000, milliseconds(500));
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The interrupt lands right after the client gives up; then the context is free.
  v1::EvalResult after;
  WaitUntil(
      [&] {
        after.Clear();
        st = Eval(id, "n > 0", &after);
        return st.error_code() != grpc::StatusCode::FAILED_PRECONDITION;
      },
      std::chrono::seconds(10), milliseconds(10));
  ASSERT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(Value(after), "True");
}

TEST_F(CodeEvalTest, DeleteAndUnknownIds) {
  const std::string id = Create();
  v1::DeleteContextRequest del;
  del.set_context_id(id);
  v1::DeleteContextResponse resp;
  auto ctx = runner_->Context();
  ASSERT_TRUE(stub_->DeleteContext(ctx.get(), del, &resp).ok());
  auto ctx2 = runner_->Context();
  EXPECT_EQ(stub_->DeleteContext(ctx2.get(), del, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  v1::EvalResult r;
  EXPECT_EQ(Eval(id, "1", &r).error_code(), grpc::StatusCode::NOT_FOUND);
  auto bad = TryCreate("cobol");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(CodeEvalTest, DisplayOutputsAndPngFromMatplotlib) {
  const std::string id = Create();
  v1::EvalResult html = EvalOk(id,
                               "class Table:\n"
                               "    def _repr_html_(self):\n"
                               "        return '<table></table>'\n"
                               "display({'a': 1})\n"
                               "Table()");
  ASSERT_EQ(html.outputs_size(), 2);
  EXPECT_FALSE(html.outputs(0).is_result());
  EXPECT_EQ(html.outputs(0).data().at("text/plain"), "{'a': 1}");
  EXPECT_EQ(html.outputs(1).data().at("text/html"), "<table></table>");
  if (!PythonHas("matplotlib")) {
    GTEST_SKIP() << "matplotlib is not installed for the python3 on " << kPath
                 << "; the PNG output is not checked";
  }
  v1::EvalResult r;
  ASSERT_TRUE(Eval(id,
                   "import matplotlib.pyplot as plt\n"
                   "plt.plot([1, 2, 3], [1, 4, 9])\n"
                   "plt.title('squares')\n"
                   "plt.show()\n"
                   "print('shown')",
                   &r, 120000, milliseconds(150000))
                  .ok());
  EXPECT_TRUE(r.error().name().empty()) << r.error().traceback();
  EXPECT_EQ(r.stdout(), "shown\n");
  ASSERT_EQ(r.outputs_size(), 1) << r.stderr();
  const std::string& png = r.outputs(0).data().at("image/png");
  ASSERT_GT(png.size(), 1000u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // A figure left open is captured when the eval ends.
  v1::EvalResult open = EvalOk(id, "plt.figure(); plt.bar([1, 2], [3, 4]); None");
  ASSERT_EQ(open.outputs_size(), 1);
  EXPECT_EQ(open.outputs(0).data().count("image/png"), 1u);
}

TEST_F(CodeEvalTest, EvalStreamSendsOutputAsItHappens) {
  const std::string id = Create();
  v1::EvalRequest req;
  req.set_context_id(id);
  req.set_code(
      "import sys, time\nprint('first')\ntime.sleep(0.5)\ndisplay('shown')\nprint('oops', "
      "file=sys.stderr)\n'done'");
  req.set_timeout_ms(20000);
  auto ctx = runner_->Context();
  auto reader = stub_->EvalStream(ctx.get(), req);
  v1::EvalEvent event;
  std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>> seen;
  v1::EvalResult result;
  std::string out, err;
  std::vector<v1::DisplayOutput> displays;
  while (reader->Read(&event)) {
    const auto now = std::chrono::steady_clock::now();
    switch (event.kind_case()) {
      case v1::EvalEvent::kStdout:
        out += event.stdout();
        seen.emplace_back("stdout", now);
        break;
      case v1::EvalEvent::kStderr:
        err += event.stderr();
        seen.emplace_back("stderr", now);
        break;
      case v1::EvalEvent::kDisplay:
        displays.push_back(event.display());
        seen.emplace_back("display", now);
        break;
      case v1::EvalEvent::kResult:
        result = event.result();
        seen.emplace_back("result", now);
        break;
      default:
        break;
    }
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(out, "first\n");
  EXPECT_EQ(err, "oops\n");
  ASSERT_EQ(displays.size(), 2u);
  EXPECT_EQ(displays[0].data().at("text/plain"), "'shown'");
  EXPECT_TRUE(displays[1].is_result());
  ASSERT_GE(seen.size(), 5u);
  EXPECT_EQ(seen.front().first, "stdout");
  EXPECT_EQ(seen.back().first, "result");
  EXPECT_GE(seen.back().second - seen.front().second, milliseconds(400))
      << "the first line arrived before the code finished";
  EXPECT_EQ(result.context_id(), id);
  EXPECT_EQ(result.stdout(), "") << "streamed output is not repeated in the result";
}

TEST_F(CodeEvalTest, NodeContextsWhenNodeIsInstalled) {
  if (!Installed("node")) GTEST_SKIP() << "node is not installed on " << kPath;
  const std::string id = Create("node");
  EvalOk(id,
         "let items = [1, 2, 3]; function total() { return items.reduce((a, b) => a + b, 0); }");
  v1::EvalResult r = EvalOk(id, "console.log('adding'); items.push(4); total()");
  EXPECT_EQ(r.stdout(), "adding\n");
  EXPECT_EQ(Value(r), "10");
  v1::EvalResult e = EvalOk(id, "JSON.parse('{')");
  EXPECT_EQ(e.error().name(), "SyntaxError");
  v1::EvalResult t;
  ASSERT_TRUE(Eval(id, "for (;;) {}", &t, 500).ok());
  EXPECT_TRUE(t.timed_out());
  EXPECT_FALSE(t.context_dead());
  EXPECT_EQ(Value(EvalOk(id, "items.length")), "4");
}

TEST_F(CodeEvalTest, BashContextsKeepDirectoryAndVariables) {
  if (!Installed("bash")) GTEST_SKIP() << "bash is not installed on " << kPath;
  const std::string id = Create("bash");
  EvalOk(id, "mkdir -p sub && cd sub && export GREETING=hello && count=3");
  v1::EvalResult r = EvalOk(id, "echo \"$GREETING $count $(pwd)\"");
  EXPECT_EQ(r.stdout(), "hello 3 " + runner_->workdir() + "/sub\n");
  v1::EvalResult failed = EvalOk(id, "false");
  EXPECT_EQ(failed.error().name(), "ExitStatus");
  v1::EvalResult t;
  ASSERT_TRUE(Eval(id, "while :; do :; done", &t, 500).ok());
  EXPECT_TRUE(t.timed_out());
  EXPECT_FALSE(t.context_dead());
  EXPECT_EQ(EvalOk(id, "pwd").stdout(), runner_->workdir() + "/sub\n");
}

TEST_F(CodeEvalTest, GetInfoListsTheLanguagesOfThisImage) {
  auto runner = v1::Runner::NewStub(runner_->channel());
  v1::GetInfoResponse info;
  auto ctx = runner_->Context();
  ASSERT_TRUE(runner->GetInfo(ctx.get(), {}, &info).ok());
  std::vector<std::string> caps(info.capabilities().begin(), info.capabilities().end());
  EXPECT_THAT(caps, ::testing::Contains("code_eval.python"));
  EXPECT_EQ(std::count(caps.begin(), caps.end(), "code_eval.node"), Installed("node") ? 1 : 0);
  EXPECT_EQ(std::count(caps.begin(), caps.end(), "code_eval.bash"), Installed("bash") ? 1 : 0);
}

TEST_F(CodeEvalTest, CallsNeedTheToken) {
  v1::EvalRequest req;
  req.set_code("1");
  grpc::ClientContext ctx;
  v1::EvalResult r;
  // Without the signing channel: no authorization at all.
  EXPECT_EQ(v1::CodeEval::NewStub(runner_->raw_channel())->Eval(&ctx, req, &r).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(CodeEvalTest, RunnerThreadsStayBoundedWithManyContexts) {
  std::vector<std::pair<std::string, std::string>> contexts;  // id, code
  for (int i = 0; i < 6; ++i) {
    const bool python = i % 2 == 0;
    contexts.emplace_back(Create(python ? "python" : "bash"),
                          python ? "import time\ntime.sleep(0.1)" : "sleep 0.1");
  }
  std::vector<std::thread> threads;
  for (const auto& [id, code] : contexts) {
    threads.emplace_back([this, id = id, code = code] {
      for (int i = 0; i < 5; ++i) {
        v1::EvalResult r;
        EXPECT_TRUE(Eval(id, code, &r).ok());
        EXPECT_TRUE(r.error().name().empty()) << r.error().message();
      }
    });
  }
  long max_threads = 0;
  for (int i = 0; i < 20; ++i) {
    max_threads = std::max(max_threads, runner_->StatusField("Threads"));
    std::this_thread::sleep_for(milliseconds(50));
  }
  for (auto& t : threads) t.join();
  EXPECT_GT(max_threads, 0);
  // gRPC's and the supervisor's 16, plus the one spawn assistant.
  EXPECT_LE(max_threads, 16 + 1);
}

class CodeEvalLimitsTest : public CodeEvalTest {
 protected:
  RunnerOptions Options() override {
    RunnerOptions o;
    o.extra_args = {"--max-contexts", "2", "--context-idle-timeout-ms", "700",
                    "--spare-interpreters", "0"};
    return o;
  }
};

TEST_F(CodeEvalLimitsTest, TheNumberOfContextsIsCapped) {
  Create();
  Create();
  auto third = TryCreate("python");
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(CodeEvalLimitsTest, IdleContextsAreReclaimed) {
  auto c = TryCreate("python");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(List().size(), 1u);
  // The idle timeout (700 ms) is what runs here; the test only looks often.
  WaitUntil([&] { return List().empty(); }, std::chrono::seconds(10), milliseconds(10));
  EXPECT_TRUE(List().empty());
  v1::EvalResult r;
  EXPECT_EQ(Eval(c->context_id(), "1", &r).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(WaitForReaped(c->pid(), std::chrono::seconds(5)));
  EXPECT_NE(kill(c->pid(), 0), 0) << "the reclaimed interpreter is gone";
  EXPECT_THAT(runner_->ReadLog(), HasSubstr("reclaiming an idle code-eval context"));
}

}  // namespace
}  // namespace sagewai::testing
