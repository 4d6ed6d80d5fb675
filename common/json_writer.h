// JSON output: the one place that spells JSON tokens (strings, integers,
// booleans, null), a flat object builder on top, and json::Serialize
// (json_value.h) for whole values. Output is always valid UTF-8 JSON:
// invalid UTF-8 in input strings becomes U+FFFD.
#ifndef SAGEWAI_COMMON_JSON_WRITER_H_
#define SAGEWAI_COMMON_JSON_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace sagewai::json {

// JSON's two-character escapes (RFC 8259, section 7): the letter after the
// backslash and the byte it stands for. The writer's and the reader's one
// table; the writer never escapes '/'.
struct ShortEscape {
  char letter;
  char byte;
};
inline constexpr ShortEscape kShortEscapes[] = {{'"', '"'},  {'\\', '\\'}, {'/', '/'},
                                                {'b', '\b'}, {'f', '\f'},  {'n', '\n'},
                                                {'r', '\r'}, {'t', '\t'}};

// Appends `s` as a quoted JSON string to `out`.
void AppendString(std::string& out, std::string_view s);
std::string Quote(std::string_view s);

void AppendInt(std::string& out, int64_t value);
void AppendUint(std::string& out, uint64_t value);
void AppendBool(std::string& out, bool value);
void AppendNull(std::string& out);

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
