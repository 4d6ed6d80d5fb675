#include "cli/exec_command.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include "cli/exit_codes.h"

namespace sagewai::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

std::optional<std::string> Lookup(const std::string& name) {
  if (name == "LOCAL") return std::string("from-here");
  return std::nullopt;
}

TEST(CliParseExecArgsTest, AllOptions) {
  auto o = ParseExecArgs(
      {"--addr", "unix:///s", "--token-file", "/t", "--env", "A=1", "-e", "B=x=y", "--env", "LOCAL",
       "--cwd", "/w", "--timeout", "1.5", "--no-stdin", "--", "echo", "hi"},
      Lookup);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->addr, "unix:///s");
  EXPECT_EQ(o->token_file, "/t");
  EXPECT_THAT(o->env,
              UnorderedElementsAre(Pair("A", "1"), Pair("B", "x=y"), Pair("LOCAL", "from-here")));
  EXPECT_EQ(o->cwd, "/w");
  EXPECT_EQ(o->timeout, absl::Milliseconds(1500));
  EXPECT_TRUE(o->no_stdin);
  EXPECT_THAT(o->words, ElementsAre("echo", "hi"));
}

TEST(CliParseExecArgsTest, CommandWithoutDoubleDashKeepsItsFlags) {
  auto o = ParseExecArgs({"ls", "-la", "--timeout", "3"}, Lookup);
  ASSERT_TRUE(o.ok());
  EXPECT_THAT(o->words, ElementsAre("ls", "-la", "--timeout", "3"));
  EXPECT_FALSE(o->timeout.has_value());
}

TEST(CliParseExecArgsTest, ZeroTimeoutMeansTheRunnersDefault) {
  auto o = ParseExecArgs({"--timeout", "0", "--", "true"}, Lookup);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->timeout.has_value());
}

TEST(CliParseExecArgsTest, Errors) {
  EXPECT_THAT(ParseExecArgs({}, Lookup).status().ToString(), HasSubstr("no command given"));
  EXPECT_THAT(ParseExecArgs({"--"}, Lookup).status().ToString(), HasSubstr("no command given"));
  EXPECT_THAT(ParseExecArgs({"--env", "1A=b", "--", "x"}, Lookup).status().ToString(),
              HasSubstr("not a variable name"));
  EXPECT_THAT(ParseExecArgs({"--env", "=b", "--", "x"}, Lookup).status().ToString(),
              HasSubstr("not a variable name"));
  EXPECT_THAT(ParseExecArgs({"--env", "UNSET", "--", "x"}, Lookup).status().ToString(),
              HasSubstr("UNSET is not set here"));
  for (const char* t : {"-1", "abc", "nan", "inf", "5000000"}) {
    EXPECT_THAT(ParseExecArgs({"--timeout", t, "--", "x"}, Lookup).status().ToString(),
                HasSubstr("--timeout"))
        << t;
  }
  EXPECT_THAT(ParseExecArgs({"--bogus", "--", "x"}, Lookup).status().ToString(),
              HasSubstr("unknown option --bogus"));
}

TEST(CliParseExecArgsTest, HelpNeedsNoCommand) {
  auto o = ParseExecArgs({"--help"}, Lookup);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
}

TEST(CliExitCodeForResultTest, Mapping) {
  sagewai::sandbox::v1::BashResult r;
  r.set_exit_code(0);
  EXPECT_EQ(ExitCodeForResult(r), 0);
  r.set_exit_code(3);
  EXPECT_EQ(ExitCodeForResult(r), 3);
  r.set_exit_code(255);
  EXPECT_EQ(ExitCodeForResult(r), 255);
  r.set_exit_code(128 + SIGKILL);
  r.set_signal(SIGKILL);
  EXPECT_EQ(ExitCodeForResult(r), 137);
  r.set_signal(SIGINT);
  r.set_exit_code(130);
  EXPECT_EQ(ExitCodeForResult(r), 130);
  r.set_timed_out(true);
  r.set_signal(SIGTERM);
  EXPECT_EQ(ExitCodeForResult(r), kExitTimedOut);
}

}  // namespace
}  // namespace sagewai::cli
