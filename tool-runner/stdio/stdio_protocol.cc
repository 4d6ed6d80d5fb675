#include "tool-runner/stdio/stdio_protocol.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errno_status.h"
#include "common/fd_io.h"
#include "common/json_writer.h"
#include "common/log.h"

namespace sagewai::stdio {
namespace {

std::string_view Std(absl::string_view s) { return std::string_view(s.data(), s.size()); }

// An error reply, logged on stderr (requests never carry secrets in what is
// logged here: only codes and our own messages).
std::string Reject(const json::Value& id, int code, absl::string_view message) {
  log::Warn("request rejected", {{"code", code}, {"error", Std(message)}});
  return ErrorResponse(id, code, message);
}

bool IsBlank(absl::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; });
}

int64_t MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

}  // namespace

std::string ErrorResponse(const json::Value& id, int code, absl::string_view message) {
  json::ObjectWriter error;
  error.Int("code", code).String("message", Std(message));
  json::ObjectWriter response;
  response.String("jsonrpc", "2.0").Raw("id", json::Serialize(id)).Raw("error", error.Finish());
  return response.Finish();
}

std::string ResultResponse(const json::Value& id, const json::Value& call_id,
                           const ToolResult& result) {
  json::ObjectWriter r;
  r.Raw("call_id", json::Serialize(call_id))
      .Bool("ok", result.exit_code == 0 && !result.error.has_value());
  if (result.exit_code.has_value()) {
    r.Int("exit_code", *result.exit_code);
  } else {
    r.Null("exit_code");
  }
  r.String("stdout", result.stdout_data)
      .String("stderr", result.stderr_data)
      .Int("duration_ms", result.duration_ms);
  if (result.error.has_value()) {
    r.String("error", *result.error);
  } else {
    r.Null("error");
  }
  json::ObjectWriter response;
  response.String("jsonrpc", "2.0").Raw("id", json::Serialize(id)).Raw("result", r.Finish());
  return response.Finish();
}

Dispatcher::Dispatcher(DispatcherOptions options) : options_(std::move(options)) {}

void Dispatcher::Register(std::string tool, ToolHandler handler) {
  tools_[std::move(tool)] = std::move(handler);
}

std::vector<std::string> Dispatcher::Tools() const {
  std::vector<std::string> names;
  for (const auto& [name, handler] : tools_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::string> Dispatcher::HandleLine(absl::string_view line) const {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (IsBlank(line)) return std::nullopt;

  const json::Value unknown_id(0);
  json::ParseOptions parse_options;
  parse_options.max_bytes = options_.max_request_bytes;
  parse_options.reject_duplicate_keys = true;
  absl::StatusOr<json::Value> request = json::Parse(line, parse_options);
  if (!request.ok()) {
    // Valid JSON but for a repeated key: an invalid request, answered with
    // the id a last-wins reader would see.
    parse_options.reject_duplicate_keys = false;
    absl::StatusOr<json::Value> lenient = json::Parse(line, parse_options);
    if (lenient.ok()) {
      const json::Value* id = lenient->is_object() ? lenient->Find("id") : nullptr;
      const bool id_known = id != nullptr && (id->is_number() || id->is_string());
      return Reject(
          id_known ? *id : unknown_id, kInvalidRequest,
          absl::StrCat("Invalid Request: ", request.status().message(), "; name each key once"));
    }
    return Reject(unknown_id, kParseError,
                  absl::StrCat("Parse error: ", request.status().message(),
                               "; send one JSON object per line"));
  }
  if (request->is_array()) {
    return Reject(unknown_id, kInvalidRequest,
                  "Invalid Request: batch requests (arrays) are not supported; send one "
                  "request object per line");
  }
  if (!request->is_object()) {
    return Reject(unknown_id, kInvalidRequest,
                  absl::StrCat("Invalid Request: expected a JSON object, got ",
                               json::TypeName(request->type())));
  }

  const json::Value* id = request->Find("id");
  const bool notification = id == nullptr;
  if (id != nullptr && !id->is_null() && !id->is_number() && !id->is_string()) {
    return Reject(unknown_id, kInvalidRequest,
                  absl::StrCat("Invalid Request: id must be an integer, a string or null, got ",
                               json::TypeName(id->type())));
  }
  if (notification) id = &unknown_id;

  if (const json::Value* version = request->Find("jsonrpc");
      version != nullptr && version->AsString() != "2.0") {
    return Reject(*id, kInvalidRequest, "Invalid Request: jsonrpc must be \"2.0\" when present");
  }
  const json::Value* method = request->Find("method");
  if (method == nullptr || !method->is_string()) {
    return Reject(*id, kInvalidRequest, "Invalid Request: method must be a string, e.g. \"exec\"");
  }

  std::string response;
  if (*method->AsString() != "exec") {
    response = Reject(*id, kMethodNotFound,
                      absl::StrCat("Method not found: ", json::Quote(Std(*method->AsString())),
                                   "; the only method is \"exec\""));
  } else {
    static const json::Value kNoParams;
    const json::Value* params = request->Find("params");
    response = Exec(*id, params != nullptr ? *params : kNoParams);
  }
  if (notification) return std::nullopt;
  return response;
}

std::string Dispatcher::Exec(const json::Value& id, const json::Value& params) const {
  auto invalid = [&](absl::string_view what) {
    return Reject(id, kInvalidParams, absl::StrCat("Invalid params: ", what));
  };
  if (!params.is_object()) {
    return invalid(
        absl::StrCat("params must be an object with tool, args, call_id, timeout_s; got ",
                     json::TypeName(params.type())));
  }

  const json::Value* tool_value = params.Find("tool");
  if (tool_value == nullptr || !tool_value->is_string()) {
    return invalid("params.tool must be a string naming the tool, e.g. \"bash\"");
  }
  const std::string tool(*tool_value->AsString());
  const auto handler = tools_.find(tool);
  if (handler == tools_.end()) {
    return invalid(absl::StrCat("unknown tool ", json::Quote(tool),
                                "; known tools: ", absl::StrJoin(Tools(), ", ")));
  }

  static const json::Value kEmptyArgs{json::Object{}};
  const json::Value* args = params.Find("args");
  if (args == nullptr) args = &kEmptyArgs;
  if (!args->is_object()) {
    return invalid(
        absl::StrCat("params.args must be an object, got ", json::TypeName(args->type())));
  }

  json::Value call_id;
  if (const json::Value* v = params.Find("call_id"); v != nullptr) {
    if (!v->is_string() && !v->is_null()) {
      return invalid(
          absl::StrCat("params.call_id must be a string or null, got ", json::TypeName(v->type())));
    }
    call_id = *v;
  }

  absl::Duration timeout = options_.default_timeout;
  if (const json::Value* v = params.Find("timeout_s"); v != nullptr && !v->is_null()) {
    const std::optional<double> seconds = v->AsDouble();
    if (!seconds.has_value() || !(*seconds > 0)) {
      return invalid(absl::StrCat("params.timeout_s must be a number of seconds above 0, got ",
                                  json::Serialize(*v)));
    }
    timeout = absl::Seconds(*seconds);
  }
  timeout = std::min(timeout, options_.max_timeout);

  log::Debug("tool call", {{"tool", tool},
                           {"call_id", std::string(call_id.AsString().value_or(""))},
                           {"timeout_ms", absl::ToInt64Milliseconds(timeout)}});
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ToolResult> result;
  try {
    result = handler->second(*args, timeout);
  } catch (const std::exception& e) {
    log::Error("tool handler threw", {{"tool", tool}, {"error", e.what()}});
    return ErrorResponse(id, kInternalError,
                         absl::StrCat("Internal error: tool ", json::Quote(tool),
                                      " failed unexpectedly: ", e.what()));
  } catch (...) {
    log::Error("tool handler threw", {{"tool", tool}});
    return ErrorResponse(
        id, kInternalError,
        absl::StrCat("Internal error: tool ", json::Quote(tool), " failed unexpectedly"));
  }

  if (!result.ok()) {
    if (absl::IsInvalidArgument(result.status())) {
      return invalid(absl::StrCat("tool ", json::Quote(tool), ": ", result.status().message()));
    }
    log::Warn("tool could not run", {{"tool", tool}, {"error", Std(result.status().message())}});
    ToolResult failed;
    failed.error =
        absl::StrCat("could not run tool ", json::Quote(tool), ": ", result.status().message());
    failed.duration_ms = MillisSince(start);
    return ResultResponse(id, call_id, failed);
  }
  log::Debug("tool call done", {{"tool", tool},
                                {"exit_code", int64_t{result->exit_code.value_or(-1)}},
                                {"duration_ms", result->duration_ms}});
  return ResultResponse(id, call_id, *result);
}

// ---- stdio transport ----

namespace {

// Waits until `fd` is ready for `events`; for descriptors set O_NONBLOCK by
// whoever handed them over.
void WaitReady(int fd, short events) {
  pollfd p{fd, events, 0};
  while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
  }
}

// write(2) until all of `data` is out, waiting when `fd` is non-blocking
// (common/fd_io's WriteAll fails there). SIGPIPE is blocked on this thread while
// writing and a SIGPIPE raised by our write is consumed, so a closed reader
// shows up as EPIPE instead of killing the process.
absl::Status WriteResponse(int fd, absl::string_view data) {
  sigset_t pipe_set, old_mask, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  sigpending(&pending);
  const bool already_pending = sigismember(&pending, SIGPIPE) == 1;

  absl::Status status;
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n >= 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      WaitReady(fd, POLLOUT);
      continue;
    }
    const int err = errno;
    if (err == EPIPE && !already_pending) {
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
    status = ErrnoStatus("write(response to stdout)", err);
    break;
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return status;
}

}  // namespace

absl::Status ServeStdio(const Dispatcher& dispatcher, int in_fd, int out_fd,
                        const StdioOptions& options) {
  auto reply = [&](absl::string_view line) -> absl::Status {
    std::optional<std::string> response = dispatcher.HandleLine(line);
    if (!response.has_value()) return absl::OkStatus();
    response->push_back('\n');
    return WriteResponse(out_fd, *response);
  };
  auto reply_overlong = [&]() -> absl::Status {
    std::string response = Reject(json::Value(0), kParseError,
                                  absl::StrCat("Parse error: request line longer than ",
                                               options.max_line_bytes, " bytes; it was discarded"));
    response.push_back('\n');
    return WriteResponse(out_fd, response);
  };

  std::string pending;      // the start of an unfinished line
  bool discarding = false;  // inside an over-long line, dropping bytes up to its '\n'
  std::string chunk(std::max<size_t>(options.read_chunk_bytes, 1), '\0');
  while (true) {
    const long n = ReadSome(in_fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        WaitReady(in_fd, POLLIN);
        continue;
      }
      return ErrnoStatus("read(requests from stdin)");
    }
    if (n == 0) break;

    absl::string_view data(chunk.data(), static_cast<size_t>(n));
    while (!data.empty()) {
      const size_t newline = data.find('\n');
      if (newline == absl::string_view::npos) {
        if (!discarding && pending.size() + data.size() > options.max_line_bytes) {
          pending.clear();
          pending.shrink_to_fit();
          discarding = true;
        }
        if (!discarding) pending.append(data.data(), data.size());
        break;
      }
      const absl::string_view tail = data.substr(0, newline);
      data.remove_prefix(newline + 1);
      absl::Status status;
      if (discarding || pending.size() + tail.size() > options.max_line_bytes) {
        discarding = false;
        pending.clear();
        status = reply_overlong();
      } else if (pending.empty()) {
        status = reply(tail);
      } else {
        pending.append(tail.data(), tail.size());
        status = reply(pending);
        pending.clear();
        if (pending.capacity() > options.read_chunk_bytes * 4) pending.shrink_to_fit();
      }
      if (!status.ok()) return status;
    }
  }

  if (discarding) return reply_overlong();
  if (!pending.empty()) return reply(pending);
  return absl::OkStatus();
}

}  // namespace sagewai::stdio
