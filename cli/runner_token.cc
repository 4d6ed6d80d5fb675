#include "cli/runner_token.h"

#include "absl/strings/str_cat.h"
#include "common/token_file.h"

namespace sagewai::cli {

absl::StatusOr<Token> LoadToken(const std::optional<std::string>& token_file,
                                const char* env_value) {
  Token token;
  if (token_file) {
    token.source = absl::StrCat("--token-file ", *token_file);
    absl::StatusOr<TokenFromFile> read = ReadTokenFile(*token_file);
    if (!read.ok()) return read.status();
    token.value = std::move(read->token);
    token.warnings = std::move(read->warnings);
    return token;
  }
  if (env_value != nullptr && *env_value != '\0') {
    token.source = absl::StrCat("$", kTokenEnv);
    absl::StatusOr<std::string> clean = CleanToken(env_value, token.source);
    if (!clean.ok()) return clean.status();
    token.value = *std::move(clean);
  }
  return token;
}

}  // namespace sagewai::cli
