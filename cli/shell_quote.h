// Turns the words after `exec --` into the one shell command that Bash.Run
// and Bash.Stream take.
#ifndef SAGEWAI_CLI_SHELL_QUOTE_H_
#define SAGEWAI_CLI_SHELL_QUOTE_H_

#include <string>
#include <vector>

namespace sagewai::cli {

// `word` quoted so that a POSIX shell reads it back as exactly one word with
// exactly these bytes: unchanged when it has only characters that are never
// special ([A-Za-z0-9_@%+=:,./-]), else in single quotes (' becomes '\'').
std::string ShellQuote(const std::string& word);

// Exactly one word: taken verbatim as a shell command, so
// `exec -- 'ls | wc -l'` runs a pipeline. Two or more: each quoted, so the
// remote shell sees the same argv the user typed (`exec -- printf '%s\n' 'a b'`).
// The first word is also quoted when the shell would otherwise read it as an
// assignment (`A=1`) or a reserved word (`if`, `time`, ...), since an argv's
// first word is always the program. An empty vector gives "".
std::string JoinCommand(const std::vector<std::string>& words);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_SHELL_QUOTE_H_
