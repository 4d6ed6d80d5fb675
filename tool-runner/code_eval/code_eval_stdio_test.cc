#include "tool-runner/code_eval/code_eval_stdio.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

#include "common/json_reader.h"

namespace sagewai {
namespace {

namespace v1 = ::sagewai::sandbox::v1;
using ::testing::HasSubstr;

TEST(ToStdioResultTest, DisplayTextGoesToStdoutAndTheExitCodeIsZero) {
  v1::EvalResult r;
  r.set_stdout("printed");
  auto* out = r.add_outputs();
  (*out->mutable_data())["text/plain"] = "42";
  (*out->mutable_data())["image/png"] = "\x89PNG";
  out->set_is_result(true);
  r.set_duration_ms(7);
  stdio::ToolResult t = ToStdioResult(r, absl::Seconds(60));
  EXPECT_EQ(t.stdout_data, "printed\n42\n");
  EXPECT_EQ(t.stderr_data, "");
  EXPECT_EQ(t.exit_code, 0);
  EXPECT_FALSE(t.error.has_value());
  EXPECT_EQ(t.duration_ms, 7);
}

TEST(ToStdioResultTest, AnExceptionIsExitCodeOneWithTheTracebackInStderr) {
  v1::EvalResult r;
  r.set_stderr("warning\n");
  r.mutable_error()->set_name("ZeroDivisionError");
  r.mutable_error()->set_message("division by zero");
  r.mutable_error()->set_traceback(
      "Traceback (most recent call last):\nZeroDivisionError: division by zero\n");
  stdio::ToolResult t = ToStdioResult(r, absl::Seconds(60));
  EXPECT_EQ(t.exit_code, 1);
  EXPECT_EQ(t.stderr_data,
            "warning\nTraceback (most recent call last):\nZeroDivisionError: division by zero\n");
  EXPECT_FALSE(t.error.has_value());
}

TEST(ToStdioResultTest, TimeoutAndDeadContextHaveNoExitCode) {
  v1::EvalResult timed_out;
  timed_out.set_timed_out(true);
  stdio::ToolResult t = ToStdioResult(timed_out, absl::Seconds(2));
  EXPECT_FALSE(t.exit_code.has_value());
  ASSERT_TRUE(t.error.has_value());
  EXPECT_THAT(*t.error, HasSubstr("timeout"));

  v1::EvalResult dead;
  dead.set_context_dead(true);
  dead.mutable_error()->set_name("ContextDied");
  dead.mutable_error()->set_message("the python interpreter was killed by signal 11 (SIGSEGV)");
  t = ToStdioResult(dead, absl::Seconds(2));
  EXPECT_FALSE(t.exit_code.has_value());
  ASSERT_TRUE(t.error.has_value());
  EXPECT_THAT(*t.error, HasSubstr("context_dead"));
  EXPECT_THAT(*t.error, HasSubstr("SIGSEGV"));
}

class CodeEvalToolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Supervisor::Start(SupervisorOptions{});
    ASSERT_TRUE(s.ok()) << s.status();
    sup_ = std::move(*s);
    manager_ = std::make_unique<code_eval::CodeEvalManager>(*sup_, code_eval::CodeEvalOptions{});
    StdioToolOptions options;
    options.workdir = "/tmp";
    RegisterCodeEvalTool(dispatcher_, *manager_, options);
  }
  void TearDown() override {
    manager_.reset();
    sup_->Shutdown(std::chrono::milliseconds(100));
  }
  json::Value Call(const std::string& args) {
    auto line = dispatcher_.HandleLine(
        R"({"jsonrpc":"2.0","id":1,"method":"exec","params":{"tool":"code_eval","args":)" + args +
        "}}");
    EXPECT_TRUE(line.has_value());
    auto v = json::Parse(line.value_or("null"));
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *v : json::Value();
  }
  static std::string Field(const json::Value& reply, absl::string_view key) {
    const json::Value* result = reply.Find("result");
    const json::Value* v = result != nullptr ? result->Find(key) : nullptr;
    if (v == nullptr) return "<missing>";
    return v->is_string() ? std::string(*v->AsString()) : json::Serialize(*v);
  }

  std::unique_ptr<Supervisor> sup_;
  std::unique_ptr<code_eval::CodeEvalManager> manager_;
  stdio::Dispatcher dispatcher_;
};

TEST_F(CodeEvalToolTest, NamedContextsKeepStateBetweenCalls) {
  const char* path = getenv("PATH");
  if (code_eval::FindInterpreter(code_eval::Language::kPython, path != nullptr ? path : "")
          .empty()) {
    GTEST_SKIP() << "no python3 on PATH";
  }
  json::Value a = Call(R"({"language":"python","code":"x = 41","context_id":"main"})");
  EXPECT_EQ(Field(a, "ok"), "true") << json::Serialize(a);
  json::Value b = Call(R"({"code":"print('hi')\nx + 1","context_id":"main"})");
  EXPECT_EQ(Field(b, "stdout"), "hi\n42\n");
  EXPECT_EQ(Field(b, "exit_code"), "0");
  json::Value c = Call(R"({"code":"x"})");
  EXPECT_EQ(Field(c, "exit_code"), "1") << "a one-shot eval has no x";
  EXPECT_THAT(Field(c, "stderr"), HasSubstr("NameError"));
  json::Value bad = Call(R"({"language":"cobol","code":"x"})");
  ASSERT_NE(bad.Find("error"), nullptr) << json::Serialize(bad);
}

}  // namespace
}  // namespace sagewai
