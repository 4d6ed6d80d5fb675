#include "common/utf8.h"

#include <string>

#include "gtest/gtest.h"

namespace sagewai::utf8 {
namespace {

TEST(Utf8Test, SequenceLengths) {
  EXPECT_EQ(SequenceLength("a", 0), 1u);
  EXPECT_EQ(SequenceLength("\xC3\xA9", 0), 2u);
  EXPECT_EQ(SequenceLength("\xE2\x82\xAC", 0), 3u);
  EXPECT_EQ(SequenceLength("\xF0\x9F\x98\x80", 0), 4u);
  EXPECT_EQ(SequenceLength("x\xF4\x8F\xBF\xBF", 1), 4u);  // U+10FFFF, the last one
}

TEST(Utf8Test, InvalidSequences) {
  for (const char* bad : {"\x80", "\xBF", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80",
                          "\xED\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80",
                          "\xF8\x88\x80\x80\x80", "\xFF", "\xE2\x82", "\xC3", "\xC3\x28"}) {
    EXPECT_EQ(SequenceLength(bad, 0), 0u) << std::string(bad);
    EXPECT_FALSE(IsValid(bad)) << std::string(bad);
  }
}

TEST(Utf8Test, WholeStrings) {
  EXPECT_TRUE(IsValid(""));
  EXPECT_TRUE(IsValid("plain ascii\n\t\x7F"));
  EXPECT_TRUE(IsValid("gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_TRUE(IsValid(std::string("nul\0inside", 10)));
  EXPECT_FALSE(IsValid("ok then \xFF"));
  EXPECT_FALSE(IsValid("cut short \xF0\x9F\x98"));
}

}  // namespace
}  // namespace sagewai::utf8
