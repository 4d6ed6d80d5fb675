#include "tool-runner/auth.h"

#include <gtest/gtest.h>

namespace sagewai {
namespace {

TEST(AuthTest, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("token-123", "token-123"));
  EXPECT_FALSE(ConstantTimeEquals("token-123", "token-124"));
  EXPECT_FALSE(ConstantTimeEquals("token", "token-123"));
  EXPECT_FALSE(ConstantTimeEquals("token-123", "token"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
}

TEST(AuthTest, DisabledWithoutToken) {
  EXPECT_FALSE(TokenAuth("").enabled());
  EXPECT_TRUE(TokenAuth("t").enabled());
}

}  // namespace
}  // namespace sagewai
