#include "tool-runner/core/tool_env.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace sagewai {
namespace {

TEST(ToolEnvTest, BaseHasOnlyTheCleanVariablesAndPassThrough) {
  setenv("SESSION_TOKEN", "secret-value", 1);
  setenv("SOME_OPERATOR_VAR", "x", 1);
  setenv("PASSED", "yes", 1);
  auto env = BaseToolEnvironment({"PASSED", "SESSION_TOKEN", "NOT_SET_ANYWHERE"});
  EXPECT_EQ(env.count("SESSION_TOKEN"), 0u);
  EXPECT_EQ(env.count("SOME_OPERATOR_VAR"), 0u);
  EXPECT_EQ(env.count("NOT_SET_ANYWHERE"), 0u);
  EXPECT_EQ(env["PASSED"], "yes");
  for (const char* name : {"PATH", "HOME", "LANG", "USER", "LOGNAME"}) {
    EXPECT_EQ(env.count(name), 1u) << name;
  }
  unsetenv("SESSION_TOKEN");
}

TEST(ToolEnvTest, InheritedDropsControlPlaneVariables) {
  setenv("SESSION_TOKEN", "t", 1);
  setenv("CONTROL_PLANE_URL", "u", 1);
  setenv("SESSION_ID", "i", 1);
  // Names the hand-off fd: set at container creation it would otherwise
  // reach stdio-mode tools, which never read the hand-off.
  setenv("SAGEWAI_SECRETS_FD", "3", 1);
  setenv("WORKER_VAR", "w", 1);
  auto env = InheritedToolEnvironment();
  EXPECT_EQ(env.count("SESSION_TOKEN") + env.count("CONTROL_PLANE_URL") + env.count("SESSION_ID"),
            0u);
  EXPECT_EQ(env.count("SAGEWAI_SECRETS_FD"), 0u);
  EXPECT_EQ(env["WORKER_VAR"], "w");
  unsetenv("SESSION_TOKEN");
  unsetenv("CONTROL_PLANE_URL");
  unsetenv("SESSION_ID");
  unsetenv("SAGEWAI_SECRETS_FD");
}

TEST(ToolEnvTest, MergeOverridesAndSetsPwd) {
  auto merged = MergeToolEnvironment({{"A", "1"}, {"PATH", "/bin"}},
                                     {{"A", "2"}, {"B", "x=y"}, {"SESSION_TOKEN", "leak"}}, "/w");
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(*merged, (std::vector<std::string>{"A=2", "B=x=y", "PATH=/bin", "PWD=/w"}));
}

TEST(ToolEnvTest, MergeRejectsBadNames) {
  EXPECT_EQ(MergeToolEnvironment({}, {{"", "v"}}, "/").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MergeToolEnvironment({}, {{"A=B", "v"}}, "/").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MergeToolEnvironment({}, {{"A", std::string("v\0w", 3)}}, "/").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ToolEnvTest, ResolvesCwdAgainstWorkdir) {
  EXPECT_EQ(ResolveCwd("/workspace", ""), "/workspace");
  EXPECT_EQ(ResolveCwd("/workspace", "src"), "/workspace/src");
  EXPECT_EQ(ResolveCwd("/workspace/", "src"), "/workspace/src");
  EXPECT_EQ(ResolveCwd("/workspace", "/etc"), "/etc");
}

}  // namespace
}  // namespace sagewai
