// Glob patterns for Filesystem.Glob.
//
// A pattern is split at '/'; each segment matches one name:
//   *       any run of characters      ?       one character
//   [abc] [a-z] [!a-z] [^a-z]          a class (']' first is literal)
//   \c      the character c itself
//   **      a whole segment: zero or more directories
// A '[' without its ']', a '[' inside a class ("[[:alpha:]]" is no POSIX
// class here) and a trailing '\' are literal. Segments are matched by
// fnmatch(3) with FNM_PERIOD after these rules are spelled in its syntax.
// Names starting with '.' match only segments that start with a literal '.'
// ("*" skips hidden files, as a shell does), and "**" does not descend into
// hidden directories. "**" never follows symlinks (no loops); other
// segments go through symlinked directories as a shell would. A trailing
// '/' matches directories only. Characters are bytes: "?" is one byte.
#ifndef SAGEWAI_TOOL_RUNNER_FS_FS_GLOB_H_
#define SAGEWAI_TOOL_RUNNER_FS_FS_GLOB_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "sagewai/sandbox/v1/sandbox.pb.h"

namespace sagewai::fs {

// Whether `name` matches one pattern segment (no '/' in either).
bool MatchSegment(absl::string_view pattern, absl::string_view name);

// The paths under `base` (an absolute directory; an absolute pattern starts
// at "/" instead) that match `pattern`, sorted, as FileInfo with `name`
// relative to where the pattern started. At most `max_entries` (0: the
// default cap); `truncated` says when more would have matched, or when the
// walk gave up after visiting a very large tree.
absl::Status Glob(const std::string& base, const std::string& pattern, uint32_t max_entries,
                  sagewai::sandbox::v1::GlobResponse* out);

}  // namespace sagewai::fs

#endif  // SAGEWAI_TOOL_RUNNER_FS_FS_GLOB_H_
