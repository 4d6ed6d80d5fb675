// ServeStdio over pipes: one reply per line, written before the next line is
// read, line limits, EOF and a closed output.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "tool-runner/stdio/stdio_protocol.h"
#include "tool-runner/stdio/stdio_test_tools.h"

namespace sagewai::stdio {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

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
