// `sagewai-sandbox eval` and `sagewai-sandbox context`: code in the sandbox's
// stateful interpreters (the runner's CodeEval service).
#ifndef SAGEWAI_CLI_EVAL_COMMAND_H_
#define SAGEWAI_CLI_EVAL_COMMAND_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sagewai/sandbox/v1/sandbox.pb.h"

namespace sagewai::cli {

extern const char kEvalHelp[];
extern const char kContextHelp[];

// `eval`: the code raised (the traceback is on stderr).
inline constexpr int kExitEvalError = 1;
// `eval --context`: the interpreter died or had to be killed (not by a
// timeout); the context needs `context restart`.
inline constexpr int kExitContextDead = 125;

struct EvalOptions {
  std::optional<std::string> addr;
  std::optional<std::string> token_file;
  std::string language;  // empty: the runner's default (python)
  std::string context_id;
  std::optional<absl::Duration> timeout;
  std::string cwd;
  std::map<std::string, std::string> env;
  // Where image outputs are saved.
  std::string output_dir = ".";
  bool help = false;
  // The code, or "-" for stdin.
  std::string code;
};

absl::StatusOr<EvalOptions> ParseEvalArgs(const std::vector<std::string>& args);

// 0; kExitEvalError after an exception (or a one-shot interpreter's death);
// 124 on timeout; kExitContextDead when a context's interpreter died.
int ExitCodeForEvalResult(const sagewai::sandbox::v1::EvalResult& result);

// Shows display outputs on a terminal: text as text, images saved to
// `dir`/eval-output-N.<ext> (the first N not taken) and named.
class DisplayPrinter {
 public:
  explicit DisplayPrinter(std::string dir) : dir_(std::move(dir)) {}
  // What to print for `output` (ends with a newline, or is empty). An error
  // when an image could not be saved.
  absl::StatusOr<std::string> Render(const sagewai::sandbox::v1::DisplayOutput& output);

 private:
  absl::StatusOr<std::string> Save(const std::string& data, const std::string& extension);
  std::string dir_;
  int next_ = 1;
};

int RunEvalCommand(const std::vector<std::string>& args);
int RunContextCommand(const std::vector<std::string>& args);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_EVAL_COMMAND_H_
