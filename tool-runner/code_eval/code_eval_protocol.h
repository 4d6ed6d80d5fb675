// The control protocol between the runner and the driver program inside an
// interpreter (tool-runner/drivers/). The driver's fds 1 and 2 stay plain
// output pipes; requests go to its fd 3 and events come back on its fd 4.
//
// Request (runner -> driver):  "<op> <seq> <nbytes>\n" + nbytes of payload.
//   The only op is "eval" (payload: the source code); bash can read this
//   framing with `read` alone.
// Event (driver -> runner): one JSON object per line.
//   {"ev":"ready","language":"python","version":"3.11.2","pid":123}
//   {"ev":"display","seq":N,"data":{mime:text},"b64":[mimes],"result":bool}
//       MIME types listed in "b64" carry base64 text, decoded here to bytes.
//   {"ev":"done","seq":N,"error":null|{"name":..,"message":..,"traceback":..},
//    "dead":true (optional: the code is ending the interpreter)}
#ifndef SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_PROTOCOL_H_
#define SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_PROTOCOL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sagewai::code_eval {

std::string EncodeRequest(absl::string_view op, uint64_t seq, absl::string_view payload);

struct ErrorInfo {
  std::string name;
  std::string message;
  std::string traceback;
};

struct DriverEvent {
  enum class Kind { kReady, kDisplay, kDone };
  Kind kind = Kind::kDone;
  uint64_t seq = 0;
  // kReady
  std::string language;
  std::string version;
  // kDisplay: MIME type -> bytes (base64 already decoded).
  std::map<std::string, std::string> data;
  bool is_result = false;
  // kDone: set when the code raised.
  std::optional<ErrorInfo> error;
  // kDone: the code ended the interpreter (bash `exit`, node process.exit);
  // the driver is going away.
  bool dead = false;
};

// INVALID_ARGUMENT for anything that is not one of the events above.
absl::StatusOr<DriverEvent> ParseDriverEvent(absl::string_view line);

// Splits a byte stream into lines while holding at most `max_line` bytes: a
// longer line is dropped as it arrives and reported as one overflow.
class LineSplitter {
 public:
  explicit LineSplitter(size_t max_line) : max_line_(max_line) {}

  // Calls on_line for each complete line (without '\n') and on_overflow
  // once per dropped line.
  void Feed(absl::string_view data, const std::function<void(absl::string_view)>& on_line,
            const std::function<void(size_t dropped_bytes)>& on_overflow);

  size_t buffered() const { return partial_.size(); }

 private:
  size_t max_line_;
  std::string partial_;
  bool discarding_ = false;
  size_t discarded_ = 0;
};

}  // namespace sagewai::code_eval

#endif  // SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_PROTOCOL_H_
