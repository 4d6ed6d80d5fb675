#include "tool-runner/fs/fs_ops.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/fs_path.h"
#include "tool-runner/fs/fs_tree.h"

namespace sagewai::fs {
namespace {

namespace v1 = ::sagewai::sandbox::v1;

const char* KindName(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return "a directory";
    case S_IFIFO:
      return "a FIFO";
    case S_IFSOCK:
      return "a socket";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    default:
      return "not a regular file";
  }
}

absl::Status NotRegular(absl::string_view call, const std::string& path, mode_t mode) {
  if (S_ISDIR(mode)) return PathError(call, path, EISDIR);
  return absl::FailedPreconditionError(absl::StrCat(
      call, " ", QuotePath(path), ": it is ", KindName(mode), "; only regular files can be read"));
}

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

struct ListWalk {
  uint32_t depth;
  uint32_t max_entries;
  v1::ListResponse* out;
};

// Lists the directory `dir_fd` (at absolute `abs`, listed name prefix
// `rel`); false once the cap is reached.
bool ListAt(ListWalk& walk, int dir_fd, const std::string& abs, const std::string& rel,
            uint32_t level) {
  int dup_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return true;
  std::unique_ptr<DIR, DirCloser> dir(fdopendir(dup_fd));
  if (!dir) {
    close(dup_fd);
    return true;
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(dir.get())) {
    absl::string_view n(e->d_name);
    if (n != "." && n != "..") names.emplace_back(n);
  }
  dir.reset();
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone
    if (static_cast<uint32_t>(walk.out->entries_size()) >= walk.max_entries) {
      walk.out->set_truncated(true);
      return false;
    }
    const std::string child_abs = Join(abs, name);
    const std::string child_rel = rel.empty() ? name : Join(rel, name);
    v1::FileInfo* info = walk.out->add_entries();
    FillFileInfo(child_abs, st, info);
    SetName(child_rel, info);
    if (S_ISDIR(st.st_mode) && level < walk.depth) {
      int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) continue;  // unreadable: listed, not entered
      UniqueFd child(fd);
      if (!ListAt(walk, child.get(), child_abs, child_rel, level + 1)) return false;
    }
  }
  return true;
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// Why `st` (a directory) must not be removed, or "".
std::string ProtectedReason(const struct stat& st, const std::string& workdir) {
  char real[PATH_MAX];
  std::string dir = realpath(workdir.c_str(), real) != nullptr ? std::string(real) : workdir;
  bool first = true;
  for (;;) {
    struct stat p;
    if (stat(dir.c_str(), &p) == 0 && SameFile(p, st)) {
      if (dir == "/") return "it is the root directory";
      return first ? "it is the work directory" : "it contains the work directory";
    }
    if (dir == "/" || dir == ".") break;
    dir = DirName(dir);
    first = false;
  }
  return "";
}

absl::Status RenameNoReplace(const std::string& from, const std::string& to) {
  if (renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) {
    return absl::OkStatus();
  }
  if (errno != EINVAL && errno != ENOSYS) {
    return PathError("rename", absl::StrCat(from, " -> ", to));
  }
  // The filesystem cannot do RENAME_NOREPLACE (some FUSE and network
  // filesystems): check, then rename.
  struct stat st;
  if (lstat(to.c_str(), &st) == 0) return PathError("rename", to, EEXIST);
  if (rename(from.c_str(), to.c_str()) != 0) {
    return PathError("rename", absl::StrCat(from, " -> ", to));
  }
  return absl::OkStatus();
}

absl::Status RemoveAny(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return PathError("lstat", path);
  if (!S_ISDIR(st.st_mode)) {
    if (unlink(path.c_str()) != 0) return PathError("unlink", path);
    return absl::OkStatus();
  }
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return PathError("open", path);
  UniqueFd dir(fd);
  uint64_t removed = 0;
  if (absl::Status s = RemoveContents(dir.get(), path, &removed); !s.ok()) return s;
  if (rmdir(path.c_str()) != 0) return PathError("rmdir", path);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ReadableFile> OpenForRead(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return PathError("read", path);
  if (!S_ISREG(st.st_mode)) return NotRegular("read", path, st.st_mode);
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return PathError("open", path);
  ReadableFile file;
  file.fd = UniqueFd(fd);
  if (fstat(fd, &st) != 0) return PathError("fstat", path);
  if (!S_ISREG(st.st_mode)) return NotRegular("read", path, st.st_mode);
  // Whatever the path (/proc/self, /proc/thread-self, the runner's pid, a
  // link a tool made), a procfs file opened here is the runner's own
  // process: the kernel lets a process into itself whoever it is, so its
  // memory would be readable where no tool may read it.
  struct statfs fs_info;
  if (fstatfs(fd, &fs_info) != 0) return PathError("fstatfs", path);
  if (fs_info.f_type == PROC_SUPER_MAGIC) {
    return absl::PermissionDeniedError(
        "read " + path +
        ": files under /proc are refused (they would show the runner's own process); read "
        "them with a bash call, as the agent");
  }
  file.size = static_cast<uint64_t>(st.st_size);
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return file;
}

absl::StatusOr<size_t> ReadAt(int fd, char* buf, size_t size, uint64_t offset,
                              const std::string& path) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd, buf + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return PathError("read", path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::Status List(const std::string& path, uint32_t depth, uint32_t max_entries,
                  v1::ListResponse* out) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return PathError("list", path);
  UniqueFd dir(fd);
  ListWalk walk{std::min(depth == 0 ? 1u : depth, kMaxListDepth),
                max_entries == 0 ? kDefaultMaxEntries : std::min(max_entries, kMaxEntriesLimit),
                out};
  ListAt(walk, dir.get(), path, "", 1);
  return absl::OkStatus();
}

absl::Status MakeDirs(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return PathError("mkdir", path, ENOTDIR);
  }
  const std::string parent = DirName(path);
  if (parent != path && parent != "." && parent != "/") {
    if (absl::Status s = MakeDirs(parent); !s.ok()) return s;
  }
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return PathError("mkdir", path);
  return absl::OkStatus();
}

absl::Status MakeDir(const std::string& path, bool parents, uint32_t mode,
                     v1::MakeDirResponse* out) {
  if (mode > 07777) {
    return absl::InvalidArgumentError(absl::StrFormat("`mode` %o has bits beyond 07777", mode));
  }
  bool created = true;
  if (parents) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        return absl::AlreadyExistsError(
            absl::StrCat("mkdir ", QuotePath(path), ": it exists and is not a directory"));
      }
      created = false;
    } else {
      const std::string parent = DirName(path);
      if (parent != "/" && parent != ".") {
        if (absl::Status s = MakeDirs(parent); !s.ok()) return s;
      }
    }
  }
  if (created) {
    if (mkdir(path.c_str(), mode == 0 ? 0755 : mode) != 0) {
      if (!(parents && errno == EEXIST)) return PathError("mkdir", path);
      created = false;
    } else if (mode != 0 && chmod(path.c_str(), mode) != 0) {
      return PathError("chmod", path);
    }
  }
  auto info = StatPath(path, /*follow=*/false);
  if (!info.ok()) return info.status();
  *out->mutable_info() = *std::move(info);
  out->set_created(created);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Remove(const std::string& path, bool recursive,
                                const std::string& workdir) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return PathError("remove", path);
  if (!S_ISDIR(st.st_mode)) {
    if (unlink(path.c_str()) != 0) return PathError("remove", path);
    return 1;
  }
  if (std::string why = ProtectedReason(st, workdir); !why.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to remove ", QuotePath(path), ": ", why));
  }
  if (!recursive) {
    if (rmdir(path.c_str()) != 0) {
      if (errno == ENOTEMPTY || errno == EEXIST) {
        return absl::FailedPreconditionError(
            absl::StrCat("remove ", QuotePath(path),
                         ": Directory not empty (set `recursive` to remove it with its contents)"));
      }
      return PathError("remove", path);
    }
    return 1;
  }
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return PathError("open", path);
  UniqueFd dir(fd);
  uint64_t removed = 0;
  if (absl::Status s = RemoveContents(dir.get(), path, &removed); !s.ok()) return s;
  dir.reset();
  if (rmdir(path.c_str()) != 0) return PathError("rmdir", path);
  return removed + 1;
}

absl::StatusOr<v1::FileInfo> Move(const std::string& source, const std::string& destination,
                                  bool overwrite, bool create_parents) {
  struct stat st;
  if (lstat(source.c_str(), &st) != 0) return PathError("move", source);
  if (create_parents) {
    if (absl::Status s = MakeDirs(DirName(destination)); !s.ok()) return s;
  }
  const std::string both = absl::StrCat(source, " -> ", destination);
  int rc = overwrite ? rename(source.c_str(), destination.c_str())
                     : renameat2(AT_FDCWD, source.c_str(), AT_FDCWD, destination.c_str(),
                                 RENAME_NOREPLACE);
  if (rc != 0 && !overwrite && (errno == EINVAL || errno == ENOSYS)) {
    struct stat dst_st;
    if (lstat(destination.c_str(), &dst_st) == 0) return PathError("move", destination, EEXIST);
    rc = rename(source.c_str(), destination.c_str());
  }
  if (rc != 0 && errno == EEXIST) return PathError("move", destination, EEXIST);
  if (rc != 0 && errno != EXDEV) return PathError("move", both);
  if (rc != 0) {
    struct stat dst_st;
    if (!overwrite && lstat(destination.c_str(), &dst_st) == 0) {
      return PathError("move", destination, EEXIST);
    }
    const std::string temp = Join(DirName(destination), TempName(BaseName(destination)));
    if (absl::Status s = CopyTree(source, temp); !s.ok()) return s;
    absl::Status placed = absl::OkStatus();
    if (overwrite) {
      if (rename(temp.c_str(), destination.c_str()) != 0) placed = PathError("move", both);
    } else {
      placed = RenameNoReplace(temp, destination);
    }
    if (!placed.ok()) {
      RemoveAny(temp).IgnoreError();
      return placed;
    }
    if (absl::Status s = RemoveAny(source); !s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("copied ", QuotePath(both),
                                       " across filesystems, but the source stays: ", s.message()));
    }
  }
  return StatPath(destination, /*follow=*/false);
}

std::string TempName(const std::string& base) {
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r) {
    static std::atomic<uint64_t> counter{0};
    r = (static_cast<uint64_t>(getpid()) << 32) ^ counter.fetch_add(1) ^
        static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&r));
  }
  // Long names are cut so that the temporary name stays within NAME_MAX.
  return absl::StrCat(".", base.substr(0, 200), kTempMarker, absl::Hex(r, absl::kZeroPad16));
}

}  // namespace sagewai::fs
