// Splits a command line held in an environment variable (AGENT_ARGS) into
// words the way a POSIX shell tokenizes them, without any expansion.
#ifndef SAGEWAI_COMMON_ARG_SPLIT_H_
#define SAGEWAI_COMMON_ARG_SPLIT_H_

#include <string>
#include <string_view>
#include <vector>

namespace sagewai {

// Words are separated by unquoted blanks (space, tab, newline). Honoured:
// single quotes (everything literal), double quotes (a backslash escapes only
// $ ` " \ and newline), and a backslash outside quotes (escapes the next
// character; backslash-newline is removed). Not done: $ and ` expansion,
// globbing, `~`, comments, operators (`|`, `;`, `#` are ordinary characters).
// `''` and `""` make an empty word. Returns false with *error set for an
// unterminated quote or a trailing backslash.
bool SplitShellWords(std::string_view text, std::vector<std::string>* words, std::string* error);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_ARG_SPLIT_H_
