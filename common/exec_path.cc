#include "common/exec_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace sagewai {
namespace {

ExecutableLookup Check(std::string path) {
  ExecutableLookup out;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    // A directory on the way we may not search hides whatever is behind it.
    out.kind = errno == EACCES ? ExecutableLookup::kNotExecutable : ExecutableLookup::kNotFound;
    out.error = errno;
  } else if (!S_ISREG(st.st_mode)) {
    out.kind = ExecutableLookup::kNotExecutable;
    out.error = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
  } else if (faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) != 0) {
    out.kind = ExecutableLookup::kNotExecutable;
    out.error = errno;
  } else {
    out.kind = ExecutableLookup::kFound;
  }
  if (out.kind != ExecutableLookup::kNotFound) out.path = std::move(path);
  return out;
}

}  // namespace

ExecutableLookup FindExecutable(std::string_view name, std::string_view search_path) {
  if (name.empty()) return ExecutableLookup{ExecutableLookup::kNotFound, "", ENOENT};
  if (name.find('/') != std::string_view::npos) return Check(std::string(name));
  ExecutableLookup first_unusable;
  for (size_t start = 0; start <= search_path.size();) {
    size_t end = search_path.find(':', start);
    if (end == std::string_view::npos) end = search_path.size();
    std::string_view dir = search_path.substr(start, end - start);
    start = end + 1;
    std::string candidate(dir.empty() ? "." : dir);
    candidate.append("/").append(name);
    ExecutableLookup found = Check(std::move(candidate));
    if (found.kind == ExecutableLookup::kFound) return found;
    if (found.kind == ExecutableLookup::kNotExecutable &&
        first_unusable.kind == ExecutableLookup::kNotFound) {
      first_unusable = std::move(found);
    }
  }
  if (first_unusable.kind == ExecutableLookup::kNotFound) first_unusable.error = ENOENT;
  return first_unusable;
}

}  // namespace sagewai
