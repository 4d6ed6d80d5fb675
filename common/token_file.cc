#include "common/token_file.h"

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

namespace sagewai {
namespace {

bool IsHeaderSafe(absl::string_view token) {
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::string> CleanToken(absl::string_view raw, absl::string_view source) {
  absl::string_view token = absl::StripAsciiWhitespace(raw);
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the token from ", source, " is empty — it should hold the sandbox's SESSION_TOKEN"));
  }
  if (!IsHeaderSafe(token)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the token from ", source,
                     " has characters a gRPC header cannot carry (spaces, line breaks, control or "
                     "non-ASCII bytes) — it should be the sandbox's SESSION_TOKEN alone"));
  }
  return std::string(token);
}

absl::StatusOr<TokenFromFile> ReadTokenFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    std::string why = absl::StrCat("cannot read the token file ", path, ": ", std::strerror(err),
                                   " — pass the file that holds the sandbox's SESSION_TOKEN");
    if (err == ENOENT) return absl::NotFoundError(why);
    if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(why);
    return absl::FailedPreconditionError(why);
  }
  TokenFromFile out;
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the token file ", path, " is a directory — pass the file itself"));
    }
    if (S_ISREG(st.st_mode) && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
      out.warnings.push_back(absl::StrFormat(
          "warning: the token file %s is %s by every user on this host (mode %04o) — "
          "run: chmod 600 %s",
          path, (st.st_mode & S_IWOTH) ? "writable" : "readable", st.st_mode & 07777, path));
    }
  }
  std::string content;
  char buf[4096];
  // Room for the largest accepted file at once: a string that grew would
  // leave copies of the secret in freed memory.
  content.reserve(kMaxTokenFileBytes + sizeof buf);
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      explicit_bzero(content.data(), content.size());
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read the token file ", path, ": ", std::strerror(err)));
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    explicit_bzero(buf, sizeof buf);
    if (content.size() > kMaxTokenFileBytes) {
      explicit_bzero(content.data(), content.size());
      return absl::InvalidArgumentError(absl::StrCat(
          "the token file ", path, " is larger than 64 KiB — it should hold only the token"));
    }
  }
  absl::StatusOr<std::string> token = CleanToken(content, absl::StrCat("--token-file ", path));
  // The raw bytes held the secret too.
  explicit_bzero(content.data(), content.size());
  if (!token.ok()) return token.status();
  out.token = *std::move(token);
  return out;
}

}  // namespace sagewai
