// AGENT_ARGS splitting (common/arg_split) as the entrypoint uses it
// (entrypoint/options). Words that split must come back unchanged when
// quoted and split again; text without quotes or backslashes splits at
// blanks; the entrypoint's child argv is AGENT_COMMAND then those words.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/arg_split.h"
#include "entrypoint/options.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

std::string Quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> words;
  std::string error;
  const bool ok = sagewai::SplitShellWords(text, &words, &error);
  if (!ok) {
    FUZZ_CHECK(!error.empty(), "failure without a message");
  } else {
    std::string quoted;
    for (const auto& w : words) quoted += Quote(w) + (w.size() % 2 ? " " : "\t\n");
    std::vector<std::string> again;
    FUZZ_CHECK(sagewai::SplitShellWords(quoted, &again, &error), "quoted words refused: %s",
               error.c_str());
    FUZZ_CHECK(again == words, "quoting changed the words");
    if (text.find_first_of("'\"\\") == std::string_view::npos) {
      std::vector<std::string> plain = absl::StrSplit(absl::string_view(text.data(), text.size()),
                                                      absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
      FUZZ_CHECK(plain == words, "plain text did not split at blanks");
    }
  }

  // The entrypoint reads AGENT_ARGS from the environment: a C string.
  const std::string env(text.substr(0, text.find('\0')));
  sagewai::entrypoint::Invocation invocation;
  const auto status =
      sagewai::entrypoint::ParseInvocation({}, "agent-cmd", env.c_str(), &invocation);
  std::vector<std::string> env_words;
  std::string env_error;
  const bool env_ok = sagewai::SplitShellWords(env, &env_words, &env_error);
  FUZZ_CHECK(status.ok() == env_ok, "ParseInvocation and SplitShellWords disagree");
  if (env_ok) {
    FUZZ_CHECK(!invocation.command.empty() && invocation.command[0] == "agent-cmd",
               "AGENT_COMMAND is not argv[0]");
    FUZZ_CHECK(std::vector<std::string>(invocation.command.begin() + 1, invocation.command.end()) ==
                   env_words,
               "argv is not the split words");
  }
  return 0;
}
