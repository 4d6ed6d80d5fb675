#include "tool-runner/fs/fs_watch.h"

#include <dirent.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tool-runner/fs/fs_ops.h"
#include "common/fs_path.h"

namespace sagewai::fs {
namespace {

namespace v1 = ::sagewai::sandbox::v1;

constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO |
                           IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | IN_EXCL_UNLINK;
constexpr int kMaxDepth = 256;

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

bool IsUnder(const std::string& path, const std::string& dir) {
  return path == dir ||
         (path.size() > dir.size() && absl::StartsWith(path, dir) && path[dir.size()] == '/');
}

v1::FileType TypeNow(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return v1::FILE_TYPE_UNSPECIFIED;
  return FileTypeOf(st.st_mode);
}

}  // namespace

v1::WatchEvent MakeWatchEvent(v1::WatchEvent::Kind kind, const std::string& path, v1::FileType type,
                              uint32_t cookie) {
  v1::WatchEvent e;
  e.set_kind(kind);
  if (IsValidUtf8(path)) {
    e.set_path(path);
  } else {
    e.set_path(DisplayName(path));
    e.set_path_bytes(path);
  }
  e.set_type(type);
  e.set_cookie(cookie);
  return e;
}

absl::StatusOr<std::unique_ptr<TreeWatch>> TreeWatch::Create(const std::string& root,
                                                             bool recursive) {
  struct stat st;
  if (stat(root.c_str(), &st) != 0) return PathError("watch", root);
  if (!S_ISDIR(st.st_mode)) return PathError("watch", root, ENOTDIR);
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    absl::Status s = PathError("inotify_init for", root);
    if (errno == EMFILE) {
      return absl::ResourceExhaustedError(
          absl::StrCat(s.message(), " (too many watches at once: fs.inotify.max_user_instances)"));
    }
    return s;
  }
  std::unique_ptr<TreeWatch> w(new TreeWatch(UniqueFd(fd), root, recursive));
  if (absl::Status s = w->AddTree(root, nullptr, 0); !s.ok()) return s;
  auto it = w->wds_.find(root);
  if (it == w->wds_.end()) return PathError("watch", root, ENOENT);
  w->root_wd_ = it->second;
  return w;
}

absl::Status TreeWatch::AddTree(const std::string& dir, std::vector<v1::WatchEvent>* report,
                                int depth) {
  if (paths_.size() >= kMaxWatchedDirectories || depth > kMaxDepth) {
    return absl::ResourceExhaustedError(absl::StrCat("watch ", QuotePath(root_), ": more than ",
                                                     kMaxWatchedDirectories, " directories"));
  }
  const bool is_root = depth == 0 && report == nullptr && paths_.empty();
  const int wd = inotify_add_watch(fd_.get(), dir.c_str(), kMask | (is_root ? 0 : IN_DONT_FOLLOW));
  if (wd < 0) {
    if (errno == ENOSPC) {
      return absl::ResourceExhaustedError(
          absl::StrCat("watch ", QuotePath(dir),
                       ": out of inotify watches (raise fs.inotify.max_user_watches)"));
    }
    // A subdirectory that vanished or that we may not read is skipped.
    if (is_root || (errno != ENOENT && errno != EACCES && errno != ENOTDIR)) {
      return PathError("watch", dir);
    }
    return absl::OkStatus();
  }
  if (auto old = paths_.find(wd); old != paths_.end()) wds_.erase(old->second);
  paths_[wd] = dir;
  wds_[dir] = wd;
  if (!recursive_) return absl::OkStatus();
  std::unique_ptr<DIR, DirCloser> d(opendir(dir.c_str()));
  if (!d) return absl::OkStatus();
  while (dirent* e = readdir(d.get())) {
    absl::string_view name(e->d_name);
    if (name == "." || name == ".." || absl::StrContains(name, kTempMarker)) continue;
    const std::string child = Join(dir, name);
    struct stat st;
    if (lstat(child.c_str(), &st) != 0) continue;
    if (report != nullptr) {
      report->push_back(MakeWatchEvent(v1::WatchEvent::KIND_CREATE, child, FileTypeOf(st.st_mode)));
    }
    if (S_ISDIR(st.st_mode)) {
      if (absl::Status s = AddTree(child, report, depth + 1); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

void TreeWatch::DropTree(const std::string& dir) {
  std::vector<std::pair<std::string, int>> gone;
  for (const auto& [path, wd] : wds_) {
    if (IsUnder(path, dir)) gone.emplace_back(path, wd);
  }
  for (const auto& [path, wd] : gone) {
    inotify_rm_watch(fd_.get(), wd);
    wds_.erase(path);
    paths_.erase(wd);
  }
}

absl::Status TreeWatch::ReadEvents(std::vector<v1::WatchEvent>* out) {
  alignas(inotify_event) char buf[64 * 1024];
  for (;;) {
    const ssize_t n = read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n < 0) return PathError("read inotify events for", root_);
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      const std::string name = ev->len > 0 ? std::string(ev->name, strnlen(ev->name, ev->len)) : "";
      HandleOne(ev->wd, ev->mask, ev->cookie, name, out);
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  return absl::OkStatus();
}

void TreeWatch::HandleOne(int wd, uint32_t mask, uint32_t cookie, const std::string& name,
                          std::vector<v1::WatchEvent>* out) {
  if (mask & IN_Q_OVERFLOW) {
    out->push_back(MakeWatchEvent(v1::WatchEvent::KIND_OVERFLOW, root_, v1::FILE_TYPE_UNSPECIFIED));
    return;
  }
  auto it = paths_.find(wd);
  if (it == paths_.end()) return;
  const std::string dir = it->second;
  if (mask & IN_IGNORED) {
    wds_.erase(dir);
    paths_.erase(it);
    return;
  }
  if (mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
    if (wd == root_wd_) {
      if (!root_gone_) {
        out->push_back(MakeWatchEvent(
            (mask & IN_DELETE_SELF) ? v1::WatchEvent::KIND_DELETE : v1::WatchEvent::KIND_MOVED_FROM,
            root_, v1::FILE_TYPE_DIRECTORY));
      }
      root_gone_ = true;
    } else if ((mask & IN_MOVE_SELF) && !renamed_.erase(wd)) {
      DropTree(dir);  // moved out of the tree
    }
    return;
  }
  if (name.empty() || absl::StrContains(name, kTempMarker)) return;
  const std::string path = Join(dir, name);
  const bool is_dir = (mask & IN_ISDIR) != 0;
  const v1::FileType type = is_dir ? v1::FILE_TYPE_DIRECTORY : v1::FILE_TYPE_UNSPECIFIED;
  if (mask & IN_CREATE) {
    out->push_back(
        MakeWatchEvent(v1::WatchEvent::KIND_CREATE, path, is_dir ? type : TypeNow(path)));
    if (is_dir && recursive_ && !AddTree(path, out, 1).ok()) {
      out->push_back(
          MakeWatchEvent(v1::WatchEvent::KIND_OVERFLOW, root_, v1::FILE_TYPE_UNSPECIFIED));
    }
  } else if (mask & IN_MODIFY) {
    out->push_back(
        MakeWatchEvent(v1::WatchEvent::KIND_MODIFY, path, is_dir ? type : TypeNow(path)));
  } else if (mask & IN_DELETE) {
    out->push_back(MakeWatchEvent(v1::WatchEvent::KIND_DELETE, path, type));
  } else if (mask & IN_MOVED_FROM) {
    out->push_back(MakeWatchEvent(v1::WatchEvent::KIND_MOVED_FROM, path, type, cookie));
    if (is_dir && recursive_) {
      if (moving_.size() > 1024) moving_.clear();
      moving_[cookie] = path;
    }
  } else if (mask & IN_MOVED_TO) {
    out->push_back(
        MakeWatchEvent(v1::WatchEvent::KIND_MOVED_TO, path, is_dir ? type : TypeNow(path), cookie));
    if (is_dir && recursive_) {
      auto from = moving_.find(cookie);
      if (from != moving_.end()) {
        // Moved within the tree: the watches stay, under the new path.
        const std::string old_path = from->second;
        moving_.erase(from);
        std::vector<std::pair<std::string, int>> moved;
        for (const auto& [p, w] : wds_) {
          if (IsUnder(p, old_path)) moved.emplace_back(p, w);
        }
        for (const auto& [p, w] : moved) {
          const std::string np = path + p.substr(old_path.size());
          wds_.erase(p);
          wds_[np] = w;
          paths_[w] = np;
          if (p == old_path) renamed_.insert(w);
        }
      } else if (!AddTree(path, nullptr, 1).ok()) {
        out->push_back(
            MakeWatchEvent(v1::WatchEvent::KIND_OVERFLOW, root_, v1::FILE_TYPE_UNSPECIFIED));
      }
    }
  }
}

}  // namespace sagewai::fs
