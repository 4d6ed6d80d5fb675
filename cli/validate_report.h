// How `validate` reports: one line per check as it completes (✓ passed,
// ✗ failed and what to do, - skipped, ⚠ a warning), then the verdict.
#ifndef SAGEWAI_CLI_VALIDATE_REPORT_H_
#define SAGEWAI_CLI_VALIDATE_REPORT_H_

#include <atomic>
#include <cstddef>
#include <string>

#include "cli/validate_checks.h"

namespace sagewai::cli {

// Writes to stdout, flushing after every line so that each check shows as it
// completes. Not thread-safe.
class CheckReport {
 public:
  // `interrupted` (may be null) is set by the signal handler: a check cut
  // short by Ctrl-C is not counted as failed.
  explicit CheckReport(const std::atomic<bool>* interrupted) : interrupted_(interrupted) {}

  void Pass(const std::string& text);
  // `details` (already indented, e.g. by IndentTail) goes between the ✗ line
  // and the remedy.
  void Fail(const CheckFailure& failure, const std::string& details = "");
  void Skip(const std::string& what, const std::string& why);
  void Warn(const std::string& text);

  int failed() const { return failed_; }

  // The closing lines.
  void Interrupted();
  // PASS or FAIL; the exit code (kExitOk or kExitCheckFailed).
  int Verdict();

 private:
  const std::atomic<bool>* interrupted_;
  int failed_ = 0;
};

// The last `max_lines` non-blank lines of `text`, each as "    | line\n".
std::string IndentTail(const std::string& text, size_t max_lines);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_VALIDATE_REPORT_H_
