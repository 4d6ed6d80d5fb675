#include "cli/validate_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>

#include "cli/exit_codes.h"

namespace sagewai::cli {
namespace {

using ::testing::HasSubstr;

TEST(CheckReportTest, CountsFailuresAndSaysWhatToDo) {
  CheckReport report(nullptr);
  testing::internal::CaptureStdout();
  report.Pass("container starts");
  report.Skip("env scrub", "needs the runner");
  report.Warn("tools share the runner's uid");
  report.Fail({"PID 1 is not sagewai-entrypoint", "keep the ENTRYPOINT"}, "    | detail\n");
  const int code = report.Verdict();
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(report.failed(), 1);
  EXPECT_EQ(code, kExitCheckFailed);
  EXPECT_EQ(out,
            "✓ container starts\n"
            "- env scrub: skipped (needs the runner)\n"
            "⚠ tools share the runner's uid\n"
            "✗ PID 1 is not sagewai-entrypoint\n"
            "    | detail\n"
            "  → keep the ENTRYPOINT\n"
            "FAIL — 1 check failed; see the ✗ lines above\n");
}

TEST(CheckReportTest, AFailureAfterAnInterruptIsNotCounted) {
  std::atomic<bool> interrupted{true};
  CheckReport report(&interrupted);
  testing::internal::CaptureStdout();
  report.Fail({"docker stop failed", ""});
  report.Interrupted();
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(report.failed(), 0);
  EXPECT_EQ(out, "INTERRUPTED — cleaning up\n");
}

TEST(CheckReportTest, PassesWhenNothingFailed) {
  CheckReport report(nullptr);
  testing::internal::CaptureStdout();
  EXPECT_EQ(report.Verdict(), kExitOk);
  EXPECT_THAT(testing::internal::GetCapturedStdout(), HasSubstr("PASS"));
}

TEST(IndentTailTest, KeepsTheLastNonBlankLines) {
  EXPECT_EQ(IndentTail("a\n\nb\nc\n", 2), "    | b\n    | c\n");
  EXPECT_EQ(IndentTail("", 5), "");
}

}  // namespace
}  // namespace sagewai::cli
