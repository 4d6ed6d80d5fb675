#include "cli/runner_token.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/unique_fd.h"

namespace sagewai::cli {
namespace {

constexpr size_t kMaxTokenFileBytes = 64 * 1024;

bool IsHeaderSafe(absl::string_view token) {
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path,
                                          std::vector<std::string>* warnings) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    std::string why = absl::StrCat("cannot read the token file ", path, ": ", strerror(err),
                                   " — pass the file that holds the sandbox's SESSION_TOKEN");
    if (err == ENOENT) return absl::NotFoundError(why);
    if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(why);
    return absl::FailedPreconditionError(why);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the token file ", path, " is a directory — pass the file itself"));
    }
    if (S_ISREG(st.st_mode) && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
      warnings->push_back(absl::StrFormat(
          "warning: the token file %s is %s by every user on this host (mode %04o) — "
          "run: chmod 600 %s",
          path, (st.st_mode & S_IWOTH) ? "writable" : "readable", st.st_mode & 07777, path));
    }
  }
  std::string content;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read the token file ", path, ": ", strerror(errno)));
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > kMaxTokenFileBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the token file ", path, " is larger than 64 KiB — it should hold only the token"));
    }
  }
  return content;
}

absl::StatusOr<std::string> CleanToken(absl::string_view raw, absl::string_view source) {
  absl::string_view token = absl::StripAsciiWhitespace(raw);
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the token from ", source,
                                                   " is empty — it should hold the sandbox's "
                                                   "SESSION_TOKEN"));
  }
  if (!IsHeaderSafe(token)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the token from ", source,
                     " has characters a gRPC header cannot carry (spaces, line breaks, control or "
                     "non-ASCII bytes) — it should be the sandbox's SESSION_TOKEN alone"));
  }
  return std::string(token);
}

}  // namespace

absl::StatusOr<Token> LoadToken(const std::optional<std::string>& token_file,
                                const char* env_value) {
  Token token;
  if (token_file) {
    token.source = absl::StrCat("--token-file ", *token_file);
    absl::StatusOr<std::string> raw = ReadTokenFile(*token_file, &token.warnings);
    if (!raw.ok()) return raw.status();
    absl::StatusOr<std::string> clean = CleanToken(*raw, token.source);
    if (!clean.ok()) return clean.status();
    token.value = *std::move(clean);
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
