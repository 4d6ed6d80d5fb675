#include "common/json_writer.h"

#include <gtest/gtest.h>

namespace sagewai::json {
namespace {

TEST(JsonWriterTest, EscapesControlAndQuoteCharacters) {
  EXPECT_EQ(Quote("a\"b\\c\n\t\x01"), R"("a\"b\\c\n\t\u0001")");
}

TEST(JsonWriterTest, KeepsValidUtf8) { EXPECT_EQ(Quote("h\xC3\xA9llo \xE2\x82\xAC"), "\"h\xC3\xA9llo \xE2\x82\xAC\""); }

TEST(JsonWriterTest, ReplacesInvalidUtf8) {
  EXPECT_EQ(Quote("a\xFF" "b"), "\"a\xEF\xBF\xBD" "b\"");
  // Truncated sequence, overlong encoding, surrogate.
  EXPECT_EQ(Quote("\xE2\x82"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(Quote("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(Quote("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(JsonWriterTest, ObjectKeepsInsertionOrder) {
  ObjectWriter w;
  w.String("b", "x").Int("a", -3).Uint("u", 7).Bool("t", true).Null("n").Raw("r", "[1]");
  EXPECT_EQ(w.Finish(), R"({"b":"x","a":-3,"u":7,"t":true,"n":null,"r":[1]})");
  EXPECT_EQ(w.Finish(), "{}");
}

}  // namespace
}  // namespace sagewai::json
