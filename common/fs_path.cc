#include "common/fs_path.h"

#include <limits.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/utf8.h"

namespace sagewai::fs {
namespace {

namespace v1 = ::sagewai::sandbox::v1;

void AppendHexByte(std::string& out, unsigned char c) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\x";
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

std::string Escape(absl::string_view s, bool controls) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t len = utf8::SequenceLength(std::string_view(s.data(), s.size()), i);
    if (len == 0) {
      AppendHexByte(out, static_cast<unsigned char>(s[i]));
      ++i;
      continue;
    }
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (controls && len == 1 && (c < 0x20 || c == 0x7F)) {
      if (c == '\n') {
        out += "\\n";
      } else if (c == '\t') {
        out += "\\t";
      } else {
        AppendHexByte(out, c);
      }
    } else {
      out.append(s.data() + i, len);
    }
    i += len;
  }
  return out;
}

}  // namespace

bool IsValidUtf8(absl::string_view s) {
  return utf8::IsValid(std::string_view(s.data(), s.size()));
}

std::string DisplayName(absl::string_view name) {
  if (IsValidUtf8(name)) return std::string(name);
  return Escape(name, /*controls=*/false);
}

std::string QuotePath(absl::string_view path) { return Escape(path, /*controls=*/true); }

absl::StatusOr<std::string> PathArg(absl::string_view field, const std::string& text,
                                    const std::string& raw, bool allow_empty) {
  const std::string& path = raw.empty() ? text : raw;
  if (path.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("`", field, "` contains a NUL byte"));
  }
  if (path.empty() && !allow_empty) {
    return absl::InvalidArgumentError(absl::StrCat("`", field, "` is empty"));
  }
  // The kernel would say ENAMETOOLONG, but a message quoting such a path
  // outgrows what a gRPC client accepts as trailers (8 KiB by default).
  if (path.size() >= PATH_MAX) {
    return absl::InvalidArgumentError(absl::StrCat("`", field, "` is ", path.size(),
                                                   " bytes long; paths must be shorter than ",
                                                   PATH_MAX, " bytes (PATH_MAX)"));
  }
  return path;
}

std::string Resolve(absl::string_view workdir, absl::string_view path) {
  if (path.empty()) return std::string(workdir);
  if (path[0] == '/') return std::string(path);
  return Join(workdir, path);
}

std::string DirName(absl::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.rfind('/');
  if (slash == absl::string_view::npos) return ".";
  absl::string_view dir = path.substr(0, slash);
  while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  return dir.empty() ? "/" : std::string(dir);
}

std::string BaseName(absl::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/") return "/";
  const size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

std::string Join(absl::string_view dir, absl::string_view name) {
  if (dir.empty()) return std::string(name);
  if (dir.back() == '/') return absl::StrCat(dir, name);
  return absl::StrCat(dir, "/", name);
}

absl::Status PathError(absl::string_view call, absl::string_view path, int err) {
  if (err == 0) err = errno;
  return ErrnoStatus(absl::StrCat(call, " ", QuotePath(path)), err);
}

v1::FileType FileTypeOf(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return v1::FILE_TYPE_FILE;
    case S_IFDIR:
      return v1::FILE_TYPE_DIRECTORY;
    case S_IFLNK:
      return v1::FILE_TYPE_SYMLINK;
    case S_IFIFO:
      return v1::FILE_TYPE_FIFO;
    case S_IFSOCK:
      return v1::FILE_TYPE_SOCKET;
    case S_IFCHR:
      return v1::FILE_TYPE_CHAR_DEVICE;
    case S_IFBLK:
      return v1::FILE_TYPE_BLOCK_DEVICE;
    default:
      return v1::FILE_TYPE_UNSPECIFIED;
  }
}

void FillFileInfo(const std::string& path, const struct stat& st, v1::FileInfo* info) {
  if (IsValidUtf8(path)) {
    info->set_path(path);
  } else {
    info->set_path(DisplayName(path));
    info->set_path_bytes(path);
  }
  info->set_type(FileTypeOf(st.st_mode));
  info->set_size(static_cast<uint64_t>(st.st_size));
  info->set_mode(st.st_mode & 07777);
  info->set_mtime_unix_ms(int64_t{st.st_mtim.tv_sec} * 1000 + st.st_mtim.tv_nsec / 1000000);
  info->set_uid(st.st_uid);
  info->set_gid(st.st_gid);
  if (S_ISLNK(st.st_mode)) {
    char target[4096];
    const ssize_t n = readlink(path.c_str(), target, sizeof target);
    if (n > 0) {
      absl::string_view t(target, static_cast<size_t>(n));
      if (IsValidUtf8(t)) {
        info->set_symlink_target(std::string(t));
      } else {
        info->set_symlink_target(DisplayName(t));
        info->set_symlink_target_bytes(std::string(t));
      }
    }
  }
}

void SetName(absl::string_view name, v1::FileInfo* info) {
  if (IsValidUtf8(name)) {
    info->set_name(std::string(name));
  } else {
    info->set_name(DisplayName(name));
    info->set_name_bytes(std::string(name));
  }
}

absl::StatusOr<v1::FileInfo> StatPath(const std::string& path, bool follow) {
  struct stat st;
  if ((follow ? stat(path.c_str(), &st) : lstat(path.c_str(), &st)) != 0) {
    return PathError("stat", path);
  }
  v1::FileInfo info;
  FillFileInfo(path, st, &info);
  SetName(BaseName(path), &info);
  return info;
}

}  // namespace sagewai::fs
