// Test support for the stdio protocol's tests: a dispatcher with fake tools
// ("bash" answers by its command, "broken" cannot run, "throws" throws) and
// the request line of an `exec` call.
#ifndef SAGEWAI_TOOL_RUNNER_STDIO_STDIO_TEST_TOOLS_H_
#define SAGEWAI_TOOL_RUNNER_STDIO_STDIO_TEST_TOOLS_H_

#include <stdexcept>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/json_reader.h"
#include "tool-runner/stdio/stdio_protocol.h"

namespace sagewai::stdio {

// Remembers what the last call received.
struct Recorder {
  absl::Mutex mu;
  json::Value args;
  absl::Duration timeout;
  int calls = 0;
};

inline Dispatcher MakeDispatcher(Recorder* recorder, DispatcherOptions options = {}) {
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

inline std::string Exec(absl::string_view id, absl::string_view params) {
  return absl::StrCat(R"({"jsonrpc":"2.0","id":)", id, R"(,"method":"exec","params":)", params,
                      "}");
}

}  // namespace sagewai::stdio

#endif  // SAGEWAI_TOOL_RUNNER_STDIO_STDIO_TEST_TOOLS_H_
