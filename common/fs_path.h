// Paths and names for the Filesystem service: resolving request paths
// against the work directory, carrying names that are not UTF-8 through
// proto3 `string` fields, errno statuses that name the path, and FileInfo.
#ifndef SAGEWAI_COMMON_FS_PATH_H_
#define SAGEWAI_COMMON_FS_PATH_H_

#include <sys/stat.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sagewai/sandbox/v1/sandbox.pb.h"

namespace sagewai::fs {

// Strict UTF-8 as protobuf checks it: no overlong forms, no surrogates,
// nothing above U+10FFFF.
bool IsValidUtf8(absl::string_view s);

// The text for a proto3 `string` field: `name` itself when it is valid
// UTF-8, else `name` with each byte of an invalid sequence written as
// "\xNN" (a display form; the exact bytes go in the `*_bytes` field).
std::string DisplayName(absl::string_view name);

// For messages: DisplayName with control characters escaped too ("\n",
// "\x01"), so that a path always stays on one line.
std::string QuotePath(absl::string_view path);

// Picks the raw bytes when given (they carry names that are not UTF-8),
// else the string. INVALID_ARGUMENT when the result contains a NUL byte or
// is empty and `allow_empty` is false (`field` names the request field), or
// is PATH_MAX bytes or longer.
absl::StatusOr<std::string> PathArg(absl::string_view field, const std::string& text,
                                    const std::string& raw, bool allow_empty);

// Relative paths (and "") resolve against `workdir`; absolute ones stay.
// Nothing is normalized: ".." and symlinks are the kernel's business.
std::string Resolve(absl::string_view workdir, absl::string_view path);

// "a/b/c" -> "a/b", "/x" -> "/", "x" -> "."; trailing slashes ignored.
std::string DirName(absl::string_view path);
// "a/b/c" -> "c", "a/b/" -> "b", "/" -> "/".
std::string BaseName(absl::string_view path);
// "a" + "b" -> "a/b" (one slash).
std::string Join(absl::string_view dir, absl::string_view name);

// ErrnoStatus for `call` on `path`: "<call> <path>: <strerror>", the code
// mapped from the errno (ENOENT -> NOT_FOUND, ...; see common/errno_status).
absl::Status PathError(absl::string_view call, absl::string_view path, int err = 0);

sagewai::sandbox::v1::FileType FileTypeOf(mode_t mode);

// Fills everything but `name`: path, type, size, mode, mtime, uid, gid, and
// the symlink target when `st` is a link's own lstat (read with readlink).
void FillFileInfo(const std::string& path, const struct stat& st,
                  sagewai::sandbox::v1::FileInfo* info);
// Sets `name` (and `name_bytes` when it is not UTF-8).
void SetName(absl::string_view name, sagewai::sandbox::v1::FileInfo* info);

// lstat (or stat when `follow`) and FillFileInfo with the base name as name.
absl::StatusOr<sagewai::sandbox::v1::FileInfo> StatPath(const std::string& path, bool follow);

}  // namespace sagewai::fs

#endif  // SAGEWAI_COMMON_FS_PATH_H_
