// The CodeEval driver's event stream (tool-runner/code_eval/code_eval_protocol):
// what an interpreter writes on its event fd is untrusted (the user's code
// runs in it). The first byte picks the line cap and the read size; the rest
// is the stream. Fed in pieces, the splitter must yield exactly the lines
// (or overflows) of the whole stream, never hold more than the cap, and
// every line must parse to a well-formed event or an INVALID_ARGUMENT.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "tests/fuzz/fuzz_check.h"
#include "tool-runner/code_eval/code_eval_protocol.h"

namespace code_eval = ::sagewai::code_eval;

namespace {

// A line as "L<bytes>", an overflow as "O<count>".
using Pieces = std::vector<std::string>;

void CheckEvent(absl::string_view line) {
  auto event = code_eval::ParseDriverEvent(line);
  if (!event.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(event.status()), "bad error code: %s",
               event.status().ToString().c_str());
    return;
  }
  if (event->kind == code_eval::DriverEvent::Kind::kDone && event->error.has_value()) {
    FUZZ_CHECK(!event->error->name.empty(), "an error without a name");
  }
  if (event->kind != code_eval::DriverEvent::Kind::kDisplay) {
    FUZZ_CHECK(event->data.empty() && !event->is_result, "display fields on another event");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t max_line = 1 + data[0] % 64 * 4;
  const size_t chunk = 1 + data[0] / 64 * 5;
  const absl::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  Pieces expected;
  std::vector<absl::string_view> lines = absl::StrSplit(stream, '\n');
  lines.pop_back();  // the part after the last newline is not a line yet
  for (absl::string_view line : lines) {
    expected.push_back(line.size() > max_line ? "O" + std::to_string(line.size())
                                              : "L" + std::string(line));
  }

  code_eval::LineSplitter splitter(max_line);
  Pieces got;
  for (size_t at = 0; at < stream.size(); at += chunk) {
    splitter.Feed(
        stream.substr(at, chunk),
        [&](absl::string_view line) {
          FUZZ_CHECK(line.size() <= max_line, "a line over the cap");
          got.push_back("L" + std::string(line));
          CheckEvent(line);
        },
        [&](size_t dropped) { got.push_back("O" + std::to_string(dropped)); });
    FUZZ_CHECK(splitter.buffered() <= max_line, "holds %zu bytes over a cap of %zu",
               splitter.buffered(), max_line);
  }
  FUZZ_CHECK(got == expected, "pieces differ from the whole stream's lines (%zu vs %zu)",
             got.size(), expected.size());

  // The request framing the driver reads back with `read`.
  const std::string request = code_eval::EncodeRequest("eval", size, stream);
  const size_t header_end = request.find('\n');
  FUZZ_CHECK(request.substr(0, header_end) ==
                     "eval " + std::to_string(size) + " " + std::to_string(stream.size()) &&
                 request.substr(header_end + 1) == stream,
             "bad request framing");
  return 0;
}
