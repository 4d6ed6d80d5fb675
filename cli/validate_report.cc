#include "cli/validate_report.h"

#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/exit_codes.h"

namespace sagewai::cli {

void CheckReport::Pass(const std::string& text) {
  printf("✓ %s\n", text.c_str());
  fflush(stdout);
}

void CheckReport::Fail(const CheckFailure& failure, const std::string& details) {
  // A check cut short by Ctrl-C did not fail; Interrupted() says what happened.
  if (interrupted_ != nullptr && interrupted_->load()) return;
  ++failed_;
  printf("✗ %s\n%s", failure.what.c_str(), details.c_str());
  if (!failure.remedy.empty()) printf("  → %s\n", failure.remedy.c_str());
  fflush(stdout);
}

void CheckReport::Skip(const std::string& what, const std::string& why) {
  printf("- %s: skipped (%s)\n", what.c_str(), why.c_str());
  fflush(stdout);
}

void CheckReport::Warn(const std::string& text) {
  printf("⚠ %s\n", text.c_str());
  fflush(stdout);
}

void CheckReport::Interrupted() {
  printf("INTERRUPTED — cleaning up\n");
  fflush(stdout);
}

int CheckReport::Verdict() {
  if (failed_ == 0) {
    printf("PASS — image is compatible with this SDK\n");
  } else {
    printf("FAIL — %d check%s failed; see the ✗ lines above\n", failed_, failed_ == 1 ? "" : "s");
  }
  fflush(stdout);
  return failed_ == 0 ? kExitOk : kExitCheckFailed;
}

std::string IndentTail(const std::string& text, size_t max_lines) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipWhitespace());
  size_t first = lines.size() > max_lines ? lines.size() - max_lines : 0;
  std::string out;
  for (size_t i = first; i < lines.size(); ++i) absl::StrAppend(&out, "    | ", lines[i], "\n");
  return out;
}

}  // namespace sagewai::cli
