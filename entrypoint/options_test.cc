#include "entrypoint/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagewai::entrypoint {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

Invocation Parse(std::vector<std::string> args, const char* command = nullptr,
                 const char* agent_args = nullptr) {
  Invocation inv;
  StepStatus st = ParseInvocation(args, command, agent_args, &inv);
  EXPECT_TRUE(st.ok()) << st.message();
  return inv;
}

TEST(ParseInvocationTest, CommandLineWins) {
  Invocation inv = Parse({"bash", "-c", "echo hi"}, "ignored", "x y");
  EXPECT_EQ(inv.mode, Invocation::Mode::kRun);
  EXPECT_THAT(inv.command, ElementsAre("bash", "-c", "echo hi"));
}

TEST(ParseInvocationTest, DoubleDashStartsTheCommand) {
  EXPECT_THAT(Parse({"--", "-weird", "--help"}).command, ElementsAre("-weird", "--help"));
  EXPECT_THAT(Parse({"--", "--version"}).command, ElementsAre("--version"));
}

TEST(ParseInvocationTest, HelpAndVersion) {
  EXPECT_EQ(Parse({"--help"}).mode, Invocation::Mode::kHelp);
  EXPECT_EQ(Parse({"-h"}).mode, Invocation::Mode::kHelp);
  EXPECT_EQ(Parse({"--version"}).mode, Invocation::Mode::kVersion);
  EXPECT_THAT(UsageText(), HasSubstr("Usage: sagewai-entrypoint [--] [COMMAND [ARG...]]"));
}

TEST(ParseInvocationTest, UnknownOptionIsAUsageError) {
  Invocation inv;
  StepStatus st = ParseInvocation({"--frobnicate"}, nullptr, nullptr, &inv);
  EXPECT_EQ(st.exit_code(), kExitUsage);
  EXPECT_THAT(st.message(), HasSubstr("--frobnicate"));
}

TEST(ParseInvocationTest, OptionsBeforeTheCommandOnly) {
  EXPECT_EQ(Parse({"--version", "--help"}).mode, Invocation::Mode::kVersion);
  EXPECT_EQ(Parse({"-h", "--version"}).mode, Invocation::Mode::kHelp);
  EXPECT_THAT(Parse({"ls", "--help", "-la"}).command, ElementsAre("ls", "--help", "-la"));
  Invocation inv;
  StepStatus dash = ParseInvocation({"-la"}, nullptr, nullptr, &inv);
  EXPECT_EQ(dash.exit_code(), kExitUsage);
  EXPECT_THAT(dash.message(), HasSubstr("put -- before a command"));
  StepStatus value = ParseInvocation({"--help=x"}, nullptr, nullptr, &inv);
  EXPECT_EQ(value.exit_code(), kExitUsage);
}

TEST(ParseInvocationTest, AgentCommandWithSplitArgs) {
  EXPECT_THAT(Parse({}, "claude", "--model 'big one' -v").command,
              ElementsAre("claude", "--model", "big one", "-v"));
  EXPECT_THAT(Parse({}, "echo", nullptr).command, ElementsAre("echo"));
  EXPECT_THAT(Parse({"--"}, "echo", "").command, ElementsAre("echo"));
}

TEST(ParseInvocationTest, BadAgentArgsStopTheStart) {
  Invocation inv;
  StepStatus st = ParseInvocation({}, "echo", "'unterminated", &inv);
  EXPECT_EQ(st.exit_code(), kExitStartFailure);
  EXPECT_THAT(st.message(), HasSubstr("AGENT_ARGS"));
}

TEST(ParseInvocationTest, DefaultIsTheToolRunner) {
  EXPECT_THAT(Parse({}).command, ElementsAre("sagewai-tool-runner", "serve"));
  EXPECT_THAT(Parse({}, "", nullptr).command, ElementsAre("sagewai-tool-runner", "serve"));
}

}  // namespace
}  // namespace sagewai::entrypoint
