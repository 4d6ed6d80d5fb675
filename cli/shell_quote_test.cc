#include "cli/shell_quote.h"

#include <gtest/gtest.h>

#include "cli/subprocess.h"

namespace sagewai::cli {
namespace {

TEST(CliShellQuoteTest, SafeWordsStayBare) {
  EXPECT_EQ(ShellQuote("ls"), "ls");
  EXPECT_EQ(ShellQuote("/usr/bin/env"), "/usr/bin/env");
  EXPECT_EQ(ShellQuote("a=b,c:d@e%f+g.h-i_j"), "a=b,c:d@e%f+g.h-i_j");
}

TEST(CliShellQuoteTest, SpecialWordsAreSingleQuoted) {
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("$HOME"), "'$HOME'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote("~"), "'~'");
  EXPECT_EQ(ShellQuote("*.txt"), "'*.txt'");
  EXPECT_EQ(ShellQuote("a\nb"), "'a\nb'");
}

TEST(CliJoinCommandTest, OneWordIsVerbatim) {
  EXPECT_EQ(JoinCommand({"echo hi | wc -c"}), "echo hi | wc -c");
  EXPECT_EQ(JoinCommand({"A=1 env"}), "A=1 env");
}

TEST(CliJoinCommandTest, SeveralWordsAreQuotedEach) {
  EXPECT_EQ(JoinCommand({"printf", "%s\n", "a b"}), "printf '%s\n' 'a b'");
  EXPECT_EQ(JoinCommand({"echo", "", "x"}), "echo '' x");
  EXPECT_EQ(JoinCommand({}), "");
}

TEST(CliJoinCommandTest, FirstWordIsAlwaysTheProgram) {
  EXPECT_EQ(JoinCommand({"A=1", "env"}), "'A=1' env");
  EXPECT_EQ(JoinCommand({"time", "ls"}), "'time' ls");
  EXPECT_EQ(JoinCommand({"env", "A=1"}), "env A=1");
}

// What really matters: a shell reads the joined command back as the argv.
TEST(CliJoinCommandTest, RoundTripsThroughARealShell) {
  const std::vector<std::string> words = {"printf",    "[%s]\n",      "a b",  "it's", "$HOME",
                                          "\"q\"",     "back\\slash", "",     "*",    "tab\there",
                                          "new\nline", "{a,b}",       "!x",   ";",    "|",
                                          "&&",        "$(id)",       "`id`", "#c",   "~"};
  auto r = RunProcess({"/bin/bash", "-c", JoinCommand(words)});
  ASSERT_TRUE(r.ok()) << r.status();
  std::string expected;
  for (size_t i = 2; i < words.size(); ++i) expected += "[" + words[i] + "]\n";
  EXPECT_EQ(r->out, expected);
  EXPECT_EQ(r->exit_code, 0) << r->err;
}

}  // namespace
}  // namespace sagewai::cli
