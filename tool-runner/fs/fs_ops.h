// The Filesystem service's operations as plain blocking functions over
// absolute paths (callers resolve relative ones with fs::Resolve). Shared by
// the gRPC service (which runs them on its I/O pool) and the stdio tools.
// Errors are errno statuses naming the path (see fs_path.h).
#ifndef SAGEWAI_TOOL_RUNNER_FS_FS_OPS_H_
#define SAGEWAI_TOOL_RUNNER_FS_FS_OPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "sagewai/sandbox/v1/sandbox.pb.h"

namespace sagewai::fs {

// Entries a List or Glob returns when the request sets no cap, and the
// largest cap a request may set.
inline constexpr uint32_t kDefaultMaxEntries = 10000;
inline constexpr uint32_t kMaxEntriesLimit = 100000;
// List depth beyond which deeper levels are not listed.
inline constexpr uint32_t kMaxListDepth = 128;

struct ReadableFile {
  UniqueFd fd;
  uint64_t size = 0;
};

// Opens a regular file for reading (symlinks followed). Directories, FIFOs,
// sockets and devices are FAILED_PRECONDITION, refused before they are
// opened; the open itself is O_NONBLOCK, so a file swapped for a FIFO in
// between cannot hang the caller either.
absl::StatusOr<ReadableFile> OpenForRead(const std::string& path);

// pread until `size` bytes or EOF; returns the bytes read.
absl::StatusOr<size_t> ReadAt(int fd, char* buf, size_t size, uint64_t offset,
                              const std::string& path);

// The entries under `path` (a directory; a symlink to one is followed for
// the root only), `depth` levels down (0 means 1), in sorted pre-order with
// names relative to `path`. Symlinks inside are listed, never followed.
// Unreadable subdirectories are listed but not entered. Stops after
// `max_entries` (0: kDefaultMaxEntries) and sets `truncated`.
absl::Status List(const std::string& path, uint32_t depth, uint32_t max_entries,
                  sagewai::sandbox::v1::ListResponse* out);

// mkdir, or mkdir -p with `parents` (then `created` is false when it was
// there already; something else than a directory there is ALREADY_EXISTS).
// `mode` 0 means 0755; an explicit mode is applied exactly (no umask).
absl::Status MakeDir(const std::string& path, bool parents, uint32_t mode,
                     sagewai::sandbox::v1::MakeDirResponse* out);
// mkdir -p with mode 0755 (umask applies); OK when it exists.
absl::Status MakeDirs(const std::string& path);

// Removes a file, a symlink (never its target) or an empty directory; a
// non-empty directory needs `recursive` (FAILED_PRECONDITION otherwise).
// Refuses "/", `workdir` and every directory that contains `workdir`.
absl::StatusOr<uint64_t> Remove(const std::string& path, bool recursive,
                                const std::string& workdir);

// rename(2), across directories; an existing destination is ALREADY_EXISTS
// unless `overwrite`. Across filesystems (EXDEV): copy, then remove the
// source; the copy lands under a temporary name first, so the destination
// appears whole or not at all.
absl::StatusOr<sagewai::sandbox::v1::FileInfo> Move(const std::string& source,
                                                    const std::string& destination, bool overwrite,
                                                    bool create_parents);

// A name for a temporary file beside `base` in its directory, recognisable
// by kTempMarker (Watch hides such names).
std::string TempName(const std::string& base);
inline constexpr char kTempMarker[] = ".sagewai-tmp-";

}  // namespace sagewai::fs

#endif  // SAGEWAI_TOOL_RUNNER_FS_FS_OPS_H_
