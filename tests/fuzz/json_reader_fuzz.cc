// The strict JSON reader (common/json_reader): any bytes in. What it accepts
// must serialize to JSON that parses back to the same value, and serializing
// that again gives the same text; a lower depth limit never accepts what
// the default refuses.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "common/json_reader.h"
#include "tests/fuzz/fuzz_check.h"

namespace json = ::sagewai::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<json::Value> value = json::Parse(text);

  json::ParseOptions shallow;
  shallow.max_depth = size == 0 ? 0 : data[0] % 8;
  absl::StatusOr<json::Value> shallow_value = json::Parse(text, shallow);
  FUZZ_CHECK(!shallow_value.ok() || value.ok(), "depth %d accepted what the default refused: %s",
             shallow.max_depth, std::string(value.status().message()).c_str());
  if (!value.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(value.status()), "unexpected code: %s",
               value.status().ToString().c_str());
    return 0;
  }
  FUZZ_CHECK(!shallow_value.ok() || *shallow_value == *value, "the two parses differ");

  const std::string once = json::Serialize(*value);
  absl::StatusOr<json::Value> again = json::Parse(once);
  FUZZ_CHECK(again.ok(), "own output refused: %s\n  output: %s",
             std::string(again.status().message()).c_str(), once.c_str());
  FUZZ_CHECK(*again == *value, "round trip changed the value: %s", once.c_str());
  const std::string twice = json::Serialize(*again);
  FUZZ_CHECK(twice == once, "serialization not stable:\n  %s\n  %s", once.c_str(), twice.c_str());
  return 0;
}
