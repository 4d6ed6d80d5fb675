#include "tool-runner/stdio/stdio_protocol.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/json_reader.h"
#include "tool-runner/stdio/stdio_test_tools.h"

namespace sagewai::stdio {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

class DispatcherTest : public ::testing::Test {
 protected:
  std::string Handle(absl::string_view line) {
    std::optional<std::string> r = dispatcher_.HandleLine(line);
    EXPECT_TRUE(r.has_value()) << "no reply to " << line;
    return r.value_or("");
  }
  // The error code of a reply, checking its shape and the echoed id.
  int ErrorCode(absl::string_view line, absl::string_view expected_id = "0") {
    const std::string reply = Handle(line);
    absl::StatusOr<json::Value> v = json::Parse(reply);
    EXPECT_TRUE(v.ok()) << reply;
    if (!v.ok()) return 0;
    EXPECT_EQ(v->Find("jsonrpc")->AsString(), "2.0");
    EXPECT_EQ(json::Serialize(*v->Find("id")), expected_id) << reply;
    EXPECT_EQ(v->Find("result"), nullptr) << reply;
    const json::Value* error = v->Find("error");
    EXPECT_NE(error, nullptr) << reply;
    if (error == nullptr) return 0;
    EXPECT_TRUE(error->Find("message")->is_string());
    last_message_ = std::string(error->Find("message")->AsString().value_or(""));
    return static_cast<int>(error->Find("code")->AsInt().value_or(0));
  }

  Recorder recorder_;
  Dispatcher dispatcher_ = MakeDispatcher(&recorder_);
  std::string last_message_;
};

TEST_F(DispatcherTest, ByteExactResult) {
  EXPECT_EQ(Handle(Exec("1", R"({"tool":"bash","args":{"command":"echo hi"},"call_id":"c1"})")),
            R"({"jsonrpc":"2.0","id":1,"result":{"call_id":"c1","ok":true,"exit_code":0,)"
            R"("stdout":"hi\n","stderr":"","duration_ms":5,"error":null}})");
}

TEST_F(DispatcherTest, FailedAndTimedOutCallsAreResults) {
  EXPECT_EQ(Handle(Exec("\"a\"", R"({"tool":"bash","args":{"command":"fail"},"call_id":"c2"})")),
            R"({"jsonrpc":"2.0","id":"a","result":{"call_id":"c2","ok":false,"exit_code":3,)"
            "\"stdout\":\"\",\"stderr\":\"bad\xEF\xBF\xBD\",\"duration_ms\":2,\"error\":null}}");
  EXPECT_EQ(Handle(Exec("2", R"({"tool":"bash","args":{"command":"timeout"}})")),
            R"({"jsonrpc":"2.0","id":2,"result":{"call_id":null,"ok":false,"exit_code":null,)"
            R"("stdout":"partial","stderr":"","duration_ms":1000,"error":"timeout after 1s"}})");
}

TEST_F(DispatcherTest, HandlerErrorStatusIsAResultNotAnRpcError) {
  const std::string reply = Handle(Exec("4", R"({"tool":"broken","call_id":"c4"})"));
  EXPECT_THAT(reply, StartsWith(R"({"jsonrpc":"2.0","id":4,"result":{"call_id":"c4","ok":false,)"
                                R"("exit_code":null,"stdout":"","stderr":"","duration_ms":)"));
  EXPECT_THAT(reply,
              HasSubstr(R"("error":"could not run tool \"broken\": /bin/bash: no such file"}})"));
}

TEST_F(DispatcherTest, ThrowingHandlerIsAnInternalError) {
  EXPECT_EQ(ErrorCode(Exec("5", R"({"tool":"throws"})"), "5"), kInternalError);
  EXPECT_THAT(last_message_, HasSubstr("boom"));
}

TEST_F(DispatcherTest, IdIsEchoedExactly) {
  const std::string params = R"({"tool":"bash","args":{"command":"x"}})";
  for (absl::string_view id :
       {"0", "-1", "9007199254740993", "9223372036854775807", "123456789012345678901234567890",
        "\"abc\"", "\"\"", "\"12\"", "\"\\u00e9\\\"\"", "null", "1.5"}) {
    const std::string reply = Handle(Exec(id, params));
    std::string expected_id(id);
    if (id == "\"\\u00e9\\\"\"") expected_id = "\"\xC3\xA9\\\"\"";  // re-encoded, same string
    EXPECT_THAT(
        reply, StartsWith(absl::StrCat(R"({"jsonrpc":"2.0","id":)", expected_id, R"(,"result":{)")))
        << reply;
  }
}

TEST_F(DispatcherTest, ParamsReachTheHandler) {
  Handle(Exec("1", R"({"tool":"bash","args":{"command":"x","env":{"A":"1"}},"timeout_s":2.5})"));
  absl::MutexLock lock(&recorder_.mu);
  EXPECT_EQ(json::Serialize(recorder_.args), R"({"command":"x","env":{"A":"1"}})");
  EXPECT_EQ(recorder_.timeout, absl::Milliseconds(2500));
}

TEST_F(DispatcherTest, TimeoutDefaultsAndCap) {
  Recorder rec;
  DispatcherOptions options;
  options.default_timeout = absl::Seconds(60);
  options.max_timeout = absl::Seconds(600);
  Dispatcher d = MakeDispatcher(&rec, options);
  auto timeout_for = [&](absl::string_view timeout_json) {
    std::string params = R"({"tool":"bash","args":{"command":"x"})";
    if (!timeout_json.empty()) absl::StrAppend(&params, R"(,"timeout_s":)", timeout_json);
    params += "}";
    EXPECT_THAT(d.HandleLine(Exec("1", params)).value_or(""), HasSubstr("\"result\""));
    absl::MutexLock lock(&rec.mu);
    return rec.timeout;
  };
  EXPECT_EQ(timeout_for(""), absl::Seconds(60));
  EXPECT_EQ(timeout_for("null"), absl::Seconds(60));
  EXPECT_EQ(timeout_for("5"), absl::Seconds(5));
  EXPECT_EQ(timeout_for("0.25"), absl::Milliseconds(250));
  EXPECT_EQ(timeout_for("601"), absl::Seconds(600));
  EXPECT_EQ(timeout_for("1e300"), absl::Seconds(600));
}

TEST_F(DispatcherTest, ParseErrorsAnswerWithIdZero) {
  EXPECT_EQ(ErrorCode("{"), kParseError);
  EXPECT_THAT(last_message_, HasSubstr("Parse error: invalid JSON at byte 1"));
  EXPECT_EQ(ErrorCode("not json"), kParseError);
  EXPECT_EQ(ErrorCode(R"({"id":1,"method":"exec"} trailing)"), kParseError);
  EXPECT_EQ(ErrorCode("{\"id\":1,\"method\":\"exec\",\"params\":{\"tool\":\"bash\xFF\"}}"),
            kParseError);
  EXPECT_THAT(last_message_, HasSubstr("invalid UTF-8"));
  EXPECT_EQ(ErrorCode(R"({"id":1,"method":"exec","params":{"tool":"\ud800"}})"), kParseError);
  EXPECT_EQ(ErrorCode(std::string(1000, '[')), kParseError);
  EXPECT_THAT(last_message_, HasSubstr("nesting deeper than 128"));
}

TEST_F(DispatcherTest, InvalidRequests) {
  EXPECT_EQ(ErrorCode("[1,2]"), kInvalidRequest);
  EXPECT_THAT(last_message_, HasSubstr("batch"));
  EXPECT_EQ(ErrorCode("[]"), kInvalidRequest);
  EXPECT_EQ(ErrorCode("42"), kInvalidRequest);
  EXPECT_EQ(ErrorCode("\"exec\""), kInvalidRequest);
  EXPECT_EQ(ErrorCode("null"), kInvalidRequest);
  EXPECT_EQ(ErrorCode(R"({"id":true,"method":"exec"})"), kInvalidRequest);
  EXPECT_EQ(ErrorCode(R"({"id":{"a":1},"method":"exec"})"), kInvalidRequest);
  EXPECT_EQ(ErrorCode(R"({"id":[1],"method":"exec"})"), kInvalidRequest);
  EXPECT_EQ(ErrorCode(R"({"jsonrpc":"1.0","id":3,"method":"exec"})", "3"), kInvalidRequest);
  EXPECT_EQ(ErrorCode(R"({"jsonrpc":2.0,"id":3,"method":"exec"})", "3"), kInvalidRequest);
  EXPECT_EQ(ErrorCode(R"({"jsonrpc":"2.0","id":"x"})", "\"x\""), kInvalidRequest);
  EXPECT_EQ(ErrorCode(R"({"jsonrpc":"2.0","id":"x","method":7})", "\"x\""), kInvalidRequest);
  // Invalid even without an id: answered, with id 0.
  EXPECT_EQ(ErrorCode(R"({"foo":"bar"})"), kInvalidRequest);
}

TEST_F(DispatcherTest, RepeatedKeysAreInvalidRequestsWithTheirId) {
  EXPECT_EQ(ErrorCode(R"({"id":4,"method":"exec","params":{"tool":"bash",)"
                      R"("args":{"command":"echo a","command":"echo b"}}})",
                      "4"),
            kInvalidRequest);
  EXPECT_THAT(last_message_, HasSubstr("duplicate object key \"command\""));
  EXPECT_EQ(recorder_.calls, 0) << "nothing ran";
  EXPECT_EQ(ErrorCode(R"({"id":"a","id":"b","method":"exec"})", "\"b\""), kInvalidRequest);
  EXPECT_EQ(ErrorCode(R"({"method":"exec","method":"exec"})"), kInvalidRequest);
  EXPECT_EQ(ErrorCode(R"([{"a":1,"a":1}])"), kInvalidRequest);
}

TEST_F(DispatcherTest, JsonrpcMemberMayBeAbsent) {
  EXPECT_THAT(Handle(R"({"id":9,"method":"exec","params":{"tool":"bash","args":{"command":"x"}}})"),
              StartsWith(R"({"jsonrpc":"2.0","id":9,"result":{"call_id":null,"ok":true)"));
}

TEST_F(DispatcherTest, UnknownMethod) {
  EXPECT_EQ(ErrorCode(R"({"jsonrpc":"2.0","id":7,"method":"run","params":{}})", "7"),
            kMethodNotFound);
  EXPECT_THAT(last_message_, HasSubstr("\"run\""));
  EXPECT_EQ(ErrorCode(R"({"jsonrpc":"2.0","id":"s","method":"Exec"})", "\"s\""), kMethodNotFound);
}

TEST_F(DispatcherTest, InvalidParams) {
  struct Case {
    const char* params;
    const char* message;
  };
  const Case cases[] = {
      {"null", "params must be an object"},
      {"[]", "params must be an object"},
      {R"({})", "params.tool must be a string"},
      {R"({"tool":5})", "params.tool must be a string"},
      {R"({"tool":"python"})", "unknown tool \"python\"; known tools: bash, broken, throws"},
      {R"({"tool":"bash","args":[]})", "params.args must be an object, got array"},
      {R"({"tool":"bash","args":"echo"})", "params.args must be an object, got string"},
      {R"({"tool":"bash","args":null})", "params.args must be an object, got null"},
      {R"({"tool":"bash","args":{}})", "tool \"bash\": args.command must be a string"},
      {R"({"tool":"bash"})", "tool \"bash\": args.command must be a string"},
      {R"({"tool":"bash","args":{"command":1}})", "args.command must be a string"},
      {R"({"tool":"bash","args":{"command":"x"},"call_id":5})", "params.call_id must be a string"},
      {R"({"tool":"bash","args":{"command":"x"},"timeout_s":0})", "timeout_s must be a number"},
      {R"({"tool":"bash","args":{"command":"x"},"timeout_s":-1})", "above 0, got -1"},
      {R"({"tool":"bash","args":{"command":"x"},"timeout_s":"60"})", "got \"60\""},
      {R"({"tool":"bash","args":{"command":"x"},"timeout_s":1e-400})", "above 0"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ErrorCode(Exec("11", c.params), "11"), kInvalidParams) << c.params;
    EXPECT_THAT(last_message_, HasSubstr(c.message)) << c.params;
    EXPECT_THAT(last_message_, StartsWith("Invalid params: ")) << c.params;
  }
  // No params at all.
  EXPECT_EQ(ErrorCode(R"({"jsonrpc":"2.0","id":12,"method":"exec"})", "12"), kInvalidParams);
}

TEST_F(DispatcherTest, NotificationsRunButGetNoReply) {
  EXPECT_FALSE(dispatcher_
                   .HandleLine(R"({"jsonrpc":"2.0","method":"exec","params":)"
                               R"({"tool":"bash","args":{"command":"x"}}})")
                   .has_value());
  {
    absl::MutexLock lock(&recorder_.mu);
    EXPECT_EQ(recorder_.calls, 1);
  }
  EXPECT_FALSE(dispatcher_.HandleLine(R"({"jsonrpc":"2.0","method":"nope"})").has_value());
  EXPECT_FALSE(dispatcher_.HandleLine(R"({"method":"exec","params":{"tool":"x"}})").has_value());
}

TEST_F(DispatcherTest, BlankLinesAndCrlf) {
  EXPECT_FALSE(dispatcher_.HandleLine("").has_value());
  EXPECT_FALSE(dispatcher_.HandleLine("\r").has_value());
  EXPECT_FALSE(dispatcher_.HandleLine("  \t ").has_value());
  EXPECT_THAT(Handle(Exec("1", R"({"tool":"bash","args":{"command":"x"}})") + "\r"),
              StartsWith(R"({"jsonrpc":"2.0","id":1,"result")"));
}

TEST_F(DispatcherTest, RequestSizeLimit) {
  Recorder rec;
  DispatcherOptions options;
  options.max_request_bytes = 100;
  Dispatcher d = MakeDispatcher(&rec, options);
  const std::string big = Exec(
      "1", absl::StrCat(R"({"tool":"bash","args":{"command":")", std::string(100, 'x'), "\"}}"));
  EXPECT_THAT(d.HandleLine(big).value_or(""),
              StartsWith(R"({"jsonrpc":"2.0","id":0,"error":{"code":-32700,)"));
}

TEST(ResponseTest, ByteExactError) {
  EXPECT_EQ(ErrorResponse(json::Value("x"), kMethodNotFound, "no \"y\""),
            R"({"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"no \"y\""}})");
}

TEST(ResponseTest, OkNeedsExitZeroAndNoError) {
  ToolResult r;
  r.exit_code = 0;
  r.error = "timeout";
  EXPECT_THAT(ResultResponse(json::Value(1), json::Value(), r), HasSubstr(R"("ok":false)"));
  r.error.reset();
  EXPECT_THAT(ResultResponse(json::Value(1), json::Value(), r), HasSubstr(R"("ok":true)"));
  r.exit_code.reset();
  EXPECT_THAT(ResultResponse(json::Value(1), json::Value(), r),
              HasSubstr(R"("ok":false,"exit_code":null)"));
}

}  // namespace
}  // namespace sagewai::stdio
