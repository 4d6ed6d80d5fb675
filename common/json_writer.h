// Minimal JSON output: string escaping and a flat object builder. Output is
// always valid UTF-8 JSON: invalid UTF-8 in input strings becomes U+FFFD.
#ifndef SAGEWAI_COMMON_JSON_WRITER_H_
#define SAGEWAI_COMMON_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace sagewai::json {

// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0:
// truncated, overlong, a surrogate, or above U+10FFFF.
size_t Utf8SequenceLength(std::string_view s, size_t i);

// Appends `s` as a quoted JSON string to `out`.
void AppendString(std::string& out, std::string_view s);
std::string Quote(std::string_view s);

// Builds `{"k":v,...}` in insertion order. Values added with Raw() must
// already be JSON.
class ObjectWriter {
 public:
  ObjectWriter& String(std::string_view key, std::string_view value);
  ObjectWriter& Int(std::string_view key, int64_t value);
  ObjectWriter& Uint(std::string_view key, uint64_t value);
  ObjectWriter& Bool(std::string_view key, bool value);
  ObjectWriter& Null(std::string_view key);
  ObjectWriter& Raw(std::string_view key, std::string_view json);
  // Closes the object and returns it; the writer is then empty.
  std::string Finish();

 private:
  void Key(std::string_view key);
  std::string out_ = "{";
};

}  // namespace sagewai::json

#endif  // SAGEWAI_COMMON_JSON_WRITER_H_
