// Hand-written for exact int64 ids, strict limits on untrusted input and byte-exact replies.
#include "common/json_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/json_writer.h"
#include "common/utf8.h"

namespace sagewai::json {

// ---- Parser ----

static void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

static bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Recursive descent over the input; each method leaves pos_ after what it
// consumed, or returns an error naming the byte offset.
class Parser {
 public:
  Parser(absl::string_view text, int max_depth, bool reject_duplicate_keys)
      : text_(text), max_depth_(max_depth), reject_duplicate_keys_(reject_duplicate_keys) {}

  absl::StatusOr<Value> ParseDocument() {
    SkipWhitespace();
    Value value;
    if (absl::Status s = ParseValue(value, 0); !s.ok()) return s;
    SkipWhitespace();
    if (pos_ != text_.size()) return Error("expected the end of input after the JSON value");
    return value;
  }

 private:
  absl::Status ParseValue(Value& out, int depth) {
    if (pos_ >= text_.size()) return Error("expected a JSON value");
    switch (text_[pos_]) {
      case '{':
        return ParseObject(out, depth + 1);
      case '[':
        return ParseArray(out, depth + 1);
      case '"': {
        std::string s;
        if (absl::Status st = ParseString(s); !st.ok()) return st;
        out = Value(std::move(s));
        return absl::OkStatus();
      }
      case 't':
        return ParseLiteral("true", Value(true), out);
      case 'f':
        return ParseLiteral("false", Value(false), out);
      case 'n':
        return ParseLiteral("null", Value(), out);
      default:
        if (text_[pos_] == '-' || IsDigit(text_[pos_])) return ParseNumber(out);
        return Error("expected a JSON value (object, array, string, number, true, false or null)");
    }
  }

  absl::Status ParseLiteral(absl::string_view word, Value value, Value& out) {
    if (text_.substr(pos_, word.size()) != word) {
      return Error(absl::StrCat("expected '", word, "'"));
    }
    pos_ += word.size();
    out = std::move(value);
    return absl::OkStatus();
  }

  absl::Status ParseObject(Value& out, int depth) {
    if (depth > max_depth_) return DepthError();
    ++pos_;  // '{'
    Object object;
    SkipWhitespace();
    if (Peek() == '}') {
      ++pos_;
      out = Value(std::move(object));
      return absl::OkStatus();
    }
    while (true) {
      if (Peek() != '"') return Error("expected a string as object key");
      const size_t key_pos = pos_;
      std::string key;
      if (absl::Status s = ParseString(key); !s.ok()) return s;
      if (reject_duplicate_keys_ && object.Find(key) != nullptr) {
        pos_ = key_pos;
        return Error(absl::StrCat("duplicate object key ", Quote(key)));
      }
      SkipWhitespace();
      if (Peek() != ':') return Error("expected ':' after an object key");
      ++pos_;
      SkipWhitespace();
      Value member;
      if (absl::Status s = ParseValue(member, depth); !s.ok()) return s;
      object.Set(std::move(key), std::move(member));
      SkipWhitespace();
      const char c = Peek();
      ++pos_;
      if (c == '}') break;
      if (c != ',') {
        --pos_;
        return Error("expected ',' or '}' after an object member");
      }
      SkipWhitespace();
    }
    out = Value(std::move(object));
    return absl::OkStatus();
  }

  absl::Status ParseArray(Value& out, int depth) {
    if (depth > max_depth_) return DepthError();
    ++pos_;  // '['
    Array array;
    SkipWhitespace();
    if (Peek() == ']') {
      ++pos_;
      out = Value(std::move(array));
      return absl::OkStatus();
    }
    while (true) {
      Value element;
      if (absl::Status s = ParseValue(element, depth); !s.ok()) return s;
      array.push_back(std::move(element));
      SkipWhitespace();
      const char c = Peek();
      ++pos_;
      if (c == ']') break;
      if (c != ',') {
        --pos_;
        return Error("expected ',' or ']' after an array element");
      }
      SkipWhitespace();
    }
    out = Value(std::move(array));
    return absl::OkStatus();
  }

  // At the opening quote; appends the decoded string to `out`.
  absl::Status ParseString(std::string& out) {
    const size_t start = pos_;
    ++pos_;
    while (true) {
      // Copy runs of plain printable ASCII at once.
      size_t run = pos_;
      while (run < text_.size()) {
        const unsigned char c = static_cast<unsigned char>(text_[run]);
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
        ++run;
      }
      out.append(text_.data() + pos_, run - pos_);
      pos_ = run;
      if (pos_ >= text_.size()) {
        return Error(absl::StrCat("unterminated string starting at byte ", start,
                                  " (expected a closing '\"')"));
      }
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (c == '\\') {
        if (absl::Status s = ParseEscape(out); !s.ok()) return s;
      } else if (c < 0x20) {
        return Error("raw control character in string (expected it escaped, e.g. \\n or \\u00XX)");
      } else {
        const size_t len = utf8::SequenceLength(std::string_view(text_.data(), text_.size()), pos_);
        if (len == 0) return Error("invalid UTF-8 in string");
        out.append(text_.data() + pos_, len);
        pos_ += len;
      }
    }
  }

  // At a backslash inside a string.
  absl::Status ParseEscape(std::string& out) {
    ++pos_;
    if (pos_ >= text_.size()) return Error("expected an escape character after '\\'");
    const char c = text_[pos_];
    if (c == 'u') return ParseUnicodeEscape(out);
    const auto* e = std::find_if(std::begin(kShortEscapes), std::end(kShortEscapes),
                                 [c](const ShortEscape& e) { return e.letter == c; });
    if (e == std::end(kShortEscapes)) {
      return Error("invalid escape (expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
    }
    out.push_back(e->byte);
    ++pos_;
    return absl::OkStatus();
  }

  // At the 'u' of \uXXXX; a high surrogate must be followed by \u and a low one.
  absl::Status ParseUnicodeEscape(std::string& out) {
    const size_t escape_start = pos_ - 1;
    ++pos_;
    uint32_t cp;
    if (absl::Status s = ParseHex4(cp); !s.ok()) return s;
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
      pos_ = escape_start;
      return Error("unpaired low surrogate in \\u escape");
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (text_.substr(pos_, 2) != "\\u") {
        pos_ = escape_start;
        return Error("unpaired high surrogate (expected a \\uDC00-\\uDFFF escape to follow)");
      }
      pos_ += 2;
      uint32_t low;
      if (absl::Status s = ParseHex4(low); !s.ok()) return s;
      if (low < 0xDC00 || low > 0xDFFF) {
        pos_ = escape_start;
        return Error("unpaired high surrogate (expected a \\uDC00-\\uDFFF escape to follow)");
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    AppendUtf8(out, cp);
    return absl::OkStatus();
  }

  absl::Status ParseHex4(uint32_t& cp) {
    cp = 0;
    for (int k = 0; k < 4; ++k, ++pos_) {
      if (pos_ >= text_.size()) return Error("expected 4 hex digits in \\u escape");
      const char c = text_[pos_];
      uint32_t digit;
      if (c >= '0' && c <= '9') {
        digit = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        digit = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        digit = c - 'A' + 10;
      } else {
        return Error("expected 4 hex digits in \\u escape");
      }
      cp = (cp << 4) | digit;
    }
    return absl::OkStatus();
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  absl::Status ParseNumber(Value& out) {
    const size_t start = pos_;
    bool integer = true;
    if (Peek() == '-') ++pos_;
    if (!IsDigit(Peek())) return Error("expected a digit");
    if (Peek() == '0') {
      ++pos_;
      if (IsDigit(Peek())) return Error("leading zeros are not allowed in numbers");
    } else {
      SkipDigits();
    }
    if (Peek() == '.') {
      integer = false;
      ++pos_;
      if (!IsDigit(Peek())) return Error("expected a digit after the decimal point");
      SkipDigits();
    }
    if (Peek() == 'e' || Peek() == 'E') {
      integer = false;
      ++pos_;
      if (Peek() == '+' || Peek() == '-') ++pos_;
      if (!IsDigit(Peek())) return Error("expected a digit in the exponent");
      SkipDigits();
    }
    const absl::string_view literal = text_.substr(start, pos_ - start);
    if (integer) {
      int64_t i;
      if (absl::SimpleAtoi(literal, &i)) {
        out = Value(i);
        return absl::OkStatus();
      }
    }
    double d;
    if (!absl::SimpleAtod(literal, &d) || !std::isfinite(d)) {
      pos_ = start;
      return Error("number out of range (beyond what a double can hold)");
    }
    out = Value::FromDecimal(d, std::string(literal));
    return absl::OkStatus();
  }

  void SkipDigits() {
    while (IsDigit(Peek())) ++pos_;
  }

  void SkipWhitespace() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
      ++pos_;
    }
  }

  // The byte at pos_, or NUL at the end (NUL is never valid where Peek is used).
  char Peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }

  absl::Status DepthError() {
    return Error(absl::StrCat("nesting deeper than ", max_depth_, " levels"));
  }

  absl::Status Error(absl::string_view what) const {
    std::string found;
    if (pos_ >= text_.size()) {
      found = "end of input";
    } else {
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c >= 0x20 && c < 0x7F) {
        found = absl::StrFormat("'%c'", c);
      } else {
        found = absl::StrFormat("byte 0x%02X", c);
      }
    }
    return absl::InvalidArgumentError(
        absl::StrCat("invalid JSON at byte ", pos_, ": ", what, ", found ", found));
  }

  absl::string_view text_;
  int max_depth_;
  bool reject_duplicate_keys_;
  size_t pos_ = 0;
};

absl::StatusOr<Value> Parse(absl::string_view text, const ParseOptions& options) {
  if (text.size() > options.max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "JSON input is ", text.size(), " bytes, over the limit of ", options.max_bytes, " bytes"));
  }
  const int depth = std::max(0, std::min(options.max_depth, kMaxSupportedDepth));
  return Parser(text, depth, options.reject_duplicate_keys).ParseDocument();
}

}  // namespace sagewai::json
