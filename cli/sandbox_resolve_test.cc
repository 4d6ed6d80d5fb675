#include "cli/sandbox_resolve.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace sagewai::cli {
namespace {

using ::testing::ElementsAre;
using std::string_literals::operator""s;
using ::testing::HasSubstr;

class FakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sagewai-proc-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { (void)!std::system(("rm -rf '" + root_ + "'").c_str()); }

  void Stat(pid_t pid, const std::string& comm, pid_t ppid) {
    const std::string dir = absl::StrCat(root_, "/", pid);
    mkdir(dir.c_str(), 0755);
    std::ofstream(dir + "/stat") << pid << " (" << comm << ") S " << ppid << " 1 1 0 -1\n";
  }
  void Children(pid_t pid, const std::string& text) {
    const std::string dir = absl::StrCat(root_, "/", pid, "/task/", pid);
    ASSERT_EQ(std::system(("mkdir -p '" + dir + "'").c_str()), 0);
    std::ofstream(dir + "/children") << text;
  }

  std::string root_;
};

TEST_F(FakeProc, ChildrenFileWins) {
  Children(100, "101 ");
  Stat(101, "sagewai-tool-ru", 100);
  Stat(102, "other", 100);  // not listed: the children file is what counts
  EXPECT_THAT(ChildrenOf(100, root_), ElementsAre(101));
}

TEST_F(FakeProc, ScanFindsChildrenWhenThereIsNoChildrenFile) {
  Stat(100, "sagewai-entrypo", 1);
  Stat(205, "evil ) S 100 (", 7);  // a name made to look like another parent
  Stat(206, "sagewai-tool-ru", 100);
  Stat(207, "bash", 206);
  EXPECT_THAT(ChildrenOf(100, root_), ElementsAre(206));
  EXPECT_THAT(ChildrenOf(7, root_), ElementsAre(205));
}

TEST_F(FakeProc, UnderGVisorTheGoferHoldsTheSocket) {
  auto cmdline = [&](pid_t pid, const std::string& text) {
    std::ofstream(absl::StrCat(root_, "/", pid, "/cmdline")) << text;
  };
  Stat(50, "containerd-shim", 1);
  Stat(51, "exe", 50);
  cmdline(51, "runsc-gofer\0--root=/run\0gofer\0"s);
  Stat(52, "exe", 50);
  cmdline(52, "runsc-sandbox\0boot\0"s);
  Stat(53, "exe", 52);  // the sandbox's stub: not the socket's holder
  absl::StatusOr<std::optional<pid_t>> holder = GVisorSocketHolder(52, "0123456789abcdef", root_);
  ASSERT_TRUE(holder.ok()) << holder.status();
  EXPECT_EQ(*holder, std::optional<pid_t>(51));

  Stat(60, "sagewai-entrypo", 50);  // a runc container's PID 1
  cmdline(60, "/usr/local/bin/sagewai-entrypoint\0"s);
  holder = GVisorSocketHolder(60, "0123456789abcdef", root_);
  ASSERT_TRUE(holder.ok()) << holder.status();
  EXPECT_EQ(*holder, std::nullopt);

  Stat(54, "exe", 50);  // a second gofer: refused rather than guessed
  cmdline(54, "runsc-gofer\0"s);
  holder = GVisorSocketHolder(52, "0123456789abcdef", root_);
  EXPECT_EQ(holder.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(holder.status().message()), HasSubstr("2 runsc-gofer processes"));
}

TEST(ChildrenOfTest, RealChildOfThisProcess) {
  int release[2];
  ASSERT_EQ(pipe(release), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(release[1]);
    char c;
    (void)!read(release[0], &c, 1);
    _exit(0);
  }
  close(release[0]);
  EXPECT_THAT(ChildrenOf(getpid()), ::testing::Contains(child));
  close(release[1]);
  waitpid(child, nullptr, 0);
}

// A stand-in for the container's PID 1 with `children` children, and a
// `docker` whose inspect prints its pid.
class FakeContainer : public ::testing::Test {
 protected:
  void Start(int children) {
    int ready[2], release[2];
    ASSERT_EQ(pipe(ready), 0);
    ASSERT_EQ(pipe(release), 0);
    pid1_ = fork();
    ASSERT_GE(pid1_, 0);
    if (pid1_ == 0) {
      close(ready[0]);
      close(release[1]);
      for (int i = 0; i < children; ++i) {
        pid_t c = fork();
        if (c == 0) {
          char b;
          (void)!read(release[0], &b, 1);
          _exit(0);
        }
        if (write(ready[1], &c, sizeof c) != sizeof c) _exit(1);
      }
      pid_t none = 0;
      if (write(ready[1], &none, sizeof none) != sizeof none) _exit(1);
      char b;
      (void)!read(release[0], &b, 1);
      while (wait(nullptr) > 0) {
      }
      _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    release_ = release[1];
    for (pid_t c = 0; read(ready[0], &c, sizeof c) == sizeof c && c != 0;) children_.push_back(c);
    close(ready[0]);
    char tmpl[] = "/tmp/sagewai-docker-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    docker_ = dir_ + "/docker";
    std::ofstream(docker_) << "#!/bin/sh\necho " << pid1_ << "\n";
    chmod(docker_.c_str(), 0755);
  }
  void TearDown() override {
    if (pid1_ > 0) {
      close(release_);
      waitpid(pid1_, nullptr, 0);
    }
    if (!dir_.empty()) (void)!std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  pid_t pid1_ = -1;
  int release_ = -1;
  std::vector<pid_t> children_;
  std::string dir_, docker_;
};

TEST_F(FakeContainer, TheOneChildOfPid1IsTheRunner) {
  Start(1);
  ASSERT_EQ(children_.size(), 1u);
  absl::StatusOr<pid_t> pid = RunnerHostPid("0123456789abcdef", docker_);
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_EQ(*pid, children_[0]);
}

TEST_F(FakeContainer, NoChildOrSeveralIsRefused) {
  Start(0);
  absl::StatusOr<pid_t> none = RunnerHostPid("0123456789abcdef", docker_);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(none.status().message()), HasSubstr("has no child"));
  TearDown();
  pid1_ = -1;
  children_.clear();
  Start(2);
  absl::StatusOr<pid_t> two = RunnerHostPid("0123456789abcdef", docker_);
  EXPECT_EQ(two.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(two.status().message()), HasSubstr("has 2 children"));
}

TEST(RunnerHostPidTest, AnEngineThatCannotBeAskedIsAnError) {
  absl::StatusOr<pid_t> pid = RunnerHostPid("0123456789abcdef", "/nonexistent/docker");
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(pid.status().message()), HasSubstr("container 0123456789ab"));
}

}  // namespace
}  // namespace sagewai::cli
