#include "tool-runner/fs/fs_glob.h"

#include <dirent.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_split.h"
#include "common/fs_path.h"
#include "tool-runner/fs/fs_ops.h"

namespace sagewai::fs {
namespace {

namespace v1 = ::sagewai::sandbox::v1;

// Directory entries a Glob may look at before it stops with `truncated`:
// "/**" must not walk a whole disk.
constexpr uint64_t kMaxVisited = 1000000;

// Where the class opening at p[open] == '[' closes (the index of its ']'),
// or npos when it does not: after an optional '!' or '^', a first ']' is a
// member, and '\' escapes the next character.
size_t ClassEnd(absl::string_view p, size_t open) {
  size_t i = open + 1;
  if (i < p.size() && (p[i] == '!' || p[i] == '^')) ++i;
  for (bool first = true; i < p.size(); ++i, first = false) {
    if (p[i] == ']' && !first) return i;
    if (p[i] == '\\') ++i;
  }
  return absl::string_view::npos;
}

// `segment` in fnmatch(3)'s syntax with this module's meaning: an unclosed
// '[' and a '[' inside a class are literal (fnmatch would start a POSIX
// "[:alpha:]" there), "[^" negates whatever POSIXLY_CORRECT says, and a
// trailing '\' is literal.
std::string FnmatchPattern(absl::string_view segment) {
  std::string out;
  out.reserve(segment.size() + 4);
  for (size_t i = 0; i < segment.size(); ++i) {
    const char c = segment[i];
    if (c == '\\') {
      out += '\\';
      out += i + 1 < segment.size() ? segment[++i] : '\\';
      continue;
    }
    const size_t end = c == '[' ? ClassEnd(segment, i) : absl::string_view::npos;
    if (end == absl::string_view::npos) {
      if (c == '[') out += '\\';
      out += c;
      continue;
    }
    out += '[';
    size_t j = i + 1;
    if (segment[j] == '!' || segment[j] == '^') {
      out += '!';
      ++j;
    }
    for (; j < end; ++j) {
      if (segment[j] == '[') out += '\\';
      out += segment[j];
      if (segment[j] == '\\') out += segment[++j];
    }
    out += ']';
    i = end;
  }
  return out;
}

bool HasMeta(absl::string_view segment) {
  return segment.find_first_of("*?[\\") != absl::string_view::npos;
}

std::string Unescape(absl::string_view segment) {
  std::string out;
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] == '\\' && i + 1 < segment.size()) ++i;
    out += segment[i];
  }
  return out;
}

struct DirCloser {
  void operator()(DIR* d) const { closedir(d); }
};

std::vector<std::string> SortedNames(const std::string& dir_path, uint64_t* visited) {
  std::vector<std::string> names;
  std::unique_ptr<DIR, DirCloser> dir(opendir(dir_path.c_str()));
  if (!dir) return names;
  while (dirent* e = readdir(dir.get())) {
    absl::string_view n(e->d_name);
    if (n != "." && n != "..") names.emplace_back(n);
    ++*visited;
  }
  std::sort(names.begin(), names.end());
  return names;
}

class Walker {
 public:
  Walker(std::vector<std::string> segments, bool dirs_only, uint32_t max_entries,
         v1::GlobResponse* out)
      : segments_(std::move(segments)),
        dirs_only_(dirs_only),
        max_entries_(max_entries),
        out_(out) {}

  // False once the walk must stop.
  bool Expand(const std::string& abs, const std::string& rel, size_t i) {
    if (visited_ > kMaxVisited) {
      out_->set_truncated(true);
      return false;
    }
    if (i == segments_.size()) return Emit(abs, rel);
    const std::string& seg = segments_[i];
    const bool last = i + 1 == segments_.size();
    if (seg == "**") {
      if (!Expand(abs, rel, i + 1)) return false;
      for (const std::string& name : SortedNames(abs, &visited_)) {
        if (name[0] == '.') continue;
        const std::string child = Join(abs, name);
        struct stat st;
        if (lstat(child.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
        if (!Expand(child, Join(rel, name), i)) return false;
      }
      return true;
    }
    if (!HasMeta(seg)) {
      const std::string name = Unescape(seg);
      return Step(abs, rel, name, last, i);
    }
    for (const std::string& name : SortedNames(abs, &visited_)) {
      if (!MatchSegment(seg, name)) continue;
      if (!Step(abs, rel, name, last, i)) return false;
    }
    return true;
  }

 private:
  bool Step(const std::string& abs, const std::string& rel, const std::string& name, bool last,
            size_t i) {
    const std::string child = Join(abs, name);
    const std::string child_rel = rel.empty() ? name : Join(rel, name);
    if (last) return Emit(child, child_rel);
    struct stat st;
    if (stat(child.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return true;
    return Expand(child, child_rel, i + 1);
  }

  bool Emit(const std::string& abs, const std::string& rel) {
    if (rel.empty()) return true;  // the start directory itself
    struct stat st;
    if (lstat(abs.c_str(), &st) != 0) return true;
    if (dirs_only_) {
      struct stat target;
      if (stat(abs.c_str(), &target) != 0 || !S_ISDIR(target.st_mode)) return true;
    }
    if (!seen_.insert(abs).second) return true;
    if (static_cast<uint32_t>(out_->entries_size()) >= max_entries_) {
      out_->set_truncated(true);
      return false;
    }
    v1::FileInfo* info = out_->add_entries();
    FillFileInfo(abs, st, info);
    SetName(rel, info);
    return true;
  }

  std::vector<std::string> segments_;
  bool dirs_only_;
  uint32_t max_entries_;
  v1::GlobResponse* out_;
  uint64_t visited_ = 0;
  absl::flat_hash_set<std::string> seen_;
};

}  // namespace

bool MatchSegment(absl::string_view pattern, absl::string_view name) {
  if (pattern.find('\0') != absl::string_view::npos) return false;  // names hold no NUL
  // FNM_PERIOD: a leading '.' of the name matches only a literal '.'.
  return fnmatch(FnmatchPattern(pattern).c_str(), std::string(name).c_str(), FNM_PERIOD) == 0;
}

absl::Status Glob(const std::string& base, const std::string& pattern, uint32_t max_entries,
                  v1::GlobResponse* out) {
  if (pattern.empty()) return absl::InvalidArgumentError("`pattern` is empty");
  std::vector<std::string> segments = absl::StrSplit(pattern, '/', absl::SkipEmpty());
  const bool absolute = pattern[0] == '/';
  const bool dirs_only = pattern.back() == '/';
  const std::string start = absolute ? "/" : base;
  struct stat st;
  if (stat(start.c_str(), &st) != 0) return PathError("glob in", start);
  if (!S_ISDIR(st.st_mode)) return PathError("glob in", start, ENOTDIR);
  const uint32_t cap =
      max_entries == 0 ? kDefaultMaxEntries : std::min(max_entries, kMaxEntriesLimit);
  Walker walker(std::move(segments), dirs_only, cap, out);
  walker.Expand(start, "", 0);
  std::sort(out->mutable_entries()->begin(), out->mutable_entries()->end(),
            [](const v1::FileInfo& a, const v1::FileInfo& b) {
              const std::string& an = a.name_bytes().empty() ? a.name() : a.name_bytes();
              const std::string& bn = b.name_bytes().empty() ? b.name() : b.name_bytes();
              return an < bn;
            });
  return absl::OkStatus();
}

}  // namespace sagewai::fs
