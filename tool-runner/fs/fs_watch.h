// inotify over a directory (optionally its whole tree) turned into the
// API's WatchEvents. Not thread-safe: one thread creates it (the walk of a
// recursive tree may block) and then one thread reads it.
//
// - Recursive watches follow the tree as it changes: directories created or
//   moved in are watched as they appear (entries created in them before the
//   watch was in place are reported as CREATE), directories moved within
//   the tree keep their watches under the new path, and directories moved
//   out are dropped.
// - An atomic write shows as one MOVED_TO of the target: the runner's own
//   temporary names (see fs_ops.h kTempMarker) are never reported.
// - IN_Q_OVERFLOW (the kernel's queue overflowed), and a watch that cannot
//   be added for lack of inotify watches, become KIND_OVERFLOW.
// - Types: DIRECTORY when the kernel says so; otherwise what lstat finds
//   when the event is read (UNSPECIFIED when the entry is already gone).
// - When the watched directory itself is deleted or moved, its DELETE (or
//   MOVED_FROM) is the last event: root_gone() turns true.
#ifndef SAGEWAI_TOOL_RUNNER_FS_FS_WATCH_H_
#define SAGEWAI_TOOL_RUNNER_FS_FS_WATCH_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "sagewai/sandbox/v1/sandbox.pb.h"

namespace sagewai::fs {

// Directories one recursive watch follows at most; beyond, KIND_OVERFLOW.
inline constexpr size_t kMaxWatchedDirectories = 65536;

class TreeWatch {
 public:
  // Watches `root` (a directory; a symlink to one is followed).
  static absl::StatusOr<std::unique_ptr<TreeWatch>> Create(const std::string& root, bool recursive);

  // Non-blocking; becomes readable when events are queued.
  int fd() const { return fd_.get(); }

  // Reads everything queued, appending to `out`. Errors are read(2) failures.
  absl::Status ReadEvents(std::vector<sagewai::sandbox::v1::WatchEvent>* out);

  bool root_gone() const { return root_gone_; }
  size_t watched_directories() const { return paths_.size(); }

 private:
  TreeWatch(UniqueFd fd, std::string root, bool recursive)
      : fd_(std::move(fd)), root_(std::move(root)), recursive_(recursive) {}
  // Adds watches for `dir` and, when recursive, its subdirectories; with
  // `report`, entries found are appended as CREATE events.
  absl::Status AddTree(const std::string& dir,
                       std::vector<sagewai::sandbox::v1::WatchEvent>* report, int depth);
  void DropTree(const std::string& dir);
  void HandleOne(int wd, uint32_t mask, uint32_t cookie, const std::string& name,
                 std::vector<sagewai::sandbox::v1::WatchEvent>* out);

  UniqueFd fd_;
  std::string root_;
  bool recursive_;
  int root_wd_ = -1;
  bool root_gone_ = false;
  std::unordered_map<int, std::string> paths_;  // watch descriptor -> directory
  std::unordered_map<std::string, int> wds_;    // directory -> watch descriptor
  // MOVED_FROM of a watched directory waiting for its MOVED_TO: cookie -> path.
  std::unordered_map<uint32_t, std::string> moving_;
  // Directories renamed within the tree whose IN_MOVE_SELF is still due.
  std::unordered_set<int> renamed_;
};

// Fills a WatchEvent (path and path_bytes).
sagewai::sandbox::v1::WatchEvent MakeWatchEvent(sagewai::sandbox::v1::WatchEvent::Kind kind,
                                                const std::string& path,
                                                sagewai::sandbox::v1::FileType type,
                                                uint32_t cookie = 0);

}  // namespace sagewai::fs

#endif  // SAGEWAI_TOOL_RUNNER_FS_FS_WATCH_H_
