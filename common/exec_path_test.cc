#include "common/exec_path.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string>

namespace sagewai {
namespace {

class ExecPathTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/exec_path_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* d : {"/a", "/b", "/b/dir-tool"}) mkdir((dir_ + d).c_str(), 0755);
    WriteFile("/a/tool", 0644);
    WriteFile("/b/tool", 0755);
    WriteFile("/a/only-plain", 0644);
    mkfifo((dir_ + "/a/fifo").c_str(), 0755);
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }
  void WriteFile(const std::string& rel, mode_t mode) {
    std::ofstream(dir_ + rel) << "#!/bin/sh\n";
    chmod((dir_ + rel).c_str(), mode);
  }
  std::string Path() const { return dir_ + "/a:" + dir_ + "/b"; }
  std::string dir_;
};

TEST_F(ExecPathTest, FindsTheFirstExecutableSkippingUnusableOnes) {
  ExecutableLookup r = FindExecutable("tool", Path());
  EXPECT_EQ(r.kind, ExecutableLookup::kFound);
  EXPECT_EQ(r.path, dir_ + "/b/tool");
}

TEST_F(ExecPathTest, ReportsTheFirstUnusableCandidateWhenNothingRuns) {
  ExecutableLookup r = FindExecutable("only-plain", Path());
  EXPECT_EQ(r.kind, ExecutableLookup::kNotExecutable);
  EXPECT_EQ(r.path, dir_ + "/a/only-plain");
  EXPECT_EQ(r.error, EACCES);  // root too: no execute bit at all
  r = FindExecutable("dir-tool", Path());
  EXPECT_EQ(r.kind, ExecutableLookup::kNotExecutable);
  EXPECT_EQ(r.error, EISDIR);
  r = FindExecutable("fifo", Path());
  EXPECT_EQ(r.kind, ExecutableLookup::kNotExecutable);
  EXPECT_EQ(r.error, EACCES);
}

TEST_F(ExecPathTest, MissingIsNotFound) {
  ExecutableLookup r = FindExecutable("no-such-program", Path());
  EXPECT_EQ(r.kind, ExecutableLookup::kNotFound);
  EXPECT_EQ(r.error, ENOENT);
  EXPECT_TRUE(r.path.empty());
  EXPECT_EQ(FindExecutable("", "/bin").kind, ExecutableLookup::kNotFound);
}

TEST_F(ExecPathTest, ANameWithASlashIsCheckedNotSearched) {
  ExecutableLookup r = FindExecutable(dir_ + "/b/tool", "/nonexistent");
  EXPECT_EQ(r.kind, ExecutableLookup::kFound);
  EXPECT_EQ(r.path, dir_ + "/b/tool");
  EXPECT_EQ(FindExecutable(dir_ + "/b", "").kind, ExecutableLookup::kNotExecutable);
  EXPECT_EQ(FindExecutable(dir_ + "/nope", "").kind, ExecutableLookup::kNotFound);
}

TEST_F(ExecPathTest, AnEmptyEntryIsTheCurrentDirectory) {
  char old[4096];
  ASSERT_NE(getcwd(old, sizeof old), nullptr);
  ASSERT_EQ(chdir((dir_ + "/b").c_str()), 0);
  ExecutableLookup r = FindExecutable("tool", "/nonexistent::");
  EXPECT_EQ(chdir(old), 0);
  EXPECT_EQ(r.kind, ExecutableLookup::kFound);
  EXPECT_EQ(r.path, "./tool");
}

}  // namespace
}  // namespace sagewai
