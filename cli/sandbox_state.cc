#include "cli/sandbox_state.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/random_hex.h"
#include "common/errno_status.h"
#include "common/fd_io.h"

namespace sagewai::cli {
namespace {

constexpr uid_t kAgentUid = 1000;
constexpr uid_t kRunnerUid = 900;  // the images' `sagewai` user

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  if (sagewai::WriteAll(fd, data.data(), data.size())) return absl::OkStatus();
  return ErrnoStatus(absl::StrCat("write ", path));
}

}  // namespace

std::string SandboxStateRoot() {
  if (const char* dir = getenv(kStateRootEnv); dir != nullptr && *dir != '\0') return dir;
  if (geteuid() == 0) return "/var/lib/sagewai-sandbox";
  if (const char* state = getenv("XDG_STATE_HOME"); state != nullptr && state[0] == '/') {
    return absl::StrCat(state, "/sagewai/sandboxes");
  }
  const char* home = getenv("HOME");
  return absl::StrCat(home != nullptr && *home != '\0' ? home : "/tmp",
                      "/.local/state/sagewai/sandboxes");
}

bool IsValidSandboxId(absl::string_view id) {
  if (id.empty() || id.size() > 64 || id[0] == '.' || id[0] == '-') return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

std::string NewSandboxId() { return absl::StrCat("sbx-", RandomHex(6)); }

std::string SandboxPaths::Address() const { return absl::StrCat("unix://", socket_path); }

SandboxPaths PathsFor(const std::string& root, const std::string& id) {
  SandboxPaths p;
  p.dir = absl::StrCat(root, "/", id);
  p.socket_dir = p.dir + "/run";
  p.socket_path = absl::StrCat(p.socket_dir, "/", kRunnerSocketName);
  p.token_file = p.dir + "/token";
  p.workspace_dir = p.dir + "/workspace";
  p.record_file = p.dir + "/sandbox";
  p.lock_file = p.dir + "/lock";
  return p;
}

std::string SandboxRecord::Get(const std::string& key) const {
  auto it = values.find(key);
  return it == values.end() ? "" : it->second;
}

std::string FormatRecord(const SandboxRecord& record) {
  std::string out;
  for (const auto& [key, value] : record.values) absl::StrAppend(&out, key, "=", value, "\n");
  return out;
}

absl::StatusOr<SandboxRecord> ParseRecord(absl::string_view text) {
  SandboxRecord record;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("not a key=value line: \"", line, "\""));
    }
    record.values[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  return record;
}

absl::Status WriteRecord(const std::string& path, const SandboxRecord& record) {
  const std::string tmp = path + ".tmp";
  absl::Status status = WritePrivateFile(tmp, FormatRecord(record));
  if (!status.ok()) return status;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status error = ErrnoStatus(absl::StrCat("rename ", tmp, " to ", path));
    ::unlink(tmp.c_str());
    return error;
  }
  return absl::OkStatus();
}

absl::StatusOr<SandboxRecord> ReadRecord(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoStatus(absl::StrCat("open ", path));
  std::string text;
  if (!ReadToEnd(fd.get(), &text, 1 << 20)) {
    if (errno == EFBIG) return absl::InvalidArgumentError(path + " is too large");
    return ErrnoStatus(absl::StrCat("read ", path));
  }
  absl::StatusOr<SandboxRecord> record = ParseRecord(text);
  if (!record.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", record.status().message()));
  }
  return record;
}

absl::Status MakePrivateDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return absl::OkStatus();
  if (errno == EEXIST) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::AlreadyExistsError(absl::StrCat(dir, " exists and is not a directory"));
  }
  if (errno != ENOENT) return ErrnoStatus(absl::StrCat("mkdir ", dir));
  const size_t slash = dir.rfind('/');
  if (slash == 0 || slash == std::string::npos) return ErrnoStatus(absl::StrCat("mkdir ", dir));
  absl::Status parent = MakePrivateDir(dir.substr(0, slash));
  if (!parent.ok()) return parent;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus(absl::StrCat("mkdir ", dir));
  }
  return absl::OkStatus();
}

absl::Status PrepareAgentDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoStatus(absl::StrCat("mkdir ", dir));
  // The runner and the tools run as the agent user; a container left as
  // root without capabilities writes through group 0, as in sandbox-base's
  // own /workspace and /run/sagewai.
  if (geteuid() != 0 || ::chown(dir.c_str(), kAgentUid, 0) != 0 ||
      ::chmod(dir.c_str(), 0770) != 0) {
    if (::chmod(dir.c_str(), 0777) != 0) return ErrnoStatus(absl::StrCat("chmod ", dir));
  }
  return absl::OkStatus();
}

absl::Status PrepareRunnerDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoStatus(absl::StrCat("mkdir ", dir));
  if (geteuid() == 0 && ::chown(dir.c_str(), kRunnerUid, 0) == 0) {
    if (::chmod(dir.c_str(), 0770) != 0) return ErrnoStatus(absl::StrCat("chmod ", dir));
    return absl::OkStatus();
  }
  if (::chmod(dir.c_str(), 01777) != 0) return ErrnoStatus(absl::StrCat("chmod ", dir));
  return absl::OkStatus();
}

absl::Status WritePrivateFile(const std::string& path, absl::string_view content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return ErrnoStatus(absl::StrCat("create ", path));
  // O_CREAT's mode does not apply to a file that already existed.
  if (::fchmod(fd.get(), 0600) != 0) return ErrnoStatus(absl::StrCat("chmod ", path));
  absl::Status status = WriteAll(fd.get(), content, path);
  if (!status.ok()) return status;
  if (::fsync(fd.get()) != 0) return ErrnoStatus(absl::StrCat("fsync ", path));
  return absl::OkStatus();
}

absl::StatusOr<HolderLock> HolderLock::Acquire(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return ErrnoStatus(absl::StrCat("open ", path));
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return ErrnoStatus(absl::StrCat("flock ", path));
  }
  if (::ftruncate(fd.get(), 0) != 0) return ErrnoStatus(absl::StrCat("truncate ", path));
  absl::Status status = WriteAll(fd.get(), absl::StrCat(getpid(), "\n"), path);
  if (!status.ok()) return status;
  return HolderLock(std::move(fd));
}

std::optional<pid_t> LiveHolder(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return std::nullopt;
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return std::nullopt;
  if (errno != EWOULDBLOCK) return std::nullopt;
  char buf[32] = {};
  ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
  int pid = 0;
  if (n > 0 && absl::SimpleAtoi(absl::StripAsciiWhitespace(absl::string_view(buf, n)), &pid) &&
      pid > 0) {
    return pid;
  }
  return -1;
}

}  // namespace sagewai::cli
