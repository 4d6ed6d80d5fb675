// Finding a program the way a shell does: the one PATH lookup of the
// entrypoint, the tool-runner and the host CLI. No Abseil, so PID 1 links it.
#ifndef SAGEWAI_COMMON_EXEC_PATH_H_
#define SAGEWAI_COMMON_EXEC_PATH_H_

#include <string>
#include <string_view>

namespace sagewai {

struct ExecutableLookup {
  enum Kind { kFound, kNotExecutable, kNotFound };
  Kind kind = kNotFound;
  // kFound: the program; kNotExecutable: the first candidate that exists but
  // cannot be executed (a directory, no execute permission); kNotFound: empty.
  std::string path;
  int error = 0;  // why `path` cannot be executed, or ENOENT
};

// `name` itself when it contains a '/', else the first executable regular file
// called `name` in the colon-separated `search_path` (an empty entry is the
// current directory). Execute permission is checked with the effective ids.
ExecutableLookup FindExecutable(std::string_view name, std::string_view search_path);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_EXEC_PATH_H_
