#include "entrypoint/child.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "entrypoint/reaper.h"

namespace sagewai::entrypoint {
namespace {

using ::testing::HasSubstr;

class ChildTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/child_test_XXXXXX";
    dir_ = mkdtemp(tmpl);
    mkdir((dir_ + "/a").c_str(), 0755);
    mkdir((dir_ + "/b").c_str(), 0755);
    mkdir((dir_ + "/b/tool-dir").c_str(), 0755);
    WriteFile(dir_ + "/a/plain", 0644);
    WriteFile(dir_ + "/b/plain", 0755);
    WriteFile(dir_ + "/a/onlyplain", 0644);
    WriteFile(dir_ + "/b/tool", 0755);
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  static void WriteFile(const std::string& path, mode_t mode) {
    std::ofstream(path) << "#!/bin/sh\nexit 3\n";
    chmod(path.c_str(), mode);
  }

  StepStatus Resolve(const std::string& name, std::string* out) {
    return ResolveExecutable(name, dir_ + "/a:" + dir_ + "/b", out);
  }

  std::string dir_;
};

TEST_F(ChildTest, FindsTheFirstExecutableInPath) {
  std::string path;
  ASSERT_TRUE(Resolve("plain", &path).ok());
  EXPECT_EQ(path, dir_ + "/b/plain");  // a/plain is not executable: skipped
  ASSERT_TRUE(Resolve("tool", &path).ok());
  EXPECT_EQ(path, dir_ + "/b/tool");
}

TEST_F(ChildTest, NotFoundIs127) {
  std::string path;
  StepStatus st = Resolve("missing", &path);
  EXPECT_EQ(st.exit_code(), kExitNotFound);
  EXPECT_THAT(st.message(), HasSubstr("command not found: missing"));
  EXPECT_EQ(ResolveExecutable(dir_ + "/nope", "", &path).exit_code(), kExitNotFound);
  EXPECT_EQ(ResolveExecutable("", "/bin", &path).exit_code(), kExitNotFound);
}

TEST_F(ChildTest, NotExecutableIs126) {
  std::string path;
  EXPECT_EQ(Resolve("onlyplain", &path).exit_code(), kExitNotExecutable);
  EXPECT_EQ(Resolve("tool-dir", &path).exit_code(), kExitNotExecutable);
  StepStatus st = ResolveExecutable(dir_ + "/a/plain", "", &path);
  EXPECT_EQ(st.exit_code(), kExitNotExecutable);
  EXPECT_THAT(st.message(), HasSubstr("Permission denied"));
  EXPECT_EQ(ResolveExecutable(dir_, "", &path).exit_code(), kExitNotExecutable);
}

TEST_F(ChildTest, SearchPathComesFromTheChildEnvironment) {
  EXPECT_EQ(SearchPath({"A=1", "PATH=/x:/y"}), "/x:/y");
  EXPECT_THAT(SearchPath({"A=1"}), HasSubstr("/usr/bin"));
}

TEST_F(ChildTest, SpawnRunsTheCommandWithItsEnvironment) {
  PreparedCommand cmd("/bin/sh", {"sh", "-c", "test \"$MARK\" = yes && exit 7"}, {"MARK=yes"});
  sigset_t mask;
  sigemptyset(&mask);
  pid_t pid = -1;
  ASSERT_TRUE(SpawnChild(cmd, mask, &pid).ok());
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(ExitCodeFromWaitStatus(status), 7);
}

TEST_F(ChildTest, ExecFailureComesBackThroughThePipe) {
  // A script with no interpreter line and no exec permission check upfront:
  // execve itself fails (ENOEXEC for a file of zeros).
  const std::string junk = dir_ + "/b/junk";
  {
    std::ofstream out(junk);
    out << std::string(64, '\0');
  }
  chmod(junk.c_str(), 0755);
  PreparedCommand cmd(junk, {"junk"}, {});
  sigset_t mask;
  sigemptyset(&mask);
  pid_t pid = -1;
  StepStatus st = SpawnChild(cmd, mask, &pid);
  EXPECT_EQ(st.exit_code(), kExitNotExecutable);
  EXPECT_THAT(st.message(), HasSubstr("Exec format error"));

  PreparedCommand gone(dir_ + "/gone", {"gone"}, {});
  st = SpawnChild(gone, mask, &pid);
  EXPECT_EQ(st.exit_code(), kExitNotFound);
}

}  // namespace
}  // namespace sagewai::entrypoint
