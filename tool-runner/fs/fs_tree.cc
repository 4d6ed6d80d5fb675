#include "tool-runner/fs/fs_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/fd_io.h"
#include "common/fs_path.h"
#include "common/unique_fd.h"

namespace sagewai::fs {
namespace {

// Deeper trees are refused rather than risking the stack and the fd limit.
constexpr int kMaxDepth = 256;

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

// The names in `dir_fd` (without "." and ".."), sorted. The fd stays open.
absl::StatusOr<std::vector<std::string>> ReadNames(int dir_fd, const std::string& path) {
  int dup_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return PathError("dup", path);
  std::unique_ptr<DIR, DirCloser> dir(fdopendir(dup_fd));
  if (!dir) {
    const int err = errno;
    close(dup_fd);
    return PathError("opendir", path, err);
  }
  rewinddir(dir.get());
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = readdir(dir.get())) {
    absl::string_view n(e->d_name);
    if (n != "." && n != "..") names.emplace_back(n);
    errno = 0;
  }
  if (errno != 0) return PathError("readdir", path);
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status RemoveContentsAt(int dir_fd, const std::string& dir_path, uint64_t* removed,
                              int depth) {
  if (depth > kMaxDepth) {
    return absl::FailedPreconditionError(absl::StrCat(
        "remove ", QuotePath(dir_path), ": the tree is deeper than ", kMaxDepth, " levels"));
  }
  auto names = ReadNames(dir_fd, dir_path);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    const std::string path = Join(dir_path, name);
    if (unlinkat(dir_fd, name.c_str(), 0) == 0) {
      ++*removed;
      continue;
    }
    if (errno == ENOENT) continue;
    if (errno != EISDIR && errno != EPERM) return PathError("unlink", path);
    // A directory (unlink of a directory fails with EISDIR, or EPERM on
    // some filesystems): empty it first. O_NOFOLLOW: a symlink swapped in
    // meanwhile is not followed.
    int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      // Not a directory after all: the EPERM was real.
      if (errno == ENOTDIR || errno == ELOOP) return PathError("unlink", path, EPERM);
      return PathError("open", path);
    }
    UniqueFd child(fd);
    if (absl::Status st = RemoveContentsAt(child.get(), path, removed, depth + 1); !st.ok()) {
      return st;
    }
    child.reset();
    if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return PathError("rmdir", path);
    }
    ++*removed;
  }
  return absl::OkStatus();
}

absl::Status CopyFile(const std::string& src, const std::string& dst, const struct stat& st) {
  int in_fd = open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in_fd < 0) return PathError("open", src);
  UniqueFd in(in_fd);
  // A procfs file here is the runner's own process (see OpenForRead).
  struct statfs fs_info;
  if (fstatfs(in_fd, &fs_info) == 0 && fs_info.f_type == PROC_SUPER_MAGIC) {
    return absl::PermissionDeniedError("copy " + src + ": files under /proc are refused");
  }
  int out_fd = open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out_fd < 0) return PathError("create", dst);
  UniqueFd out(out_fd);
  auto copied = CopyFileData(in.get(), out.get(), static_cast<uint64_t>(st.st_size), src, dst);
  if (!copied.ok()) return copied.status();
  // Bytes appended to the source while we copied are copied too.
  char buf[65536];
  uint64_t offset = *copied;
  for (;;) {
    ssize_t n = pread(in.get(), buf, sizeof buf, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PathError("read", src);
    if (n == 0) break;
    if (!WriteAll(out.get(), buf, static_cast<size_t>(n))) return PathError("write", dst);
    offset += static_cast<uint64_t>(n);
  }
  if (fchown(out.get(), st.st_uid, st.st_gid) != 0) {
    // Not permitted for an unprivileged user: the copy is ours.
  }
  if (fchmod(out.get(), st.st_mode & 07777) != 0) return PathError("chmod", dst);
  const timespec times[2] = {st.st_atim, st.st_mtim};
  futimens(out.get(), times);
  if (fdatasync(out.get()) != 0) return PathError("fsync", dst);
  return absl::OkStatus();
}

absl::Status CopyTreeAt(const std::string& src, const std::string& dst, int depth) {
  if (depth > kMaxDepth) {
    return absl::FailedPreconditionError(
        absl::StrCat("copy ", QuotePath(src), ": the tree is deeper than ", kMaxDepth, " levels"));
  }
  struct stat st;
  if (lstat(src.c_str(), &st) != 0) return PathError("lstat", src);
  switch (st.st_mode & S_IFMT) {
    case S_IFREG:
      return CopyFile(src, dst, st);
    case S_IFLNK: {
      std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 4096) + 1, '\0');
      ssize_t n = readlink(src.c_str(), target.data(), target.size());
      if (n < 0) return PathError("readlink", src);
      target.resize(static_cast<size_t>(n));
      if (symlink(target.c_str(), dst.c_str()) != 0) return PathError("symlink", dst);
      lchown(dst.c_str(), st.st_uid, st.st_gid);
      return absl::OkStatus();
    }
    case S_IFIFO:
      if (mkfifo(dst.c_str(), st.st_mode & 07777) != 0) return PathError("mkfifo", dst);
      return absl::OkStatus();
    case S_IFDIR: {
      if (mkdir(dst.c_str(), 0700) != 0) return PathError("mkdir", dst);
      int fd = open(src.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return PathError("open", src);
      UniqueFd dir(fd);
      auto names = ReadNames(dir.get(), src);
      if (!names.ok()) return names.status();
      for (const std::string& name : *names) {
        if (absl::Status s = CopyTreeAt(Join(src, name), Join(dst, name), depth + 1); !s.ok()) {
          return s;
        }
      }
      lchown(dst.c_str(), st.st_uid, st.st_gid);
      if (chmod(dst.c_str(), st.st_mode & 07777) != 0) return PathError("chmod", dst);
      const timespec times[2] = {st.st_atim, st.st_mtim};
      utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW);
      return absl::OkStatus();
    }
    default:
      return absl::FailedPreconditionError(
          absl::StrCat("cannot copy ", QuotePath(src),
                       " to another filesystem: sockets and devices are not copied"));
  }
}

}  // namespace

absl::Status RemoveContents(int dir_fd, const std::string& dir_path, uint64_t* removed) {
  return RemoveContentsAt(dir_fd, dir_path, removed, 0);
}

absl::Status CopyTree(const std::string& src, const std::string& dst) {
  absl::Status st = CopyTreeAt(src, dst, 0);
  if (!st.ok()) {
    struct stat dst_st;
    if (lstat(dst.c_str(), &dst_st) == 0) {
      if (S_ISDIR(dst_st.st_mode)) {
        int fd = open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
          UniqueFd dir(fd);
          uint64_t ignored = 0;
          RemoveContents(dir.get(), dst, &ignored).IgnoreError();
        }
        rmdir(dst.c_str());
      } else {
        unlink(dst.c_str());
      }
    }
  }
  return st;
}

absl::StatusOr<uint64_t> CopyFileData(int in, int out, uint64_t len, const std::string& in_path,
                                      const std::string& out_path) {
  uint64_t done = 0;
  bool use_copy_range = true;
  std::unique_ptr<char[]> buf;
  constexpr size_t kBuf = 1 << 20;
  while (done < len) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(len - done, 1u << 30));
    if (use_copy_range) {
      loff_t off_in = static_cast<loff_t>(done);
      ssize_t n = copy_file_range(in, &off_in, out, nullptr, want, 0);
      if (n > 0) {
        done += static_cast<uint64_t>(n);
        continue;
      }
      if (n == 0) break;  // EOF: the file shrank
      if (errno == EINTR) continue;
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
          errno == EBADF) {
        use_copy_range = false;
        continue;
      }
      return PathError("copy_file_range", absl::StrCat(in_path, " -> ", out_path));
    }
    if (!buf) buf.reset(new char[kBuf]);
    ssize_t n = pread(in, buf.get(), std::min(want, kBuf), static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PathError("read", in_path);
    if (n == 0) break;
    if (!WriteAll(out, buf.get(), static_cast<size_t>(n))) return PathError("write", out_path);
    done += static_cast<uint64_t>(n);
  }
  return done;
}

}  // namespace sagewai::fs
