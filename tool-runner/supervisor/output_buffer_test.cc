#include "tool-runner/supervisor/output_buffer.h"

#include <gtest/gtest.h>

namespace sagewai {
namespace {

TEST(OutputBufferTest, KeepsEverythingUnderTheCap) {
  OutputBuffer b(10);
  b.Append("abc");
  b.Append("def");
  EXPECT_EQ(b.data(), "abcdef");
  EXPECT_EQ(b.total_bytes(), 6u);
  EXPECT_FALSE(b.truncated());
}

TEST(OutputBufferTest, CountsAndDropsPastTheCap) {
  OutputBuffer b(4);
  b.Append("abc");
  b.Append("defgh");
  b.Append(std::string(1 << 20, 'x'));
  EXPECT_EQ(b.data(), "abcd");
  EXPECT_EQ(b.total_bytes(), 8u + (1u << 20));
  EXPECT_TRUE(b.truncated());
  EXPECT_LE(b.data().capacity(), 64u);
}

TEST(OutputBufferTest, ExactlyAtTheCapIsNotTruncated) {
  OutputBuffer b(3);
  b.Append("abc");
  EXPECT_FALSE(b.truncated());
  b.Append("");
  EXPECT_FALSE(b.truncated());
  b.Append("d");
  EXPECT_TRUE(b.truncated());
}

TEST(OutputBufferTest, ZeroCapKeepsNothing) {
  OutputBuffer b(0);
  b.Append("abc");
  EXPECT_EQ(b.data(), "");
  EXPECT_EQ(b.total_bytes(), 3u);
  EXPECT_TRUE(b.truncated());
}

TEST(OutputBufferTest, TakeReturnsDataWithItsTruncationAndEmptiesTheBuffer) {
  OutputBuffer b(4);
  b.Append("abcdef");
  TakenOutput taken = b.Take();
  EXPECT_EQ(taken.data, "abcd");
  EXPECT_TRUE(taken.truncated);
  EXPECT_EQ(taken.total_bytes, 6u);
  // Nothing held any more, and nothing claims to be cut.
  EXPECT_FALSE(b.truncated());
  EXPECT_EQ(b.total_bytes(), 0u);
  b.Append("xy");
  taken = b.Take();
  EXPECT_EQ(taken.data, "xy");
  EXPECT_FALSE(taken.truncated);
}

TEST(OutputBufferTest, UntruncatedTakeStaysUntruncated) {
  OutputBuffer b(10);
  b.Append("abc");
  TakenOutput taken = b.Take();
  EXPECT_FALSE(taken.truncated);
  EXPECT_EQ(taken.total_bytes, 3u);
}

}  // namespace
}  // namespace sagewai
