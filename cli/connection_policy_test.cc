#include "cli/connection_policy.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

namespace sagewai::cli {
namespace {

TEST(ConnectionFlagsTest, PeerFlagsAreTakenOutOfTheOptions) {
  std::vector<std::string> args = {"--peer-uid", "900",           "--addr",
                                   "unix:///x",  "--peer-pid=42", "--allow-bearer",
                                   "ls",         "--peer-uid",    "1"};
  ASSERT_TRUE(ExtractConnectionFlags(&args, /*stop_at_positional=*/true, {"addr"}).ok());
  EXPECT_EQ(args, (std::vector<std::string>{"--addr", "unix:///x", "ls", "--peer-uid", "1"}));
  ConnectionPolicy policy = FlagConnectionPolicy();
  EXPECT_EQ(policy.peer.uid, 900u);
  EXPECT_EQ(policy.peer.pid, 42);
  EXPECT_TRUE(policy.allow_bearer);
  for (std::vector<std::string> bad : {std::vector<std::string>{"--peer-uid"},
                                       {"--peer-uid", "x"},
                                       {"--peer-pid=-1"},
                                       {"--peer-uid", "4294967295"}}) {
    EXPECT_EQ(ExtractConnectionFlags(&bad).code(), absl::StatusCode::kInvalidArgument) << bad[0];
  }
}

TEST(ConnectionFlagsTest, TheVariableAllowsBearerToo) {
  SetConnectionFlags({});
  EXPECT_FALSE(FlagConnectionPolicy().allow_bearer);
  setenv(kAllowBearerEnv, "1", 1);
  EXPECT_TRUE(FlagConnectionPolicy().allow_bearer);
  setenv(kAllowBearerEnv, "yes", 1);
  EXPECT_FALSE(FlagConnectionPolicy().allow_bearer) << "only 1 turns it on";
  unsetenv(kAllowBearerEnv);
}

}  // namespace
}  // namespace sagewai::cli
