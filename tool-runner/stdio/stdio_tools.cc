#include "tool-runner/stdio/stdio_tools.h"

#include "absl/strings/str_cat.h"

namespace sagewai {
namespace {

std::string TruncationNote(absl::string_view stream, size_t kept, uint64_t total) {
  return absl::StrCat("\n[sagewai: ", stream, " truncated: kept ", kept, " of ", total,
                      " bytes]\n");
}

}  // namespace

stdio::ToolResult ToToolResult(const CommandResult& r, absl::Duration timeout) {
  stdio::ToolResult out;
  out.stdout_data = r.stdout_data;
  out.stderr_data = r.stderr_data;
  if (r.stdout_truncated) {
    out.stderr_data += TruncationNote("stdout", r.stdout_data.size(), r.stdout_bytes);
  }
  if (r.stderr_truncated) {
    out.stderr_data += TruncationNote("stderr", r.stderr_data.size(), r.stderr_bytes);
  }
  out.duration_ms = r.duration.count();
  if (r.timed_out) {
    out.error = absl::StrCat("timeout: the command did not finish within ",
                             absl::FormatDuration(timeout), " and was killed");
  } else {
    out.exit_code = r.exit_code;
  }
  return out;
}

}  // namespace sagewai
