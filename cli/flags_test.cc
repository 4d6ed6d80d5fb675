#include "cli/flags.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagewai::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<FlagSpec> kSpecs = {
    {"addr", true}, {"env", true, 'e'}, {"keep", false}, {"help", false, 'h'}};

TEST(CliFlagsTest, LongShortAndInlineValues) {
  auto p = ParseArgs({"--addr", "unix:///a", "-e", "A=1", "--env=B=2", "--keep"}, kSpecs,
                     PositionalMode::kInterleaved);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->Last("addr"), "unix:///a");
  EXPECT_THAT(p->All("env"), ElementsAre("A=1", "B=2"));
  EXPECT_TRUE(p->Has("keep"));
  EXPECT_FALSE(p->Has("help"));
}

TEST(CliFlagsTest, LastValueWins) {
  auto p = ParseArgs({"--addr", "a:1", "--addr", "b:2"}, kSpecs, PositionalMode::kInterleaved);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->Last("addr"), "b:2");
}

TEST(CliFlagsTest, InterleavedPositionals) {
  auto p = ParseArgs({"image:1", "--keep", "x"}, kSpecs, PositionalMode::kInterleaved);
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(p->positionals, ElementsAre("image:1", "x"));
  EXPECT_TRUE(p->Has("keep"));
}

TEST(CliFlagsTest, StopAtFirstPositionalKeepsCommandFlags) {
  auto p = ParseArgs({"--keep", "ls", "-la", "--addr", "x"}, kSpecs, PositionalMode::kStopAtFirst);
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(p->positionals, ElementsAre("ls", "-la", "--addr", "x"));
  EXPECT_FALSE(p->Has("addr"));
}

TEST(CliFlagsTest, DoubleDashEndsOptions) {
  auto p = ParseArgs({"--keep", "--", "--addr", "-h"}, kSpecs, PositionalMode::kInterleaved);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->saw_double_dash);
  EXPECT_THAT(p->positionals, ElementsAre("--addr", "-h"));
}

TEST(CliFlagsTest, Errors) {
  auto unknown = ParseArgs({"--nope"}, kSpecs, PositionalMode::kInterleaved);
  EXPECT_THAT(unknown.status().ToString(), HasSubstr("unknown option --nope"));
  auto missing = ParseArgs({"--addr"}, kSpecs, PositionalMode::kInterleaved);
  EXPECT_THAT(missing.status().ToString(), HasSubstr("--addr needs a value"));
  auto extra = ParseArgs({"--keep=yes"}, kSpecs, PositionalMode::kInterleaved);
  EXPECT_THAT(extra.status().ToString(), HasSubstr("takes no value"));
  auto short_unknown = ParseArgs({"-x"}, kSpecs, PositionalMode::kInterleaved);
  EXPECT_FALSE(short_unknown.ok());
}

TEST(CliFlagsTest, LoneDashIsPositional) {
  auto p = ParseArgs({"-"}, kSpecs, PositionalMode::kInterleaved);
  ASSERT_TRUE(p.ok());
  EXPECT_THAT(p->positionals, ElementsAre("-"));
}

}  // namespace
}  // namespace sagewai::cli
