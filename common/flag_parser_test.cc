#include "common/flag_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagewai::flags {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::vector<FlagSpec> kSpecs = {
    {"listen", true}, {"verbose", false, 'v'}, {"timeout-ms", true}, {"help", false, 'h'}};

struct Result {
  bool ok;
  ParsedArgs args;
  std::string error;
};

Result Parse(const std::vector<std::string>& args,
             PositionalMode mode = PositionalMode::kInterleaved) {
  Result r;
  r.ok = ParseFlags(args, kSpecs, mode, &r.args, &r.error);
  return r;
}

TEST(FlagParserTest, ValueWithEqualsOrAsTheNextWord) {
  Result r = Parse({"--listen=unix:///a=b", "--timeout-ms", "5"});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.args.Last("listen"), "unix:///a=b");  // only the first '=' splits
  EXPECT_EQ(r.args.Last("timeout-ms"), "5");
  Result empty = Parse({"--listen="});
  ASSERT_TRUE(empty.ok);
  EXPECT_EQ(empty.args.Last("listen"), "");
  // The next word is the value even when it looks like an option.
  Result dashy = Parse({"--listen", "--verbose"});
  ASSERT_TRUE(dashy.ok);
  EXPECT_EQ(dashy.args.Last("listen"), "--verbose");
  EXPECT_FALSE(dashy.args.Has("verbose"));
}

TEST(FlagParserTest, MissingValue) {
  Result r = Parse({"--verbose", "--listen"});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "option --listen needs a value");
}

TEST(FlagParserTest, UnknownFlag) {
  Result r = Parse({"--nope=1"});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error, "unknown option --nope");
  Result s = Parse({"-x"});
  EXPECT_FALSE(s.ok);
  EXPECT_EQ(s.error, "unknown option -x");
}

TEST(FlagParserTest, RepeatedFlagKeepsEveryValueInOrder) {
  Result r = Parse({"--listen", "a", "-v", "--listen=b", "--verbose"});
  ASSERT_TRUE(r.ok);
  EXPECT_THAT(r.args.All("listen"), ElementsAre("a", "b"));
  EXPECT_EQ(r.args.Last("listen"), "b");
  EXPECT_THAT(r.args.All("verbose"), ElementsAre("", ""));
  EXPECT_THAT(r.args.All("help"), IsEmpty());
  EXPECT_EQ(r.args.Last("help"), std::nullopt);
}

TEST(FlagParserTest, DoubleDashEndsTheOptions) {
  Result r = Parse({"-v", "--", "--listen", "x", "--"});
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.args.saw_double_dash);
  EXPECT_THAT(r.args.positionals, ElementsAre("--listen", "x", "--"));
  EXPECT_FALSE(r.args.Has("listen"));
  Result none = Parse({"-v"});
  EXPECT_FALSE(none.args.saw_double_dash);
}

TEST(FlagParserTest, BoolFlags) {
  Result r = Parse({"-h", "--verbose"});
  ASSERT_TRUE(r.ok);
  EXPECT_TRUE(r.args.Has("help"));
  EXPECT_TRUE(r.args.Has("verbose"));
  Result bad = Parse({"--verbose=yes"});
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.error, "option --verbose takes no value");
}

TEST(FlagParserTest, PositionalModes) {
  Result mixed = Parse({"a", "-v", "-", "-la"});
  ASSERT_TRUE(mixed.ok);
  EXPECT_THAT(mixed.args.positionals, ElementsAre("a", "-", "-la"));
  EXPECT_TRUE(mixed.args.Has("verbose"));
  Result stop = Parse({"-v", "ls", "-v", "--nope"}, PositionalMode::kStopAtFirst);
  ASSERT_TRUE(stop.ok) << stop.error;
  EXPECT_THAT(stop.args.positionals, ElementsAre("ls", "-v", "--nope"));
  EXPECT_THAT(stop.args.All("verbose"), ElementsAre(""));
}

TEST(FlagParserTest, ReparsingResetsTheOutput) {
  ParsedArgs args;
  std::string error;
  ASSERT_TRUE(ParseFlags({"-v", "x"}, kSpecs, PositionalMode::kInterleaved, &args, &error));
  ASSERT_TRUE(ParseFlags({}, kSpecs, PositionalMode::kInterleaved, &args, &error));
  EXPECT_TRUE(args.flags.empty());
  EXPECT_TRUE(args.positionals.empty());
}

}  // namespace
}  // namespace sagewai::flags
