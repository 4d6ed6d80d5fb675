// The session token from a file (`--token-file` of the runner and of every
// host tool): one set of rules, the stricter of what each side did before.
// The file must be a readable non-directory of at most 64 KiB; surrounding
// whitespace (the trailing newline of `echo tok > file`) is dropped; what is
// left must be non-empty and printable ASCII without spaces, so it can go in
// a gRPC header. A file readable or writable by every user still works, with
// a warning naming the chmod that fixes it (a test or a script may write one).
#ifndef SAGEWAI_COMMON_TOKEN_FILE_H_
#define SAGEWAI_COMMON_TOKEN_FILE_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sagewai {

inline constexpr size_t kMaxTokenFileBytes = 64 * 1024;

struct TokenFromFile {
  std::string token;
  // "warning: the token file F is readable by every user ... run: chmod 600 F".
  std::vector<std::string> warnings;
};

// Errors name the file and the fix: NotFound, PermissionDenied,
// FailedPrecondition (a directory, a read error) or InvalidArgument (too
// large, empty, characters a header cannot carry; these say "the token from
// --token-file F").
absl::StatusOr<TokenFromFile> ReadTokenFile(const std::string& path);

// The token rules alone, for a token from elsewhere (an environment
// variable); `source` names it in errors ("$SAGEWAI_RUNNER_TOKEN").
absl::StatusOr<std::string> CleanToken(absl::string_view raw, absl::string_view source);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_TOKEN_FILE_H_
