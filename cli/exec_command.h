// `sagewai-sandbox exec`: runs one command in the sandbox over Bash.Stream,
// wired to this process's stdin, stdout, stderr, signals and exit code.
#ifndef SAGEWAI_CLI_EXEC_COMMAND_H_
#define SAGEWAI_CLI_EXEC_COMMAND_H_

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sagewai/sandbox/v1/sandbox.pb.h"

namespace sagewai::cli {

extern const char kExecHelp[];

struct ExecOptions {
  std::optional<std::string> addr;
  std::optional<std::string> token_file;
  std::map<std::string, std::string> env;
  std::string cwd;
  // Absent: the runner's default timeout.
  std::optional<absl::Duration> timeout;
  // Close the command's stdin at once even when ours is a pipe or file.
  bool no_stdin = false;
  bool help = false;
  // The words after the options; JoinCommand turns them into one command.
  std::vector<std::string> words;
};

// Reads a variable of this process (for `--env NAME` without a value).
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// InvalidArgument with a message for the user on a bad command line.
absl::StatusOr<ExecOptions> ParseExecArgs(const std::vector<std::string>& args,
                                          const EnvLookup& lookup);

// 124 when the runner timed the command out, 128 + N when signal N ended it,
// else its exit status.
int ExitCodeForResult(const sagewai::sandbox::v1::BashResult& result);

// The whole subcommand; returns the process exit code.
int RunExecCommand(const std::vector<std::string>& args);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_EXEC_COMMAND_H_
