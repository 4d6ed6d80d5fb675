#include "tool-runner/stdio/stdio_protocol.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/json_reader.h"
#include "common/unique_fd.h"

namespace sagewai::stdio {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Remembers what the last call received.
struct Recorder {
  absl::Mutex mu;
  json::Value args;
  absl::Duration timeout;
  int calls = 0;
};

Dispatcher MakeDispatcher(Recorder* recorder, DispatcherOptions options = {}) {
  Dispatcher d(options);
  d.Register(
      "bash",
      [recorder](const json::Value& args, absl::Duration timeout) -> absl::StatusOr<ToolResult> {
        {
          absl::MutexLock lock(&recorder->mu);
          recorder->args = args;
          recorder->timeout = timeout;
          ++recorder->calls;
        }
        const json::Value* command = args.Find("command");
        if (command == nullptr || !command->is_string()) {
          return absl::InvalidArgumentError("args.command must be a string");
        }
        ToolResult r;
        if (*command->AsString() == "timeout") {
          r.error = "timeout after 1s";
          r.stdout_data = "partial";
          r.duration_ms = 1000;
          return r;
        }
        if (*command->AsString() == "fail") {
          r.exit_code = 3;
          r.stderr_data = "bad\xFF";
          r.duration_ms = 2;
          return r;
        }
        r.exit_code = 0;
        r.stdout_data = "hi\n";
        r.duration_ms = 5;
        return r;
      });
  d.Register("broken", [](const json::Value&, absl::Duration) -> absl::StatusOr<ToolResult> {
    return absl::UnavailableError("/bin/bash: no such file");
  });
  d.Register("throws", [](const json::Value&, absl::Duration) -> absl::StatusOr<ToolResult> {
    throw std::runtime_error("boom");
  });
  return d;
}

std::string Exec(absl::string_view id, absl::string_view params) {
  return absl::StrCat(R"({"jsonrpc":"2.0","id":)", id, R"(,"method":"exec","params":)", params,
                      "}");
}

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

// ---- ServeStdio over pipes ----

// Runs ServeStdio on a thread, fed and read by the test through pipes.
class StdioServer {
 public:
  explicit StdioServer(const Dispatcher& dispatcher, StdioOptions options = {}) {
    absl::StatusOr<Pipe> in = MakePipe();
    absl::StatusOr<Pipe> out = MakePipe();
    EXPECT_TRUE(in.ok() && out.ok());
    to_server_ = std::move(in->write);
    from_server_ = std::move(out->read);
    thread_ = std::thread([&dispatcher, options, in_fd = std::move(in->read),
                           out_fd = std::move(out->write), this]() mutable {
      status_ = ServeStdio(dispatcher, in_fd.get(), out_fd.get(), options);
      done_ = true;
    });
  }
  ~StdioServer() {
    to_server_.reset();
    if (thread_.joinable()) thread_.join();
  }

  void Send(absl::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(to_server_.get(), data.data(), data.size());
      ASSERT_GT(n, 0) << "write to server failed";
      data.remove_prefix(static_cast<size_t>(n));
    }
  }

  // The next response line (without '\n'), or "" after `timeout`.
  std::string ReadLine(absl::Duration timeout = absl::Seconds(10)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      const size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const int64_t wait_ms = absl::ToInt64Milliseconds(deadline - absl::Now());
      if (wait_ms <= 0) return "";
      pollfd p{from_server_.get(), POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(wait_ms)) <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::read(from_server_.get(), chunk, sizeof(chunk));
      if (n <= 0) return "";
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

  // Closes stdin, waits for ServeStdio to return; `rest` is what it wrote after
  // the lines already read.
  absl::Status Finish(std::string* rest = nullptr) {
    to_server_.reset();
    thread_.join();
    std::string tail = buffer_;
    char chunk[4096];
    ssize_t n;
    while ((n = ::read(from_server_.get(), chunk, sizeof(chunk))) > 0) tail.append(chunk, n);
    if (rest != nullptr) *rest = tail;
    return status_;
  }

  void CloseOutput() { from_server_.reset(); }
  bool done() const { return done_; }

 private:
  UniqueFd to_server_, from_server_;
  std::string buffer_;
  std::thread thread_;
  absl::Status status_;
  std::atomic<bool> done_{false};
};

std::string BashRequest(int id) {
  return Exec(absl::StrCat(id), R"({"tool":"bash","args":{"command":"x"},"call_id":"c"})");
}

std::string BashReply(int id) {
  return absl::StrCat(R"({"jsonrpc":"2.0","id":)", id,
                      R"(,"result":{"call_id":"c","ok":true,"exit_code":0,"stdout":"hi\n",)"
                      R"("stderr":"","duration_ms":5,"error":null}})");
}

TEST(ServeStdioTest, RepliesBeforeReadingTheNextRequest) {
  Recorder rec;
  Dispatcher d = MakeDispatcher(&rec);
  StdioServer server(d);
  // stdin stays open throughout, as with Kubernetes exec.
  for (int id = 1; id <= 3; ++id) {
    server.Send(BashRequest(id) + "\n");
    EXPECT_EQ(server.ReadLine(), BashReply(id));
  }
  EXPECT_FALSE(server.done());
  EXPECT_TRUE(server.Finish().ok());
}

TEST(ServeStdioTest, SeveralRequestsInOneWrite) {
  Recorder rec;
  Dispatcher d = MakeDispatcher(&rec);
  StdioServer server(d);
  server.Send(BashRequest(1) + "\n\n" + BashRequest(2) + "\r\n   \n" + BashRequest(3) + "\n");
  std::string rest;
  ASSERT_TRUE(server.Finish(&rest).ok());
  EXPECT_EQ(rest, BashReply(1) + "\n" + BashReply(2) + "\n" + BashReply(3) + "\n");
}

TEST(ServeStdioTest, RequestSplitAcrossWrites) {
  Recorder rec;
  Dispatcher d = MakeDispatcher(&rec);
  StdioOptions options;
  options.read_chunk_bytes = 7;  // lines also straddle read chunks
  StdioServer server(d, options);
  const std::string request = BashRequest(42) + "\n";
  for (size_t i = 0; i < request.size(); i += 10) {
    server.Send(request.substr(i, 10));
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(server.ReadLine(), BashReply(42));
  EXPECT_TRUE(server.Finish().ok());
}

TEST(ServeStdioTest, LastLineWithoutNewlineIsHandledAtEof) {
  Recorder rec;
  Dispatcher d = MakeDispatcher(&rec);
  StdioServer server(d);
  server.Send(BashRequest(1) + "\n" + BashRequest(2));
  EXPECT_EQ(server.ReadLine(), BashReply(1));
  std::string rest;
  ASSERT_TRUE(server.Finish(&rest).ok());
  EXPECT_EQ(rest, BashReply(2) + "\n");
}

TEST(ServeStdioTest, MalformedLinesGetErrorsAndTheLoopGoesOn) {
  Recorder rec;
  Dispatcher d = MakeDispatcher(&rec);
  StdioServer server(d);
  server.Send("garbage\n{\"id\":1,\"method\":\"exec\",\"params\":{\"tool\":\"\xFF\"}}\n[1]\n" +
              Exec("2", R"({"tool":"bash","args":7})") + "\n" + BashRequest(3) + "\n");
  std::string rest;
  ASSERT_TRUE(server.Finish(&rest).ok());
  const std::vector<std::string> lines = absl::StrSplit(rest, '\n');
  ASSERT_EQ(lines.size(), 6u) << rest;
  EXPECT_THAT(lines[0], StartsWith(R"({"jsonrpc":"2.0","id":0,"error":{"code":-32700,)"));
  EXPECT_THAT(lines[1], StartsWith(R"({"jsonrpc":"2.0","id":0,"error":{"code":-32700,)"));
  EXPECT_THAT(lines[2], StartsWith(R"({"jsonrpc":"2.0","id":0,"error":{"code":-32600,)"));
  EXPECT_THAT(lines[3], StartsWith(R"({"jsonrpc":"2.0","id":2,"error":{"code":-32602,)"));
  EXPECT_EQ(lines[4], BashReply(3));
  EXPECT_EQ(lines[5], "");
}

TEST(ServeStdioTest, OverlongLineIsDiscardedAndAnswered) {
  Recorder rec;
  Dispatcher d = MakeDispatcher(&rec);
  StdioOptions options;
  options.max_line_bytes = 1024;
  options.read_chunk_bytes = 100;
  StdioServer server(d, options);
  // Just within the limit (a request padded with spaces) still works.
  std::string fits = BashRequest(1);
  fits.append(1024 - fits.size(), ' ');
  server.Send(fits + "\n");
  EXPECT_EQ(server.ReadLine(), BashReply(1));
  // One byte over, then far over, split in pieces.
  server.Send(fits + " \n");
  EXPECT_THAT(server.ReadLine(),
              StartsWith(R"({"jsonrpc":"2.0","id":0,"error":{"code":-32700,"message":)"
                         R"("Parse error: request line longer than 1024 bytes)"));
  const std::string huge = BashRequest(2) + std::string(1 << 20, ' ');
  for (size_t i = 0; i < huge.size(); i += 4096) server.Send(huge.substr(i, 4096));
  server.Send("\n" + BashRequest(3) + "\n");
  EXPECT_THAT(server.ReadLine(), HasSubstr("\"code\":-32700"));
  EXPECT_EQ(server.ReadLine(), BashReply(3));
  // An over-long last line without '\n' is answered at EOF.
  server.Send(huge);
  std::string rest;
  ASSERT_TRUE(server.Finish(&rest).ok());
  EXPECT_THAT(rest, StartsWith(R"({"jsonrpc":"2.0","id":0,"error":{"code":-32700,)"));
  EXPECT_EQ(rest.back(), '\n');
}

TEST(ServeStdioTest, DefaultLimitIs16MiB) {
  Recorder rec;
  Dispatcher d = MakeDispatcher(&rec);
  StdioServer server(d);
  // A 16 MiB + 1 byte line: a valid request padded with spaces.
  std::string line = BashRequest(1);
  line.append((size_t{16} << 20) + 1 - line.size(), ' ');
  std::thread writer([&] { server.Send(line + "\n" + BashRequest(2) + "\n"); });
  EXPECT_THAT(server.ReadLine(absl::Seconds(60)), HasSubstr("\"code\":-32700"));
  EXPECT_EQ(server.ReadLine(absl::Seconds(60)), BashReply(2));
  writer.join();
  EXPECT_TRUE(server.Finish().ok());
}

TEST(ServeStdioTest, EmptyInputIsCleanEof) {
  Recorder rec;
  Dispatcher d = MakeDispatcher(&rec);
  StdioServer server(d);
  std::string rest;
  EXPECT_TRUE(server.Finish(&rest).ok());
  EXPECT_EQ(rest, "");
}

TEST(ServeStdioTest, ClosedOutputIsAnErrorNotSigpipe) {
  Recorder rec;
  Dispatcher d = MakeDispatcher(&rec);
  StdioServer server(d);
  server.CloseOutput();
  server.Send(BashRequest(1) + "\n");
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (!server.done() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_TRUE(server.done()) << "ServeStdio did not stop on a closed stdout";
  const absl::Status status = server.Finish();
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("write"));
  // No SIGPIPE is left pending for the process either.
  sigset_t pending;
  sigpending(&pending);
  EXPECT_EQ(sigismember(&pending, SIGPIPE), 0);
}

TEST(ServeStdioTest, NonBlockingDescriptorsWork) {
  Recorder rec;
  Dispatcher d = MakeDispatcher(&rec);
  absl::StatusOr<Pipe> in = MakePipe(O_NONBLOCK);
  absl::StatusOr<Pipe> out = MakePipe(O_NONBLOCK);
  ASSERT_TRUE(in.ok() && out.ok());
  absl::Status status;
  std::thread t([&] { status = ServeStdio(d, in->read.get(), out->write.get()); });
  absl::SleepFor(absl::Milliseconds(20));  // the server is now waiting in poll()
  const std::string request = BashRequest(1) + "\n";
  ASSERT_EQ(::write(in->write.get(), request.data(), request.size()),
            static_cast<ssize_t>(request.size()));
  in->write.reset();
  t.join();
  EXPECT_TRUE(status.ok()) << status;
  char buf[4096];
  const ssize_t n = ::read(out->read.get(), buf, sizeof(buf));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, n), BashReply(1) + "\n");
}

}  // namespace
}  // namespace sagewai::stdio
