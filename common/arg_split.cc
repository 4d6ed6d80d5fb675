#include "common/arg_split.h"

namespace sagewai {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\n'; }

// Inside double quotes a backslash only escapes these.
bool EscapableInDoubleQuotes(char c) {
  return c == '$' || c == '`' || c == '"' || c == '\\' || c == '\n';
}

}  // namespace

bool SplitShellWords(std::string_view text, std::vector<std::string>* words, std::string* error) {
  words->clear();
  std::string word;
  bool in_word = false;  // A quote pair alone makes a (possibly empty) word.
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    const char c = text[i];
    if (IsBlank(c)) {
      if (in_word) {
        words->push_back(std::move(word));
        word.clear();
        in_word = false;
      }
      ++i;
    } else if (c == '\\') {
      if (i + 1 >= n) {
        *error = "ends with a backslash that escapes nothing";
        return false;
      }
      if (text[i + 1] != '\n') {
        word.push_back(text[i + 1]);
        in_word = true;
      }
      i += 2;
    } else if (c == '\'') {
      const size_t close = text.find('\'', i + 1);
      if (close == std::string_view::npos) {
        *error = "unterminated single quote starting at offset " + std::to_string(i);
        return false;
      }
      word.append(text.substr(i + 1, close - i - 1));
      in_word = true;
      i = close + 1;
    } else if (c == '"') {
      const size_t open = i;
      ++i;
      bool closed = false;
      while (i < n) {
        const char d = text[i];
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        if (d == '\\' && i + 1 < n && EscapableInDoubleQuotes(text[i + 1])) {
          if (text[i + 1] != '\n') word.push_back(text[i + 1]);
          i += 2;
          continue;
        }
        word.push_back(d);
        ++i;
      }
      if (!closed) {
        *error = "unterminated double quote starting at offset " + std::to_string(open);
        return false;
      }
      in_word = true;
    } else {
      word.push_back(c);
      in_word = true;
      ++i;
    }
  }
  if (in_word) words->push_back(std::move(word));
  return true;
}

}  // namespace sagewai
