#include "tool-runner/code_eval/code_eval_language.h"

#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "tool-runner/code_eval/code_eval_drivers.h"
#include "tool-runner/supervisor/process_group.h"

namespace sagewai::code_eval {

absl::string_view LanguageName(Language language) {
  switch (language) {
    case Language::kPython:
      return "python";
    case Language::kNode:
      return "node";
    case Language::kBash:
      return "bash";
  }
  return "unknown";
}

absl::StatusOr<Language> ParseLanguage(absl::string_view name) {
  const std::string n = absl::AsciiStrToLower(name);
  if (n == "python" || n == "python3" || n == "py") return Language::kPython;
  if (n == "node" || n == "nodejs" || n == "javascript" || n == "js") return Language::kNode;
  if (n == "bash" || n == "sh" || n == "shell") return Language::kBash;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown language \"", name, "\": use python, node or bash"));
}

absl::string_view ProgramName(Language language) {
  switch (language) {
    case Language::kPython:
      return "python3";
    case Language::kNode:
      return "node";
    case Language::kBash:
      return "bash";
  }
  return "";
}

std::string FindInterpreter(Language language, absl::string_view path_env) {
  std::vector<absl::string_view> names;
  switch (language) {
    case Language::kPython:
      names = {"python3"};
      break;
    case Language::kNode:
      names = {"node", "nodejs"};
      break;
    case Language::kBash:
      names = {"bash"};
      break;
  }
  for (absl::string_view name : names) {
    std::string path = ResolveProgram(name, path_env);
    if (path.find('/') != std::string::npos) return path;
  }
  if (language == Language::kBash && access("/bin/bash", X_OK) == 0) return "/bin/bash";
  return "";
}

std::vector<std::string> DriverArgv(Language language, const std::string& interpreter) {
  const std::string source(DriverSource(language));
  switch (language) {
    case Language::kPython:
      // -u: no Python-level buffering, so output streams as it is printed.
      return {interpreter, "-u", "-c", source};
    case Language::kNode:
      return {interpreter, "-e", source};
    case Language::kBash:
      return {interpreter, "--norc", "--noprofile", "-c", source, "bash"};
  }
  return {interpreter};
}

absl::string_view DriverSource(Language language) {
  switch (language) {
    case Language::kPython:
      return drivers::kPython;
    case Language::kNode:
      return drivers::kNode;
    case Language::kBash:
      return drivers::kBash;
  }
  return "";
}

}  // namespace sagewai::code_eval
