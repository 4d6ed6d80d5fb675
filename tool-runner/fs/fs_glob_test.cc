#include "tool-runner/fs/fs_glob.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "common/fs_test_util.h"

namespace sagewai::fs {
namespace {

namespace v1 = ::sagewai::sandbox::v1;
using testing::TempDir;
using testing::WriteFile;

TEST(FsGlobTest, SegmentMatching) {
  EXPECT_TRUE(MatchSegment("*", "anything"));
  EXPECT_TRUE(MatchSegment("*.py", "a.py"));
  EXPECT_FALSE(MatchSegment("*.py", "a.pyc"));
  EXPECT_TRUE(MatchSegment("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(MatchSegment("a*b*c", "aXXbYY"));
  EXPECT_TRUE(MatchSegment("?.txt", "a.txt"));
  EXPECT_FALSE(MatchSegment("?.txt", "ab.txt"));
  EXPECT_TRUE(MatchSegment("[abc].c", "b.c"));
  EXPECT_FALSE(MatchSegment("[abc].c", "d.c"));
  EXPECT_TRUE(MatchSegment("[a-c]x", "cx"));
  EXPECT_TRUE(MatchSegment("[!a-c]x", "dx"));
  EXPECT_FALSE(MatchSegment("[^a-c]x", "bx"));
  EXPECT_TRUE(MatchSegment("[]]", "]"));
  EXPECT_TRUE(MatchSegment("[", "["));
  EXPECT_TRUE(MatchSegment("\\*", "*"));
  EXPECT_FALSE(MatchSegment("\\*", "a"));
  EXPECT_FALSE(MatchSegment("*", ".hidden"));
  EXPECT_TRUE(MatchSegment(".*", ".hidden"));
  EXPECT_TRUE(MatchSegment("*", "caf\xc3\xa9"));
}

TEST(FsGlobTest, LiteralBracketsAndBackslashes) {
  EXPECT_TRUE(MatchSegment("a\\", "a\\"));  // a trailing '\'
  EXPECT_TRUE(MatchSegment("[a-", "[a-"));  // no ']': every character literal
  EXPECT_TRUE(MatchSegment("[*", "[xyz"));
  EXPECT_TRUE(MatchSegment("[[:a]", ":"));  // '[' inside a class is a member
  EXPECT_FALSE(MatchSegment("[[:alpha:]]", "b"));
  EXPECT_TRUE(MatchSegment("[a\\]]", "]"));
  EXPECT_FALSE(MatchSegment("[\\.]x", ".x"));  // a class never matches a leading '.'
  EXPECT_TRUE(MatchSegment("\\.x", ".x"));
  EXPECT_FALSE(MatchSegment(std::string("a\0b", 3), "a"));
}

TEST(FsGlobTest, CaretNegatesWhateverTheEnvironmentSays) {
  // glibc's fnmatch reads "[^" as the member '^' under POSIXLY_CORRECT, and
  // reads that variable once per process: check in a fresh one.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("POSIXLY_CORRECT", "1", 1);
        const bool negated = !MatchSegment("[^a-c]x", "bx") && MatchSegment("[^a-c]x", "dx");
        std::_Exit(negated ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

class FsGlobTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* d : {"src", "src/pkg", "src/pkg/deep", ".git", "docs"}) {
      mkdir((dir_ / d).c_str(), 0755);
    }
    for (const char* f : {"src/a.py", "src/b.txt", "src/pkg/c.py", "src/pkg/deep/d.py", ".git/e.py",
                          "top.py", "docs/x.md"}) {
      WriteFile(dir_ / f, "x");
    }
    symlink((dir_ / "src").c_str(), (dir_ / "src/pkg/loop").c_str());
  }
  std::vector<std::string> Match(const std::string& pattern, uint32_t max = 0,
                                 bool* truncated = nullptr) {
    v1::GlobResponse r;
    absl::Status s = Glob(dir_.path(), pattern, max, &r);
    EXPECT_TRUE(s.ok()) << s;
    std::vector<std::string> out;
    for (const auto& e : r.entries()) out.push_back(e.name());
    if (truncated != nullptr) *truncated = r.truncated();
    return out;
  }
  TempDir dir_;
};

TEST_F(FsGlobTreeTest, StarQuestionAndClasses) {
  EXPECT_EQ(Match("*.py"), std::vector<std::string>{"top.py"});
  EXPECT_EQ(Match("src/*"), (std::vector<std::string>{"src/a.py", "src/b.txt", "src/pkg"}));
  EXPECT_EQ(Match("src/?.py"), std::vector<std::string>{"src/a.py"});
  EXPECT_EQ(Match("src/[ab].*"), (std::vector<std::string>{"src/a.py", "src/b.txt"}));
  EXPECT_EQ(Match("*/"), (std::vector<std::string>{"docs", "src"}));
  EXPECT_TRUE(Match("nothing*").empty());
}

TEST_F(FsGlobTreeTest, DoubleStarRecursesWithoutHiddenDirsOrLinks) {
  EXPECT_EQ(Match("**/*.py"),
            (std::vector<std::string>{"src/a.py", "src/pkg/c.py", "src/pkg/deep/d.py", "top.py"}));
  EXPECT_EQ(Match("src/**/d.py"), std::vector<std::string>{"src/pkg/deep/d.py"});
  EXPECT_EQ(Match(".git/*.py"), std::vector<std::string>{".git/e.py"});
  // Through the symlink only when a segment names it explicitly.
  EXPECT_EQ(Match("src/pkg/loop/a.py"), std::vector<std::string>{"src/pkg/loop/a.py"});
}

TEST_F(FsGlobTreeTest, CapsAndAbsolutePatterns) {
  bool truncated = false;
  EXPECT_EQ(Match("**/*.py", 2, &truncated).size(), 2u);
  EXPECT_TRUE(truncated);
  v1::GlobResponse r;
  ASSERT_TRUE(Glob("/", dir_ / "src/*.py", 0, &r).ok());
  ASSERT_EQ(r.entries_size(), 1);
  EXPECT_EQ(r.entries(0).path(), dir_ / "src/a.py");
  EXPECT_EQ(Glob(dir_ / "top.py", "*", 0, &r).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Glob(dir_.path(), "", 0, &r).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sagewai::fs
