// What a CodeEval interpreter starts with (language, cwd, environment), the
// runner-wide options of CodeEval, and the InterpreterSpec that starts one.
#ifndef SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_SETUP_H_
#define SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_SETUP_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tool-runner/code_eval/code_eval_interpreter.h"
#include "tool-runner/code_eval/code_eval_language.h"

namespace sagewai::code_eval {

struct CodeEvalOptions {
  uint32_t max_contexts = 16;
  // Contexts unused this long are deleted; 0: never.
  std::chrono::milliseconds idle_timeout{30 * 60 * 1000};
  std::chrono::milliseconds interrupt_grace{1000};
  std::chrono::milliseconds start_timeout{30000};
  // How long a one-shot interpreter may take to exit once its eval is done.
  std::chrono::milliseconds exit_grace{1000};
  size_t max_display_bytes = 32 << 20;
  // Interpreters kept started and ready, one per distinct set-up (language,
  // cwd, env) recently used, so that the next context or one-shot eval with
  // that set-up starts at once. 0: none.
  size_t max_spares = 2;
};

// What an interpreter starts with.
struct InterpreterSetup {
  Language language = Language::kPython;
  std::string cwd;               // absolute
  std::vector<std::string> env;  // complete, "NAME=value"
};

// The driver command line for `setup`, found on the PATH of its env, with
// the timeouts of `options`. FAILED_PRECONDITION when the image has no such
// interpreter.
absl::StatusOr<InterpreterSpec> MakeInterpreterSpec(const InterpreterSetup& setup,
                                                    const CodeEvalOptions& options);

// Equal for set-ups whose interpreters are interchangeable.
std::string SetupKey(const InterpreterSetup& setup);

}  // namespace sagewai::code_eval

#endif  // SAGEWAI_TOOL_RUNNER_CODE_EVAL_CODE_EVAL_SETUP_H_
