// A strict RFC 8259 JSON parser into the DOM of json_value.h (Value, Object,
// Serialize), which callers get with this header.
//
// Strict means: exactly one value surrounded by optional JSON whitespace; no
// comments, trailing commas, NaN/Infinity, leading zeros, single quotes or
// byte order mark; strings must be valid UTF-8 without raw control
// characters, and \u escapes must pair their surrogates. Inputs over
// ParseOptions::max_bytes and nesting deeper than max_depth are refused
// before they can cost memory or stack.
#ifndef SAGEWAI_COMMON_JSON_READER_H_
#define SAGEWAI_COMMON_JSON_READER_H_

#include <cstddef>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/json_value.h"

namespace sagewai::json {

struct ParseOptions {
  // Longer inputs are refused without being looked at.
  size_t max_bytes = size_t{64} << 20;
  // Arrays and objects nested deeper are refused: `[[1]]` has depth 2, a
  // scalar depth 0. Values above kMaxSupportedDepth are lowered to it.
  int max_depth = 128;
  // An object naming a key twice is refused ("duplicate object key \"k\"")
  // instead of keeping the last value: readers of one document must not
  // disagree on what it says.
  bool reject_duplicate_keys = false;
};

// The parser recurses once per nesting level; this bounds its stack use.
inline constexpr int kMaxSupportedDepth = 512;

// Parses exactly one JSON value. Errors are InvalidArgument with the byte
// offset and what was expected, e.g.
// "invalid JSON at byte 7: expected ',' or '}' after an object member, found 'x'".
absl::StatusOr<Value> Parse(absl::string_view text, const ParseOptions& options = {});

}  // namespace sagewai::json

#endif  // SAGEWAI_COMMON_JSON_READER_H_
