// Whole-tree operations that never follow symlinks: recursive removal, and
// the copy a move across filesystems needs.
#ifndef SAGEWAI_TOOL_RUNNER_FS_FS_TREE_H_
#define SAGEWAI_TOOL_RUNNER_FS_FS_TREE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sagewai::fs {

// Removes everything inside the directory `dir_fd` (which stays open and in
// place); `dir_path` is for messages. Adds each removed entry to *removed.
// Stops at the first error.
absl::Status RemoveContents(int dir_fd, const std::string& dir_path, uint64_t* removed);

// Copies `src` (file, symlink, directory tree or FIFO; never following
// links) to the new path `dst`, keeping modes, mtimes and, when allowed,
// owners. Files are fsynced. On error, whatever was created at `dst` is
// removed again.
absl::Status CopyTree(const std::string& src, const std::string& dst);

// Copies [0, len) of `in` to the current offset of `out` with
// copy_file_range, falling back to read/write where the kernel or the
// filesystems cannot (EXDEV, EINVAL, ENOSYS, EOPNOTSUPP). Returns the bytes
// copied (less than `len` only at EOF).
absl::StatusOr<uint64_t> CopyFileData(int in, int out, uint64_t len, const std::string& in_path,
                                      const std::string& out_path);

}  // namespace sagewai::fs

#endif  // SAGEWAI_TOOL_RUNNER_FS_FS_TREE_H_
