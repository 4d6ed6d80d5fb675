#include "tool-runner/code_eval/code_eval_setup.h"

#include "absl/strings/str_cat.h"

namespace sagewai::code_eval {
namespace {

std::string PathOf(const std::vector<std::string>& env) {
  for (const std::string& entry : env) {
    if (entry.rfind("PATH=", 0) == 0) return entry.substr(5);
  }
  return "/usr/local/bin:/usr/bin:/bin";
}

}  // namespace

absl::StatusOr<InterpreterSpec> MakeInterpreterSpec(const InterpreterSetup& setup,
                                                    const CodeEvalOptions& options) {
  const std::string path = PathOf(setup.env);
  const std::string program = FindInterpreter(setup.language, path);
  if (program.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("this sandbox has no ", LanguageName(setup.language), " interpreter (no ",
                     ProgramName(setup.language), " on PATH=", path,
                     "): install it in the image, or pick another language"));
  }
  InterpreterSpec spec;
  spec.language = setup.language;
  spec.argv = DriverArgv(setup.language, program);
  spec.env = setup.env;
  spec.cwd = setup.cwd;
  spec.start_timeout = options.start_timeout;
  spec.interrupt_grace = options.interrupt_grace;
  spec.max_display_bytes = options.max_display_bytes;
  return spec;
}

std::string SetupKey(const InterpreterSetup& setup) {
  std::string key = absl::StrCat(LanguageName(setup.language), std::string(1, '\0'), setup.cwd);
  for (const std::string& entry : setup.env) absl::StrAppend(&key, std::string(1, '\0'), entry);
  return key;
}

}  // namespace sagewai::code_eval
