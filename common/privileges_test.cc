#include "common/privileges.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "common/log.h"

namespace sagewai {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Records every call; each may be told to fail with an errno.
class FakeOps : public PrivilegeOps {
 public:
  explicit FakeOps(uid_t euid) : euid_(euid) {}

  uid_t EffectiveUid() override { return euid_; }
  int SetKeepCaps(bool keep) override { return Record(keep ? "keepcaps 1" : "keepcaps 0"); }
  int SetGroups(const std::vector<gid_t>& groups) override {
    std::string call = "setgroups";
    for (gid_t g : groups) call += " " + std::to_string(g);
    return Record(call);
  }
  int SetResGid(gid_t gid) override { return Record("setresgid " + std::to_string(gid)); }
  int SetResUid(uid_t uid) override { return Record("setresuid " + std::to_string(uid)); }
  int ClearCapabilities(uint64_t, bool* bounding_cleared) override {
    *bounding_cleared = bounding_clearable;
    return Record("clearcaps");
  }
  int SetNoNewPrivs() override { return Record("nnp"); }
  std::string Verify(uid_t uid, gid_t gid, const std::vector<gid_t>&, uint64_t) override {
    calls.push_back("verify " + std::to_string(uid) + ":" + std::to_string(gid));
    return verify_problem;
  }

  // Fails the call whose name starts with `prefix`.
  void Fail(const std::string& prefix, int err) { failures[prefix] = err; }

  std::vector<std::string> calls;
  std::map<std::string, int> failures;
  bool bounding_clearable = true;
  std::string verify_problem;

 private:
  int Record(const std::string& call) {
    calls.push_back(call);
    for (const auto& [prefix, err] : failures) {
      if (call.rfind(prefix, 0) == 0) return err;
    }
    return 0;
  }
  uid_t euid_;
};

ResolvedUser Agent() {
  ResolvedUser u;
  u.uid = 1000;
  u.gid = 1000;
  u.name = "agent";
  u.home = "/home/agent";
  u.has_passwd_entry = true;
  u.groups = {1000, 50};
  return u;
}

class DropPrivilegesTest : public ::testing::Test {
 protected:
  void SetUp() override { log::SetLevel(log::Level::kDebug); }
  void TearDown() override { log::SetLevel(log::Level::kWarn); }

  bool Drop(FakeOps& ops, bool require_drop = false, const ResolvedUser& target = Agent()) {
    ::testing::internal::CaptureStderr();
    const bool ok = DropPrivileges(target, require_drop, ops, &result, &error);
    logs = ::testing::internal::GetCapturedStderr();
    return ok;
  }

  DropResult result;
  std::string error;
  std::string logs;
};

TEST_F(DropPrivilegesTest, RootDropsInTheFixedOrder) {
  FakeOps ops(0);
  ASSERT_TRUE(Drop(ops)) << error;
  EXPECT_THAT(ops.calls,
              ElementsAre("keepcaps 1", "setgroups 1000 50", "setresgid 1000", "setresuid 1000",
                          "keepcaps 0", "clearcaps", "nnp", "verify 1000:1000"));
  EXPECT_TRUE(result.dropped_user);
  EXPECT_TRUE(result.caps_cleared);
  EXPECT_TRUE(result.bounding_cleared);
  EXPECT_EQ(result.uid, 1000u);
  EXPECT_EQ(result.gid, 1000u);
  EXPECT_THAT(logs, Not(HasSubstr("\"warn\"")));
}

TEST_F(DropPrivilegesTest, UidWithoutEntryDropsAllSupplementaryGroups) {
  FakeOps ops(0);
  ResolvedUser bare;
  bare.uid = 4242;
  bare.gid = 4343;
  bare.name = "4242";
  ASSERT_TRUE(Drop(ops, false, bare)) << error;
  EXPECT_EQ(ops.calls[1], "setgroups");
}

TEST_F(DropPrivilegesTest, WithoutSetpcapTheBoundingSetStaysAndThatIsOnlyDebug) {
  FakeOps ops(0);
  ops.bounding_clearable = false;
  ASSERT_TRUE(Drop(ops)) << error;
  EXPECT_TRUE(result.dropped_user);
  EXPECT_FALSE(result.bounding_cleared);
  EXPECT_THAT(logs, HasSubstr("\"level\":\"debug\""));
  EXPECT_THAT(logs, HasSubstr("bounding set kept"));
  EXPECT_THAT(logs, Not(HasSubstr("\"warn\"")));
}

TEST_F(DropPrivilegesTest, CapDropAllWarnsOnceAndContinuesWithoutCapabilities) {
  FakeOps ops(0);
  ops.Fail("setgroups", EPERM);
  ops.bounding_clearable = false;
  ASSERT_TRUE(Drop(ops)) << error;
  // No attempt to change gid or uid after setgroups was refused, but the
  // capabilities are still cleared and no_new_privs set.
  EXPECT_THAT(ops.calls,
              ElementsAre("keepcaps 1", "setgroups 1000 50", "keepcaps 0", "clearcaps", "nnp"));
  EXPECT_FALSE(result.dropped_user);
  EXPECT_TRUE(result.caps_cleared);
  size_t warns = 0;
  for (size_t at = logs.find("\"level\":\"warn\""); at != std::string::npos;
       at = logs.find("\"level\":\"warn\"", at + 1)) {
    ++warns;
  }
  EXPECT_EQ(warns, 1u) << logs;
  EXPECT_THAT(logs, HasSubstr("--cap-add SETUID --cap-add SETGID"));
  EXPECT_THAT(logs, HasSubstr("--user 1000:1000"));
}

TEST_F(DropPrivilegesTest, CapDropAllWithRequireDropRefuses) {
  FakeOps ops(0);
  ops.Fail("setgroups", EPERM);
  EXPECT_FALSE(Drop(ops, /*require_drop=*/true));
  EXPECT_THAT(error, HasSubstr("refusing to start"));
  EXPECT_THAT(error, HasSubstr("AGENT_REQUIRE_DROP"));
  EXPECT_THAT(error, HasSubstr("--cap-add SETUID --cap-add SETGID"));
  EXPECT_THAT(ops.calls, Not(::testing::Contains("clearcaps")));
}

TEST_F(DropPrivilegesTest, SetuidRefusedAfterGroupsIsTheSameState) {
  FakeOps ops(0);
  ops.Fail("setresuid", EPERM);
  ASSERT_TRUE(Drop(ops)) << error;
  EXPECT_FALSE(result.dropped_user);
  EXPECT_THAT(logs, HasSubstr("setresuid"));
  FakeOps strict(0);
  strict.Fail("setresuid", EPERM);
  EXPECT_FALSE(Drop(strict, true));
}

TEST_F(DropPrivilegesTest, OtherErrorsStopTheStart) {
  FakeOps ops(0);
  ops.Fail("setresgid", EINVAL);
  EXPECT_FALSE(Drop(ops));
  EXPECT_THAT(error, HasSubstr("setresgid"));
  EXPECT_THAT(ops.calls, Not(::testing::Contains("setresuid 1000")));
}

TEST_F(DropPrivilegesTest, AlreadyNonRootOnlyClearsCapabilitiesAndSetsNoNewPrivs) {
  FakeOps ops(1000);
  ASSERT_TRUE(Drop(ops)) << error;
  EXPECT_THAT(ops.calls, ElementsAre("clearcaps", "nnp"));
  EXPECT_FALSE(result.dropped_user);
  EXPECT_TRUE(result.caps_cleared);
}

TEST_F(DropPrivilegesTest, FailuresToClearOrLockAreFatal) {
  FakeOps caps(0);
  caps.Fail("clearcaps", EPERM);
  EXPECT_FALSE(Drop(caps));
  EXPECT_THAT(error, HasSubstr("capability"));
  FakeOps nnp(1000);
  nnp.Fail("nnp", EINVAL);
  EXPECT_FALSE(Drop(nnp));
  EXPECT_THAT(error, HasSubstr("no_new_privs"));
}

TEST_F(DropPrivilegesTest, AFailedVerificationIsFatal) {
  FakeOps ops(0);
  ops.verify_problem = "setuid(0) succeeded";
  EXPECT_FALSE(Drop(ops));
  EXPECT_THAT(error, HasSubstr("did not hold: setuid(0) succeeded"));
}

class EnvGuard {
 public:
  explicit EnvGuard(std::vector<std::string> names) : names_(std::move(names)) {
    for (const auto& n : names_) {
      const char* v = getenv(n.c_str());
      saved_.push_back(v ? std::optional<std::string>(v) : std::nullopt);
    }
  }
  ~EnvGuard() {
    for (size_t i = 0; i < names_.size(); ++i) {
      if (saved_[i]) {
        setenv(names_[i].c_str(), saved_[i]->c_str(), 1);
      } else {
        unsetenv(names_[i].c_str());
      }
    }
  }

 private:
  std::vector<std::string> names_;
  std::vector<std::optional<std::string>> saved_;
};

TEST(AgentOptionsTest, DefaultsAndEnvironment) {
  EnvGuard guard({"AGENT_USER", "AGENT_WORKDIR", "AGENT_REQUIRE_DROP", "SAGEWAI_PASSWD_FILE",
                  "SAGEWAI_GROUP_FILE"});
  for (const char* n : {"AGENT_USER", "AGENT_WORKDIR", "AGENT_REQUIRE_DROP", "SAGEWAI_PASSWD_FILE",
                        "SAGEWAI_GROUP_FILE"}) {
    unsetenv(n);
  }
  AgentOptions d = AgentOptions::FromEnvironment();
  EXPECT_EQ(d.user, "agent");
  EXPECT_EQ(d.workdir, "/workspace");
  EXPECT_FALSE(d.require_drop);
  EXPECT_EQ(d.passwd_path, "/etc/passwd");
  EXPECT_EQ(d.group_path, "/etc/group");

  setenv("AGENT_USER", "1000:1000", 1);
  setenv("AGENT_WORKDIR", "/w", 1);
  setenv("AGENT_REQUIRE_DROP", "1", 1);
  setenv("SAGEWAI_PASSWD_FILE", "/p", 1);
  setenv("SAGEWAI_GROUP_FILE", "/g", 1);
  AgentOptions o = AgentOptions::FromEnvironment();
  EXPECT_EQ(o.user, "1000:1000");
  EXPECT_EQ(o.workdir, "/w");
  EXPECT_TRUE(o.require_drop);
  EXPECT_EQ(o.passwd_path, "/p");
  EXPECT_EQ(o.group_path, "/g");

  setenv("AGENT_USER", "", 1);
  setenv("AGENT_REQUIRE_DROP", "0", 1);
  AgentOptions e = AgentOptions::FromEnvironment();
  EXPECT_EQ(e.user, "agent");
  EXPECT_FALSE(e.require_drop);
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/privileges_test_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ChooseHomeTest, UsesTheWritablePasswdHome) {
  TempDir dir;
  EXPECT_EQ(ChooseHome(dir.path(), geteuid()), dir.path());
}

TEST(ChooseHomeTest, FallsBackToAPrivateDirectoryUnderTmp) {
  // Any uid works: the fallback is made by whoever runs the test.
  const uid_t uid = geteuid();
  const std::string fallback = "/tmp/sagewai-home-" + std::to_string(uid);
  const std::string home = ChooseHome("/nonexistent/home/for/test", uid);
  EXPECT_EQ(home, fallback);
  struct stat st;
  ASSERT_EQ(lstat(fallback.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, uid);
  // A second call reuses it.
  EXPECT_EQ(ChooseHome("", uid), fallback);
  rmdir(fallback.c_str());
}

TEST(ChooseHomeTest, RefusesAFallbackThatIsNotTheUsers) {
  // A fallback path that exists as a symlink must not be used.
  const uid_t fake_uid = 3999999;
  const std::string fallback = "/tmp/sagewai-home-" + std::to_string(fake_uid);
  unlink(fallback.c_str());
  ASSERT_EQ(symlink("/", fallback.c_str()), 0);
  ::testing::internal::CaptureStderr();
  const std::string home = ChooseHome("/nonexistent/x", fake_uid);
  ::testing::internal::GetCapturedStderr();
  unlink(fallback.c_str());
  EXPECT_EQ(home, "/nonexistent/x");
}

TEST(EnterWorkdirTest, EntersAWritableDirectoryQuietly) {
  TempDir dir;
  char old[4096];
  ASSERT_NE(getcwd(old, sizeof old), nullptr);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(EnterWorkdir(dir.path(), "/"), dir.path());
  const std::string logs = ::testing::internal::GetCapturedStderr();
  char now[4096];
  ASSERT_NE(getcwd(now, sizeof now), nullptr);
  EXPECT_EQ(std::string(now), dir.path());
  EXPECT_THAT(logs, IsEmpty());
  ASSERT_EQ(chdir(old), 0);
}

TEST(EnterWorkdirTest, MissingDirectoryWarnsAndUsesHome) {
  TempDir home;
  char old[4096];
  ASSERT_NE(getcwd(old, sizeof old), nullptr);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(EnterWorkdir("/nonexistent/workspace", home.path()), home.path());
  const std::string logs = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(logs, HasSubstr("\"level\":\"warn\""));
  EXPECT_THAT(logs, HasSubstr("/nonexistent/workspace"));
  ASSERT_EQ(chdir(old), 0);
}

}  // namespace
}  // namespace sagewai
