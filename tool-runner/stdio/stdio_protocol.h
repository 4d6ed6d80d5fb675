// The JSON-RPC 2.0 stdio protocol of the existing Sagewai worker: one request
// per line in, one response line out.
//
// Request:  {"jsonrpc":"2.0","id":7,"method":"exec","params":{"tool":"bash",
//            "args":{"command":"echo hi"},"call_id":"c1","timeout_s":60}}
// Response: {"jsonrpc":"2.0","id":7,"result":{"call_id":"c1","ok":true,
//            "exit_code":0,"stdout":"hi\n","stderr":"","duration_ms":3,"error":null}}
//       or: {"jsonrpc":"2.0","id":7,"error":{"code":-32602,"message":"..."}}
//
// Rules beyond JSON-RPC 2.0 itself:
// - `id` may be an integer, a string, any other number or null, and is echoed
//   exactly as written (12345678901234567890 stays that integer). When the id
//   cannot be known — a parse error, an over-long line, a request that is not
//   an object or whose id is an object/array/boolean — the reply carries id 0
//   (JSON-RPC would say null; the worker's contract says 0).
// - A request object without an `id` member is a notification: it is run, and
//   no line is written for it, not even for an unknown method or bad params
//   (those are logged). Invalid requests (bad `jsonrpc`, no string `method`)
//   are always answered, with id 0 when there is none.
// - A key repeated in any object of the request is -32600 (invalid request),
//   with the id when the request has one.
// - `jsonrpc` may be absent; when present it must be "2.0". Batches (arrays)
//   are refused with -32600.
// - params: `tool` (string, required), `args` (object; absent means {}),
//   `call_id` (string or null; absent → null, echoed), `timeout_s` (number > 0;
//   absent or null → DispatcherOptions::default_timeout; larger than
//   max_timeout → max_timeout).
// - Empty and whitespace-only lines are ignored; one trailing '\r' is dropped.
#ifndef SAGEWAI_TOOL_RUNNER_STDIO_STDIO_PROTOCOL_H_
#define SAGEWAI_TOOL_RUNNER_STDIO_STDIO_PROTOCOL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/json_reader.h"

namespace sagewai::stdio {

// JSON-RPC 2.0 error codes.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;  // a handler threw an exception

// What a tool call produced: a normal result even when the tool failed.
struct ToolResult {
  std::optional<int> exit_code;  // nullopt when there is none (timeout, killed, spawn failure)
  std::string stdout_data;       // raw bytes; invalid UTF-8 is replaced in the reply
  std::string stderr_data;
  // Why the call did not complete normally; must contain "timeout" on timeout.
  std::optional<std::string> error;
  int64_t duration_ms = 0;
};

// A tool's handler; `args` is the params.args object, `timeout` the call's
// deadline (already capped). Bad args → absl::InvalidArgumentError (→ -32602).
// Any other error status means the tool could not be run: the reply is still a
// result, with ok:false, exit_code:null and error:"could not run tool ...: <message>".
using ToolHandler =
    std::function<absl::StatusOr<ToolResult>(const json::Value& args, absl::Duration timeout)>;

struct DispatcherOptions {
  absl::Duration default_timeout = absl::Seconds(60);
  // Larger timeout_s values are lowered to this.
  absl::Duration max_timeout = absl::Hours(1);
  // Longer request lines get a -32700 parse error.
  size_t max_request_bytes = size_t{16} << 20;
};

// Turns request lines into response lines. Register all tools first; after
// that HandleLine may be called from several threads at once (handlers must
// then be thread-safe themselves).
class Dispatcher {
 public:
  explicit Dispatcher(DispatcherOptions options = {});

  // Adds a tool ("bash", "code_eval", "fs.read", ...); a second handler for
  // the same name replaces the first.
  void Register(std::string tool, ToolHandler handler);
  // Registered tool names, sorted.
  std::vector<std::string> Tools() const;

  // One request line in (without the newline), one response line out
  // (without newline), or nullopt for a notification or a blank line.
  // Runs the tool synchronously.
  std::optional<std::string> HandleLine(absl::string_view line) const;

 private:
  std::string Exec(const json::Value& id, const json::Value& params) const;

  DispatcherOptions options_;
  absl::flat_hash_map<std::string, ToolHandler> tools_;
};

// {"jsonrpc":"2.0","id":<id>,"error":{"code":<code>,"message":<message>}}
std::string ErrorResponse(const json::Value& id, int code, absl::string_view message);
// {"jsonrpc":"2.0","id":<id>,"result":{"call_id":...,"ok":...,...}}; ok is
// exit_code == 0 and no error.
std::string ResultResponse(const json::Value& id, const json::Value& call_id,
                           const ToolResult& result);

struct StdioOptions {
  // A line longer than this (bytes before its '\n') is dropped as it is read,
  // never buffered whole, and answered with -32700 and id 0.
  size_t max_line_bytes = size_t{16} << 20;
  size_t read_chunk_bytes = size_t{64} << 10;
};

// Reads lines from in_fd, writes responses to out_fd (each with '\n', written
// fully, immediately — before the next line is read), until EOF; a last line
// without '\n' is handled too. Returns OK on EOF; an error when out_fd breaks
// (EPIPE is returned, never raised as SIGPIPE) or in_fd cannot be read.
absl::Status ServeStdio(const Dispatcher& dispatcher, int in_fd, int out_fd,
                        const StdioOptions& options = {});

}  // namespace sagewai::stdio

#endif  // SAGEWAI_TOOL_RUNNER_STDIO_STDIO_PROTOCOL_H_
