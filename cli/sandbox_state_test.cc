#include "cli/sandbox_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "cli/connection.h"

namespace sagewai::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/sagewai-state-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(SandboxStateTest, IdsAreSafeDirectoryNames) {
  EXPECT_TRUE(std::regex_match(NewSandboxId(), std::regex("sbx-[0-9a-f]{12}")));
  EXPECT_NE(NewSandboxId(), NewSandboxId());
  EXPECT_TRUE(IsValidSandboxId("sbx-0123456789ab"));
  EXPECT_TRUE(IsValidSandboxId("run_42.a-b"));
  for (const char* bad : {"", ".", "..", "-x", "a/b", "a b", "x\n"}) {
    EXPECT_FALSE(IsValidSandboxId(bad)) << bad;
  }
  EXPECT_FALSE(IsValidSandboxId(std::string(65, 'a')));
}

TEST(SandboxStateTest, RootFollowsTheEnvironment) {
  setenv(kStateRootEnv, "/somewhere/else", 1);
  EXPECT_EQ(SandboxStateRoot(), "/somewhere/else");
  unsetenv(kStateRootEnv);
  if (geteuid() == 0) {
    EXPECT_EQ(SandboxStateRoot(), "/var/lib/sagewai-sandbox");
  }
}

TEST(SandboxStateTest, PathsAndAddress) {
  SandboxPaths p = PathsFor("/r", "sbx-1");
  EXPECT_EQ(p.dir, "/r/sbx-1");
  EXPECT_EQ(p.socket_path, "/r/sbx-1/run/tool-runner.sock");
  EXPECT_EQ(p.token_file, "/r/sbx-1/token");
  EXPECT_EQ(p.Address(), "unix:///r/sbx-1/run/tool-runner.sock");
}

TEST(SandboxStateTest, RecordRoundTripsAndIsPrivate) {
  TempDir dir;
  SandboxRecord record;
  record.values = {{"id", "sbx-1"}, {"addr", "unix:///x=y"}, {"empty", ""}};
  const std::string path = dir.path() + "/sandbox";
  ASSERT_TRUE(WriteRecord(path, record).ok());
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  absl::StatusOr<SandboxRecord> back = ReadRecord(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->values, record.values);
  EXPECT_EQ(back->Get("addr"), "unix:///x=y");
  EXPECT_EQ(back->Get("missing"), "");
  EXPECT_FALSE(ParseRecord("no equals sign\n").ok());
  EXPECT_TRUE(absl::IsNotFound(ReadRecord(dir.path() + "/none").status()));
}

TEST(SandboxStateTest, PrivateDirsAndAgentDirs) {
  TempDir dir;
  const std::string deep = dir.path() + "/a/b/c";
  ASSERT_TRUE(MakePrivateDir(deep).ok());
  ASSERT_TRUE(MakePrivateDir(deep).ok());  // idempotent
  struct stat st {};
  ASSERT_EQ(stat((dir.path() + "/a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_TRUE(PrepareAgentDir(deep + "/run").ok());
  ASSERT_EQ(stat((deep + "/run").c_str(), &st), 0);
  if (geteuid() == 0) {
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_mode & 0777, 0770u);
  } else {
    EXPECT_EQ(st.st_mode & 0777, 0777u);
  }
  EXPECT_FALSE(PrepareAgentDir(deep + "/run").ok());  // a fresh directory, never reused
}

TEST(SandboxStateTest, HolderLockIsSeenWhileTheHolderLives) {
  TempDir dir;
  const std::string lock = dir.path() + "/lock";
  EXPECT_EQ(LiveHolder(lock), std::nullopt);  // no file
  int to_child[2];
  int from_child[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(from_child), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    absl::StatusOr<HolderLock> held = HolderLock::Acquire(lock);
    char c = held.ok() ? 'y' : 'n';
    (void)!write(from_child[1], &c, 1);
    (void)!read(to_child[0], &c, 1);  // until the parent says so
    _exit(0);
  }
  char c = 0;
  ASSERT_EQ(read(from_child[0], &c, 1), 1);
  ASSERT_EQ(c, 'y');
  EXPECT_EQ(LiveHolder(lock), std::optional<pid_t>(pid));
  (void)!write(to_child[1], "x", 1);
  int status = 0;
  waitpid(pid, &status, 0);
  // The kernel dropped the lock with the holder; the file remains.
  EXPECT_TRUE(std::filesystem::exists(lock));
  EXPECT_EQ(LiveHolder(lock), std::nullopt);
  for (int fd : {to_child[0], to_child[1], from_child[0], from_child[1]}) close(fd);
}

// --sandbox is taken out of a runner command's options, and only there.
TEST(SandboxFlagTest, ExtractedFromOptionsOnly) {
  std::vector<std::string> args = {"--sandbox", "sbx-1", "--json"};
  auto id = ExtractSandboxFlag(&args);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, std::optional<std::string>("sbx-1"));
  EXPECT_THAT(args, ElementsAre("--json"));

  args = {"put", "a", "b", "--sandbox=sbx-2"};
  id = ExtractSandboxFlag(&args);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, std::optional<std::string>("sbx-2"));
  EXPECT_THAT(args, ElementsAre("put", "a", "b"));

  // exec: the command's own words are left alone, after -- or after the
  // first word that is not an option or an option's value.
  const std::vector<std::string> exec_flags = {"env", "e", "cwd"};
  args = {"--env", "A=1", "--sandbox", "s", "ls", "--sandbox", "x"};
  id = ExtractSandboxFlag(&args, true, exec_flags);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, std::optional<std::string>("s"));
  EXPECT_THAT(args, ElementsAre("--env", "A=1", "ls", "--sandbox", "x"));
  args = {"-e", "--sandbox", "--", "echo", "--sandbox", "y"};
  id = ExtractSandboxFlag(&args, true, exec_flags);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, std::nullopt);  // "--sandbox" was -e's value
  EXPECT_THAT(args, ElementsAre("-e", "--sandbox", "--", "echo", "--sandbox", "y"));

  args = {"--sandbox", "a", "--sandbox", "b"};
  EXPECT_FALSE(ExtractSandboxFlag(&args).ok());
  args = {"--sandbox"};
  EXPECT_FALSE(ExtractSandboxFlag(&args).ok());
  args = {"--sandbox="};
  EXPECT_FALSE(ExtractSandboxFlag(&args).ok());
}

TEST(SandboxFlagTest, ResolvesThroughTheStateDirectory) {
  TempDir dir;
  setenv(kStateRootEnv, dir.path().c_str(), 1);
  SandboxPaths p = PathsFor(dir.path(), "sbx-abc");
  ASSERT_TRUE(MakePrivateDir(p.dir).ok());
  ASSERT_TRUE(WritePrivateFile(p.token_file, "secret-token\n").ok());
  SandboxRecord record;
  record.values = {{"id", "sbx-abc"},
                   {"addr", p.Address()},
                   {"token_file", p.token_file},
                   {"container_id", "c0ffee"}};
  ASSERT_TRUE(WriteRecord(p.record_file, record).ok());

  absl::StatusOr<SandboxEndpoint> endpoint = ResolveSandbox("sbx-abc", "/nonexistent/docker");
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  EXPECT_EQ(endpoint->address, p.Address());
  EXPECT_EQ(endpoint->token_file, p.token_file);
  EXPECT_EQ(endpoint->container, "c0ffee");

  SetSandboxFlag("sbx-abc");
  CliError error;
  // ConnectFromFlags checks the peer before it returns: without a running
  // container it cannot find the runner's pid, and with --peer-uid instead
  // it finds no socket at the sandbox's address.
  EXPECT_EQ(ConnectFromFlags(std::nullopt, std::nullopt, &error), nullptr);
  EXPECT_EQ(error.exit_code, 69);
  EXPECT_THAT(error.message, HasSubstr("cannot tell which process is sandbox sbx-abc's runner"));
  ConnectionPolicy by_uid;
  by_uid.peer.uid = 0;
  SetConnectionFlags(by_uid);
  EXPECT_EQ(ConnectFromFlags(std::nullopt, std::nullopt, &error), nullptr);
  EXPECT_EQ(error.exit_code, 69);
  EXPECT_THAT(error.message, HasSubstr("cannot reach the runner at " + p.Address()));
  SetConnectionFlags({});
  EXPECT_EQ(ConnectFromFlags(std::string("unix:///x"), std::nullopt, &error), nullptr);
  EXPECT_EQ(error.exit_code, 2);
  EXPECT_THAT(error.message, HasSubstr("without --addr"));

  SetSandboxFlag("sbx-none");
  EXPECT_EQ(ConnectFromFlags(std::nullopt, std::nullopt, &error), nullptr);
  EXPECT_EQ(error.exit_code, 69);
  EXPECT_THAT(error.message, HasSubstr("no sandbox sbx-none"));
  EXPECT_THAT(error.message, HasSubstr("sagewai-sandbox list"));
  SetSandboxFlag(std::nullopt);

  // $SAGEWAI_SANDBOX when no flag names the runner.
  setenv(kSandboxEnv, "sbx-abc", 1);
  SetConnectionFlags(by_uid);
  EXPECT_EQ(ConnectFromFlags(std::nullopt, std::nullopt, &error), nullptr);
  EXPECT_THAT(error.message, HasSubstr("cannot reach the runner at " + p.Address()));
  SetConnectionFlags({});
  unsetenv(kSandboxEnv);
  unsetenv(kStateRootEnv);
}

}  // namespace
}  // namespace sagewai::cli
