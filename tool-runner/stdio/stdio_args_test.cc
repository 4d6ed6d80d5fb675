#include "tool-runner/stdio/stdio_args.h"

#include <gtest/gtest.h>

namespace sagewai::stdio {
namespace {

json::Value Args(absl::string_view text) {
  absl::StatusOr<json::Value> v = json::Parse(text);
  EXPECT_TRUE(v.ok()) << text;
  return v.ok() ? *std::move(v) : json::Value();
}

TEST(StdioArgsTest, StringsTakeTheirDefaultWhenAbsentOrNull) {
  EXPECT_EQ(*StringArg(Args(R"({})"), "cwd"), "");
  EXPECT_EQ(*StringArg(Args(R"({"cwd":null})"), "cwd", false, "utf-8"), "utf-8");
  EXPECT_EQ(*StringArg(Args(R"({"cwd":"/w"})"), "cwd"), "/w");
  EXPECT_EQ(StringArg(Args(R"({"cwd":1})"), "cwd").status().message(), "args.cwd must be a string");
  EXPECT_EQ(StringArg(Args(R"({})"), "path", true).status().message(), "args.path is required");
}

TEST(StdioArgsTest, BooleansAndCounts) {
  EXPECT_TRUE(*BoolArg(Args(R"({})"), "parents", true));
  EXPECT_FALSE(*BoolArg(Args(R"({"parents":false})"), "parents", true));
  EXPECT_EQ(BoolArg(Args(R"({"parents":1})"), "parents", true).status().message(),
            "args.parents must be a boolean");
  EXPECT_EQ(*UintArg(Args(R"({})"), "depth", 1), 1u);
  EXPECT_EQ(*UintArg(Args(R"({"depth":7})"), "depth", 1), 7u);
  EXPECT_EQ(UintArg(Args(R"({"depth":-1})"), "depth", 1).status().message(),
            "args.depth must be a non-negative integer");
  EXPECT_FALSE(UintArg(Args(R"({"depth":"7"})"), "depth", 1).ok());
}

TEST(StdioArgsTest, EnvIsAnObjectOfStrings) {
  auto env = EnvArg(Args(R"({"env":{"A":"1","B":""}})"));
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->at("A"), "1");
  EXPECT_EQ(env->at("B"), "");
  EXPECT_TRUE(EnvArg(Args(R"({"env":null})"))->empty());
  EXPECT_EQ(EnvArg(Args(R"({"env":[]})")).status().message(), "args.env must be an object");
  EXPECT_EQ(EnvArg(Args(R"({"env":{"A":1}})")).status().message(), "args.env.A must be a string");
}

}  // namespace
}  // namespace sagewai::stdio
