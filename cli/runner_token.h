// The session token the CLI signs with: --token-file, else
// $SAGEWAI_RUNNER_TOKEN, else none.
#ifndef SAGEWAI_CLI_RUNNER_TOKEN_H_
#define SAGEWAI_CLI_RUNNER_TOKEN_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sagewai::cli {

inline constexpr char kTokenEnv[] = "SAGEWAI_RUNNER_TOKEN";

struct Token {
  std::string value;   // empty: send no authorization metadata
  std::string source;  // "--token-file PATH", "$SAGEWAI_RUNNER_TOKEN" or ""
  // Things the user should know but that do not stop the call, e.g. a token
  // file readable by every user.
  std::vector<std::string> warnings;
};

// The token file wins over $SAGEWAI_RUNNER_TOKEN: a flag on the command line
// is the more deliberate choice than an inherited variable. Both follow
// common/token_file's rules (the runner's too): surrounding whitespace (a
// trailing newline) is dropped, and errors (FailedPrecondition / NotFound /
// PermissionDenied / InvalidArgument) name the file and the fix.
absl::StatusOr<Token> LoadToken(const std::optional<std::string>& token_file,
                                const char* env_value);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_RUNNER_TOKEN_H_
