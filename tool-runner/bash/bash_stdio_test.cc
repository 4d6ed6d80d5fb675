#include "tool-runner/bash/bash_stdio.h"

#include <gtest/gtest.h>

namespace sagewai {
namespace {

absl::StatusOr<sagewai::sandbox::v1::BashRequest> FromArgs(absl::string_view text) {
  absl::StatusOr<json::Value> args = json::Parse(text);
  EXPECT_TRUE(args.ok()) << text;
  return BashRequestFromArgs(args.ok() ? *args : json::Value());
}

TEST(BashStdioTest, ArgsBecomeTheGrpcRequest) {
  auto request =
      FromArgs(R"({"command":"echo hi","cwd":"sub","stdin":"in","env":{"A":"1"},"extra":5})");
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->command(), "echo hi");
  EXPECT_EQ(request->cwd(), "sub");
  EXPECT_EQ(request->stdin(), "in");
  EXPECT_EQ(request->env().at("A"), "1");
  EXPECT_EQ(request->timeout_ms(), 0u);  // the dispatcher's timeout applies
}

TEST(BashStdioTest, BadArgsAreInvalidArgumentWithTheContractsWords) {
  for (absl::string_view args : {R"({})", R"({"command":""})", R"({"command":1})"}) {
    auto request = FromArgs(args);
    EXPECT_EQ(request.status().code(), absl::StatusCode::kInvalidArgument) << args;
    EXPECT_EQ(request.status().message(), "args.command must be a non-empty string") << args;
  }
  EXPECT_EQ(FromArgs(R"({"command":"x","cwd":2})").status().message(), "args.cwd must be a string");
  EXPECT_EQ(FromArgs(R"({"command":"x","stdin":[]})").status().message(),
            "args.stdin must be a string");
  EXPECT_EQ(FromArgs(R"({"command":"x","env":{"A":true}})").status().message(),
            "args.env.A must be a string");
}

}  // namespace
}  // namespace sagewai
