#include "common/arg_split.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagewai {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::vector<std::string> Split(std::string_view text) {
  std::vector<std::string> words;
  std::string error;
  EXPECT_TRUE(SplitShellWords(text, &words, &error)) << error;
  return words;
}

std::string SplitError(std::string_view text) {
  std::vector<std::string> words;
  std::string error;
  EXPECT_FALSE(SplitShellWords(text, &words, &error)) << "split succeeded for: " << text;
  return error;
}

TEST(SplitShellWordsTest, SplitsOnRunsOfBlanks) {
  EXPECT_THAT(Split("serve --listen  unix:///x\t-v\n"),
              ElementsAre("serve", "--listen", "unix:///x", "-v"));
}

TEST(SplitShellWordsTest, EmptyAndBlankInputHaveNoWords) {
  EXPECT_THAT(Split(""), IsEmpty());
  EXPECT_THAT(Split("   \t\n "), IsEmpty());
}

TEST(SplitShellWordsTest, SingleQuotesKeepEverythingLiteral) {
  EXPECT_THAT(Split(R"('hello world' 'a\b' '$HOME "x"')"),
              ElementsAre("hello world", R"(a\b)", R"($HOME "x")"));
}

TEST(SplitShellWordsTest, DoubleQuotesEscapeOnlySpecialCharacters) {
  EXPECT_THAT(Split(R"("a b" "q\"q" "back\\slash" "keep\n" "\$HOME")"),
              ElementsAre("a b", "q\"q", R"(back\slash)", R"(keep\n)", "$HOME"));
}

TEST(SplitShellWordsTest, BackslashOutsideQuotesEscapesNextCharacter) {
  EXPECT_THAT(Split(R"(a\ b \'c \"d \\e)"), ElementsAre("a b", "'c", "\"d", R"(\e)"));
}

TEST(SplitShellWordsTest, BackslashNewlineContinuesTheLine) {
  EXPECT_THAT(Split("ab\\\ncd \"x\\\ny\""), ElementsAre("abcd", "xy"));
}

TEST(SplitShellWordsTest, AdjacentPartsJoinIntoOneWord) {
  EXPECT_THAT(Split(R"(--name='my app'"s"x)"), ElementsAre("--name=my appsx"));
}

TEST(SplitShellWordsTest, EmptyQuotesMakeEmptyWords) {
  EXPECT_THAT(Split(R"('' "" a '')"), ElementsAre("", "", "a", ""));
}

TEST(SplitShellWordsTest, NoExpansionOrOperators) {
  EXPECT_THAT(Split("$HOME `id` *.txt ~ a|b ; #c"),
              ElementsAre("$HOME", "`id`", "*.txt", "~", "a|b", ";", "#c"));
}

TEST(SplitShellWordsTest, UnterminatedQuotesAreErrors) {
  EXPECT_THAT(SplitError("a 'b c"), HasSubstr("unterminated single quote"));
  EXPECT_THAT(SplitError(R"(a "b c)"), HasSubstr("unterminated double quote"));
  EXPECT_THAT(SplitError(R"("b \")"), HasSubstr("unterminated double quote"));
}

TEST(SplitShellWordsTest, TrailingBackslashIsAnError) {
  EXPECT_THAT(SplitError("a b\\"), HasSubstr("backslash"));
}

TEST(SplitShellWordsTest, ClearsPreviousWords) {
  std::vector<std::string> words = {"stale"};
  std::string error;
  ASSERT_TRUE(SplitShellWords("x", &words, &error));
  EXPECT_THAT(words, ElementsAre("x"));
}

}  // namespace
}  // namespace sagewai
