// The languages CodeEval serves, which of them this image has, and the
// command line that starts a language's driver program. The drivers are
// compiled into the binary and handed over as an argument (`python3 -c`,
// `node -e`, `bash -c`), never written to a file: /tmp may be noexec.
#ifndef SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_LANGUAGE_H_
#define SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_LANGUAGE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sagewai::code_eval {

enum class Language { kPython, kNode, kBash };

inline constexpr Language kAllLanguages[] = {Language::kPython, Language::kNode, Language::kBash};

// "python", "node" or "bash".
absl::string_view LanguageName(Language language);

// Accepts the names above and a few aliases ("python3", "py", "javascript",
// "js", "nodejs", "sh" for bash). INVALID_ARGUMENT names the choices.
absl::StatusOr<Language> ParseLanguage(absl::string_view name);

// The program looked for: "python3", "node" or "bash".
absl::string_view ProgramName(Language language);

// The interpreter's path for `language` on `path_env` (colon-separated), or
// "" when the image has none.
std::string FindInterpreter(Language language, absl::string_view path_env);

// argv that starts the driver for `language` with `interpreter`.
std::vector<std::string> DriverArgv(Language language, const std::string& interpreter);

// The driver programs' sources, embedded at build time from drivers/.
absl::string_view DriverSource(Language language);

}  // namespace sagewai::code_eval

#endif  // SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_LANGUAGE_H_
