#include "common/secret_handoff.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "common/fd_io.h"
#include "common/passwd.h"

namespace sagewai {
namespace {

constexpr std::string_view kMagic("sagewai-secrets/1\0", 18);
// A pipe must hold the whole payload without a reader; Linux guarantees 4 KiB
// per write and gives 64 KiB by default.
constexpr size_t kMaxPayload = 60 * 1024;

std::string SysError(std::string_view what) { return std::string(what) + ": " + strerror(errno); }

int SecretsMemfd(const std::string& payload, std::string* error) {
  const int fd = static_cast<int>(memfd_create("sagewai-secrets", MFD_ALLOW_SEALING));
  if (fd < 0) {
    *error = SysError("memfd_create");
    return -1;
  }
  if (!WriteAll(fd, payload.data(), payload.size()) ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0 ||
      lseek(fd, 0, SEEK_SET) != 0) {
    *error = SysError("write and seal the secrets memfd");
    ::close(fd);
    return -1;
  }
  return fd;
}

int SecretsPipe(const std::string& payload, std::string* error) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *error = SysError("pipe2");
    return -1;
  }
  const bool written = WriteAll(fds[1], payload.data(), payload.size());
  ::close(fds[1]);
  if (!written || fcntl(fds[0], F_SETFD, 0) != 0) {
    *error = SysError("write the secrets pipe");
    ::close(fds[0]);
    return -1;
  }
  return fds[0];
}

}  // namespace

std::string EncodeSecrets(const ControlPlaneSecrets& secrets) {
  std::string out(kMagic);
  auto add = [&out](const char* name, const std::string& value) {
    if (value.empty()) return;
    out.append(name).push_back('=');
    out.append(value).push_back('\0');
  };
  add("SESSION_TOKEN", secrets.session_token);
  add("CONTROL_PLANE_URL", secrets.control_plane_url);
  add("SESSION_ID", secrets.session_id);
  return out;
}

bool DecodeSecrets(std::string_view data, ControlPlaneSecrets* secrets, std::string* error) {
  if (data.substr(0, kMagic.size()) != kMagic) {
    *error = "not a sagewai secrets payload (bad header)";
    return false;
  }
  data.remove_prefix(kMagic.size());
  ControlPlaneSecrets out;
  while (!data.empty()) {
    const size_t end = data.find('\0');
    if (end == std::string_view::npos) {
      *error = "truncated sagewai secrets payload";
      return false;
    }
    const std::string_view record = data.substr(0, end);
    data.remove_prefix(end + 1);
    const size_t eq = record.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      *error = "malformed record in sagewai secrets payload";
      return false;
    }
    const std::string_view name = record.substr(0, eq);
    const std::string_view value = record.substr(eq + 1);
    if (name == "SESSION_TOKEN") {
      out.session_token.assign(value);
    } else if (name == "CONTROL_PLANE_URL") {
      out.control_plane_url.assign(value);
    } else if (name == "SESSION_ID") {
      out.session_id.assign(value);
    }
  }
  *secrets = std::move(out);
  return true;
}

int CreateSecretsFd(const ControlPlaneSecrets& secrets, std::string* error) {
  std::string payload = EncodeSecrets(secrets);
  if (payload.size() > kMaxPayload) {
    WipeString(payload);
    *error = "control-plane secrets are larger than " + std::to_string(kMaxPayload) + " bytes";
    return -1;
  }
  std::string memfd_error;
  int fd = SecretsMemfd(payload, &memfd_error);
  if (fd < 0) {
    fd = SecretsPipe(payload, error);
    if (fd < 0) *error = memfd_error + "; " + *error;
  }
  WipeString(payload);
  return fd;
}

bool ReadSecretsFd(int fd, ControlPlaneSecrets* secrets, std::string* error) {
  std::string data;
  char buf[4096];
  off_t offset = 0;
  bool seekable = true;
  while (true) {
    ssize_t n = seekable ? ::pread(fd, buf, sizeof buf, offset) : ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == ESPIPE && seekable) {
      seekable = false;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = SysError("read the secrets fd " + std::to_string(fd));
      WipeString(data);
      return false;
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
    offset += n;
    if (data.size() > kMaxPayload) {
      *error = "secrets fd " + std::to_string(fd) + " holds more than a secrets payload";
      WipeString(data);
      explicit_bzero(buf, sizeof buf);
      return false;
    }
  }
  explicit_bzero(buf, sizeof buf);
  const bool ok = DecodeSecrets(data, secrets, error);
  WipeString(data);
  return ok;
}

bool TakeInheritedSecretsFd(ControlPlaneSecrets* secrets, std::string* error) {
  *secrets = ControlPlaneSecrets();
  const char* value = getenv(kSecretsFdEnv);
  if (value == nullptr) return true;
  const std::string text = value;
  unsetenv(kSecretsFdEnv);
  const std::string what = std::string(kSecretsFdEnv) + "=\"" + text + "\"";
  uint32_t fd = 0;
  if (!ParseId(text, &fd) || fd <= 2 || fd > 0x7fffffff) {
    *error = what + " is not a file descriptor number above 2";
    return false;
  }
  struct stat st;
  if (fstat(static_cast<int>(fd), &st) != 0) {
    *error = what + ": " + strerror(errno) + " (the fd was not inherited)";
    return false;
  }
  if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
    // Not ours: leave it open for whoever owns it.
    *error = what + " is neither a memfd nor a pipe";
    return false;
  }
  const bool ok = ReadSecretsFd(static_cast<int>(fd), secrets, error);
  ::close(static_cast<int>(fd));
  if (!ok) *error = what + ": " + *error;
  return ok;
}

}  // namespace sagewai
