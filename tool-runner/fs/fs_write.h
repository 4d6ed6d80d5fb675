// Atomic file writes: the new content goes to an unnamed temporary file
// (O_TMPFILE; a hidden named one where the filesystem has no O_TMPFILE) in
// the target's directory, is fsynced, and is renamed over the target. Until
// Publish() the old file is untouched; a writer destroyed before Publish()
// leaves nothing behind.
//
// Symlinks: a write goes through a symlink to the file it points to (even
// through a chain of links; a dangling link's target is created); the link
// itself is never replaced by a file. More than 40 links: ELOOP.
//
// An existing file keeps its mode and (when the runner may set it) its
// owner unless a mode is given; a new file gets 0644. Writing needs write
// permission on the file when it exists, as open(2) would, besides the
// directory's. Hard links to the old file keep the old content.
#ifndef SAGEWAI_TOOL_RUNNER_FS_FS_WRITE_H_
#define SAGEWAI_TOOL_RUNNER_FS_FS_WRITE_H_

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/sha256.h"
#include "common/unique_fd.h"
#include "sagewai/sandbox/v1/sandbox.pb.h"

namespace sagewai::fs {

struct WriteOptions {
  // Permission bits; 0 keeps an existing file's mode (0644 for a new file).
  uint32_t mode = 0;
  // Keep the old content and add to it (still atomic: the old content is
  // copied into the temporary file first).
  bool append = false;
  bool create_parents = false;
};

struct WriteResult {
  // The file written: the symlink's target when the path was a link.
  std::string path;
  uint64_t bytes_written = 0;
  // Hex SHA-256 of the whole file, and of the bytes written by this call.
  std::string sha256;
  std::string data_sha256;
  sagewai::sandbox::v1::FileInfo info;
};

// The file a write of `path` replaces: `path` itself, or the end of its
// symlink chain. FAILED_PRECONDITION for a directory or a non-regular file.
absl::StatusOr<std::string> ResolveWriteTarget(const std::string& path);

class AtomicWriter {
 public:
  static absl::StatusOr<std::unique_ptr<AtomicWriter>> Open(const std::string& path,
                                                            const WriteOptions& options);
  ~AtomicWriter();
  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;

  // WriteData() then HashData() of the same bytes.
  absl::Status Write(absl::string_view data);
  // The two halves of Write(), for a caller that overlaps hashing with the
  // disk: each is called with the data in order, one call of each at a
  // time, and the two may run at once on different threads (they touch
  // disjoint state). Every byte written must be hashed before Publish().
  absl::Status WriteData(absl::string_view data);
  void HashData(absl::string_view data);
  // Flushes the data to disk: the slow part of a commit, and the last
  // point at which the caller may still change its mind cheaply.
  absl::Status Sync();
  // Renames the new file over the target and syncs the directory. Call
  // after Sync(). On error the target is unchanged.
  absl::StatusOr<WriteResult> Publish();

  const std::string& target() const { return target_; }
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  AtomicWriter() = default;
  absl::Status CopyOldContent();
  // Gives the unnamed file a (temporary) name in the directory.
  absl::Status LinkTemp();

  std::string target_;
  std::string dir_;
  UniqueFd dir_fd_;
  UniqueFd fd_;
  // Non-empty while a named temporary file exists.
  std::string temp_name_;
  bool unnamed_ = false;
  bool existed_ = false;
  struct stat old_ {};
  WriteOptions options_;
  uint64_t bytes_written_ = 0;  // WriteData()'s
  uint64_t bytes_hashed_ = 0;   // HashData()'s, with the two hashes
  // Where the temporary file ends, and where the data not yet handed to
  // writeback starts (see Write()).
  uint64_t end_ = 0;
  uint64_t flushed_to_ = 0;
  bool appended_old_ = false;
  Sha256 file_hash_;
  Sha256 data_hash_;
};

}  // namespace sagewai::fs

#endif  // SAGEWAI_TOOL_RUNNER_FS_FS_WRITE_H_
