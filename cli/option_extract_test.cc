#include "cli/option_extract.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagewai::cli {
namespace {

using ::testing::ElementsAre;

// Takes "--x" alone; "--bad" is an error.
absl::StatusOr<bool> TakeX(const std::vector<std::string>& args, size_t* i) {
  if (args[*i] == "--bad") return absl::InvalidArgumentError("bad");
  return args[*i] == "--x";
}

TEST(CliExtractOptionsTest, KeepsWhatItDoesNotTakeInOrder) {
  std::vector<std::string> args = {"--x", "a", "--y", "--x", "b", "--", "--x"};
  ASSERT_TRUE(ExtractOptions(&args, false, {}, TakeX).ok());
  EXPECT_THAT(args, ElementsAre("a", "--y", "b", "--", "--x"));
}

TEST(CliExtractOptionsTest, StopsAtThePositionalButNotAtAValue) {
  std::vector<std::string> args = {"--cwd", "/w", "--x", "ls", "--x"};
  ASSERT_TRUE(ExtractOptions(&args, true, {"cwd"}, TakeX).ok());
  EXPECT_THAT(args, ElementsAre("--cwd", "/w", "ls", "--x"));
  std::vector<std::string> dash = {"--x", "-", "--x"};
  ASSERT_TRUE(ExtractOptions(&dash, true, {}, TakeX).ok());
  EXPECT_THAT(dash, ElementsAre("-", "--x"));
}

TEST(CliExtractOptionsTest, AnErrorLeavesTheArgumentsAlone) {
  std::vector<std::string> args = {"--x", "--bad"};
  EXPECT_FALSE(ExtractOptions(&args, false, {}, TakeX).ok());
  EXPECT_THAT(args, ElementsAre("--x", "--bad"));
}

}  // namespace
}  // namespace sagewai::cli
