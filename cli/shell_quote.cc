#include "cli/shell_quote.h"

#include <array>
#include <string_view>

namespace sagewai::cli {
namespace {

bool IsSafeChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '_':
    case '@':
    case '%':
    case '+':
    case '=':
    case ':':
    case ',':
    case '.':
    case '/':
    case '-':
      return true;
    default:
      return false;
  }
}

bool IsReservedWord(std::string_view word) {
  static constexpr std::array<std::string_view, 22> kReserved = {
      "if", "then", "else", "elif",     "fi",   "case",   "esac", "for", "select", "while", "until",
      "do", "done", "in",   "function", "time", "coproc", "{",    "}",   "!",      "[[",    "]]"};
  for (std::string_view reserved : kReserved) {
    if (word == reserved) return true;
  }
  return false;
}

std::string SingleQuote(const std::string& word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

}  // namespace

std::string ShellQuote(const std::string& word) {
  if (word.empty()) return "''";
  for (char c : word) {
    if (!IsSafeChar(c)) return SingleQuote(word);
  }
  return word;
}

std::string JoinCommand(const std::vector<std::string>& words) {
  if (words.size() == 1) return words[0];
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += ' ';
    const std::string& word = words[i];
    if (i == 0 && (word.find('=') != std::string::npos || IsReservedWord(word))) {
      out += SingleQuote(word);
    } else {
      out += ShellQuote(word);
    }
  }
  return out;
}

}  // namespace sagewai::cli
