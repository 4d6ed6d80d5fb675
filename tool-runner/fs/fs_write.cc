#include "tool-runner/fs/fs_write.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tool-runner/fs/fs_ops.h"
#include "common/fs_path.h"
#include "tool-runner/fs/fs_tree.h"

namespace sagewai::fs {
namespace {

// Linux's own limit on symlinks followed while resolving one path.
constexpr int kMaxSymlinkHops = 40;
constexpr int kTempNameTries = 16;
constexpr uint64_t kWritebackWindow = 8 << 20;
// The most one write(2) hands the page cache. The kernel sizes a new
// page-cache folio by the write's length: 128 KiB writes get small folios
// from memory the allocator has at hand, where 1 MiB writes ask for large
// ones, which on a VM whose free memory was given back to the host cost a
// fault on the host each (measured: 0.4 vs 1-2 CPU-s per GiB written).
constexpr size_t kWritePiece = 128 << 10;

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), std::min(data.size(), kWritePiece));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PathError("write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ResolveWriteTarget(const std::string& path) {
  if (!path.empty() && path.back() == '/') return PathError("write", path, EISDIR);
  std::string p = path;
  for (int hops = 0;; ++hops) {
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) {
      if (errno == ENOENT) return p;  // a new file
      return PathError("write", p);
    }
    if (S_ISLNK(st.st_mode)) {
      if (hops >= kMaxSymlinkHops) return PathError("write", path, ELOOP);
      char buf[4096];
      ssize_t n = readlink(p.c_str(), buf, sizeof buf);
      if (n < 0) return PathError("readlink", p);
      std::string link(buf, static_cast<size_t>(n));
      p = link[0] == '/' ? link : Join(DirName(p), link);
      continue;
    }
    if (S_ISDIR(st.st_mode)) return PathError("write", p, EISDIR);
    if (!S_ISREG(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "write ", QuotePath(p), ": not a regular file (",
          FileTypeOf(st.st_mode) == sandbox::v1::FILE_TYPE_FIFO ? "a FIFO" : "a socket or device",
          "); only regular files can be written"));
    }
    return p;
  }
}

absl::StatusOr<std::unique_ptr<AtomicWriter>> AtomicWriter::Open(const std::string& path,
                                                                 const WriteOptions& options) {
  if (options.mode > 07777) {
    return absl::InvalidArgumentError(
        absl::StrFormat("`mode` %o has bits beyond 07777", options.mode));
  }
  auto target = ResolveWriteTarget(path);
  if (!target.ok()) return target.status();
  std::unique_ptr<AtomicWriter> w(new AtomicWriter());
  w->options_ = options;
  w->target_ = *std::move(target);
  w->dir_ = DirName(w->target_);
  const std::string base = BaseName(w->target_);
  if (options.create_parents) {
    if (absl::Status s = MakeDirs(w->dir_); !s.ok()) return s;
  }
  int dir_fd = open(w->dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) {
    absl::Status s = PathError("open directory", w->dir_);
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat(s.message(), " (set `create_parents` to create it)"));
    }
    return s;
  }
  w->dir_fd_ = UniqueFd(dir_fd);
  if (fstatat(dir_fd, base.c_str(), &w->old_, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISREG(w->old_.st_mode)) return ResolveWriteTarget(w->target_).status();
    w->existed_ = true;
    if (faccessat(dir_fd, base.c_str(), W_OK, AT_EACCESS) != 0) {
      return PathError("write", w->target_);
    }
  }

  int fd = openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) {
    w->unnamed_ = true;
  } else if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
    for (int i = 0; i < kTempNameTries && fd < 0; ++i) {
      std::string name = TempName(base);
      fd = openat(dir_fd, name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
      if (fd >= 0) {
        w->temp_name_ = std::move(name);
      } else if (errno != EEXIST) {
        break;
      }
    }
  }
  if (fd < 0) return PathError("create a temporary file in", w->dir_);
  w->fd_ = UniqueFd(fd);
  if (options.append && w->existed_) {
    if (absl::Status s = w->CopyOldContent(); !s.ok()) return s;
  }
  return w;
}

AtomicWriter::~AtomicWriter() {
  if (!temp_name_.empty()) unlinkat(dir_fd_.get(), temp_name_.c_str(), 0);
}

absl::Status AtomicWriter::CopyOldContent() {
  int in_fd = open(target_.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (in_fd < 0) return PathError("open", target_);
  UniqueFd in(in_fd);
  struct stat st;
  if (fstat(in.get(), &st) != 0) return PathError("fstat", target_);
  auto copied = CopyFileData(in.get(), fd_.get(), static_cast<uint64_t>(st.st_size), target_,
                             target_ + " (temporary copy)");
  if (!copied.ok()) return copied.status();
  // Hash what the temporary file now holds: that is the content published.
  std::unique_ptr<char[]> buf(new char[1 << 20]);
  for (uint64_t off = 0; off < *copied;) {
    auto n = ReadAt(fd_.get(), buf.get(), 1 << 20, off, target_);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    file_hash_.Update(buf.get(), *n);
    off += *n;
  }
  appended_old_ = true;
  end_ = flushed_to_ = *copied;
  return absl::OkStatus();
}

absl::Status AtomicWriter::Write(absl::string_view data) {
  if (absl::Status s = WriteData(data); !s.ok()) return s;
  HashData(data);
  return absl::OkStatus();
}

void AtomicWriter::HashData(absl::string_view data) {
  data_hash_.Update(data);
  if (appended_old_) file_hash_.Update(data);
  bytes_hashed_ += data.size();
}

absl::Status AtomicWriter::WriteData(absl::string_view data) {
  if (absl::Status s = WriteAll(fd_.get(), data, target_); !s.ok()) return s;
  bytes_written_ += data.size();
  end_ += data.size();
  // Streams to disk as the data comes instead of all at the final fsync:
  // each full window is handed to writeback, and the window before it is
  // waited for, so a large write keeps few dirty pages (no stalls in the
  // kernel's dirty-page throttling) and the fsync at the end is short.
  while (end_ - flushed_to_ >= kWritebackWindow) {
    sync_file_range(fd_.get(), static_cast<off64_t>(flushed_to_), kWritebackWindow,
                    SYNC_FILE_RANGE_WRITE);
    if (flushed_to_ >= kWritebackWindow) {
      sync_file_range(
          fd_.get(), static_cast<off64_t>(flushed_to_ - kWritebackWindow), kWritebackWindow,
          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    }
    flushed_to_ += kWritebackWindow;
  }
  return absl::OkStatus();
}

absl::Status AtomicWriter::Sync() {
  if (fdatasync(fd_.get()) != 0) return PathError("fsync", target_);
  const mode_t mode = options_.mode != 0 ? options_.mode : existed_ ? (old_.st_mode & 07777) : 0644;
  if (existed_ && (old_.st_uid != geteuid() || old_.st_gid != getegid())) {
    if (fchown(fd_.get(), old_.st_uid, old_.st_gid) != 0) {
      // Only root may give a file away: the new file is the runner's.
    }
  }
  if (fchmod(fd_.get(), mode) != 0) return PathError("chmod", target_);
  return absl::OkStatus();
}

absl::Status AtomicWriter::LinkTemp() {
  const std::string base = BaseName(target_);
  char proc_path[64];
  std::snprintf(proc_path, sizeof proc_path, "/proc/self/fd/%d", fd_.get());
  for (int i = 0; i < kTempNameTries; ++i) {
    std::string name = TempName(base);
    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH on older kernels; the /proc
    // link works for everyone where /proc is mounted.
    if (linkat(fd_.get(), "", dir_fd_.get(), name.c_str(), AT_EMPTY_PATH) == 0 ||
        (errno != EEXIST &&
         linkat(AT_FDCWD, proc_path, dir_fd_.get(), name.c_str(), AT_SYMLINK_FOLLOW) == 0)) {
      temp_name_ = std::move(name);
      return absl::OkStatus();
    }
    if (errno == EEXIST) continue;
    // Neither link works (no /proc): copy into a named file.
    int named = openat(dir_fd_.get(), name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (named < 0) {
      if (errno == EEXIST) continue;
      return PathError("create a temporary file in", dir_);
    }
    temp_name_ = name;
    UniqueFd copy(named);
    struct stat st;
    if (fstat(fd_.get(), &st) != 0) return PathError("fstat", target_);
    auto copied = CopyFileData(fd_.get(), copy.get(), static_cast<uint64_t>(st.st_size), target_,
                               Join(dir_, name));
    if (!copied.ok()) return copied.status();
    fd_ = std::move(copy);
    unnamed_ = false;
    return Sync();
  }
  return PathError("create a temporary file in", dir_, EEXIST);
}

absl::StatusOr<WriteResult> AtomicWriter::Publish() {
  if (bytes_hashed_ != bytes_written_) {
    return absl::InternalError(absl::StrCat("write ", QuotePath(target_), ": ", bytes_written_,
                                            " bytes written but ", bytes_hashed_, " hashed"));
  }
  if (unnamed_) {
    if (absl::Status s = LinkTemp(); !s.ok()) return s;
  }
  const std::string base = BaseName(target_);
  if (renameat(dir_fd_.get(), temp_name_.c_str(), dir_fd_.get(), base.c_str()) != 0) {
    return PathError("rename into place", target_);
  }
  temp_name_.clear();
  // Makes the rename itself durable; the new file is in place either way.
  fsync(dir_fd_.get());
  WriteResult result;
  result.path = target_;
  result.bytes_written = bytes_written_;
  result.data_sha256 = data_hash_.FinishHex();
  result.sha256 = appended_old_ ? file_hash_.FinishHex() : result.data_sha256;
  struct stat st;
  if (fstat(fd_.get(), &st) == 0) {
    FillFileInfo(target_, st, &result.info);
    SetName(base, &result.info);
  }
  return result;
}

}  // namespace sagewai::fs
