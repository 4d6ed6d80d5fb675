#include "common/json_writer.h"

#include <utility>

#include "common/utf8.h"

namespace sagewai::json {

void AppendString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t len = utf8::SequenceLength(s, i);
      if (len == 0) {
        out.append("\xEF\xBF\xBD");
        ++i;
      } else {
        out.append(s.substr(i, len));
        i += len;
      }
      continue;
    }
    ++i;
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    bool escaped = false;
    for (const ShortEscape& e : kShortEscapes) {
      if (e.letter != '/' && static_cast<unsigned char>(e.byte) == c) {
        out.push_back('\\');
        out.push_back(e.letter);
        escaped = true;
        break;
      }
    }
    if (!escaped) {
      out.append("\\u00");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  out.push_back('"');
}

std::string Quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  AppendString(out, s);
  return out;
}

void AppendInt(std::string& out, int64_t value) { out.append(std::to_string(value)); }

void AppendUint(std::string& out, uint64_t value) { out.append(std::to_string(value)); }

void AppendBool(std::string& out, bool value) { out.append(value ? "true" : "false"); }

void AppendNull(std::string& out) { out.append("null"); }

void ObjectWriter::Key(std::string_view key) {
  if (out_.size() > 1) out_.push_back(',');
  AppendString(out_, key);
  out_.push_back(':');
}

ObjectWriter& ObjectWriter::String(std::string_view key, std::string_view value) {
  Key(key);
  AppendString(out_, value);
  return *this;
}

ObjectWriter& ObjectWriter::Int(std::string_view key, int64_t value) {
  Key(key);
  AppendInt(out_, value);
  return *this;
}

ObjectWriter& ObjectWriter::Uint(std::string_view key, uint64_t value) {
  Key(key);
  AppendUint(out_, value);
  return *this;
}

ObjectWriter& ObjectWriter::Bool(std::string_view key, bool value) {
  Key(key);
  AppendBool(out_, value);
  return *this;
}

ObjectWriter& ObjectWriter::Null(std::string_view key) {
  Key(key);
  AppendNull(out_);
  return *this;
}

ObjectWriter& ObjectWriter::Raw(std::string_view key, std::string_view json) {
  Key(key);
  out_.append(json);
  return *this;
}

std::string ObjectWriter::Finish() {
  out_.push_back('}');
  return std::exchange(out_, "{");
}

}  // namespace sagewai::json
