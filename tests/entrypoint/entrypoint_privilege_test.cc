// The entrypoint's privilege drop as PID 1 of a new PID namespace: named
// users and bare uids, homes and work directories, unknown users, and each
// capability start state (default, --cap-drop ALL, SETUID+SETGID(+SETPCAP),
// non-root). Tests that need root, unshare or setpriv skip with the reason.
#include <elf.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/passwd.h"
#include "tests/entrypoint/entrypoint_fixture.h"
#include "tests/entrypoint/subprocess.h"

namespace sagewai::entrypoint_test {
namespace {

class PrivilegeTest : public Fixture {};

void ExpectNoCapabilities(const std::map<std::string, std::string>& m, bool bounding_too = true) {
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapAmb"}) {
    EXPECT_EQ(m.count(set) ? m.at(set) : "?", "0000000000000000") << set;
  }
  if (bounding_too) {
    EXPECT_EQ(m.count("CapBnd") ? m.at("CapBnd") : "?", "0000000000000000");
  }
  EXPECT_EQ(m.count("NoNewPrivs") ? m.at("NoNewPrivs") : "?", "1");
}

TEST_F(PrivilegeTest, DropsToANamedUser) {
  REQUIRE_ROOT_AND_SETPRIV();
  Result r = RunToEnd(AsPid1({kChild, "status"}), AgentEnv("sgagent"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = ParseStatus(r.out);
  EXPECT_EQ(Words(m["Uid"]), std::set<std::string>({"4242"})) << m["Uid"];
  EXPECT_EQ(Words(m["Gid"]), std::set<std::string>({"4242"})) << m["Gid"];
  // Exactly the user's groups: its primary group and sgextra; not the
  // invoker's (root), not sgother.
  EXPECT_EQ(Words(m["Groups"]), std::set<std::string>({"4242", "4300"})) << m["Groups"];
  ExpectNoCapabilities(m);
  EXPECT_EQ(m["setuid0"], "fail");
  EXPECT_EQ(m["env:HOME"], home_);
  EXPECT_EQ(m["env:USER"], "sgagent");
  EXPECT_EQ(m["env:LOGNAME"], "sgagent");
  EXPECT_EQ(m["cwd"], work_);
  EXPECT_EQ(r.err, "") << "a clean drop logs nothing at the default level";
}

TEST_F(PrivilegeTest, DropsToAUidGidWithoutPasswdEntry) {
  REQUIRE_ROOT_AND_SETPRIV();
  cleanup_.push_back("/tmp/sagewai-home-4500");
  chown(work_.c_str(), 4500, 4501);
  Result r = RunToEnd(AsPid1({kChild, "status"}), AgentEnv("4500:4501"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = ParseStatus(r.out);
  EXPECT_EQ(Words(m["Uid"]), std::set<std::string>({"4500"}));
  EXPECT_EQ(Words(m["Gid"]), std::set<std::string>({"4501"}));
  EXPECT_EQ(Words(m["Groups"]), std::set<std::string>()) << "no supplementary groups";
  ExpectNoCapabilities(m);
  EXPECT_EQ(m["env:HOME"], "/tmp/sagewai-home-4500");
  EXPECT_EQ(m["env:USER"], "4500");
  struct stat st;
  ASSERT_EQ(lstat("/tmp/sagewai-home-4500", &st), 0);
  EXPECT_EQ(st.st_uid, 4500u);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(PrivilegeTest, UnwritableHomeFallsBackUnderTmp) {
  REQUIRE_ROOT_AND_SETPRIV();
  cleanup_.push_back("/tmp/sagewai-home-4243");
  Result r = RunToEnd(AsPid1({kChild, "status"}), AgentEnv("sgnohome"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = ParseStatus(r.out);
  EXPECT_EQ(m["env:HOME"], "/tmp/sagewai-home-4243");
  EXPECT_EQ(m["env:USER"], "sgnohome");
}

TEST_F(PrivilegeTest, UnwritableWorkdirGivesOneWarning) {
  REQUIRE_ROOT_AND_SETPRIV();
  chown(work_.c_str(), 0, 0);
  chmod(work_.c_str(), 0755);
  Result r = RunToEnd(AsPid1({kChild, "status"}), AgentEnv("sgagent"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(CountOccurrences(r.err, "\"level\":\"warn\""), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("\"owner\":\"0:0\""));
  EXPECT_THAT(r.err, HasSubstr("\"mode\":\"0755\""));
  EXPECT_THAT(r.err, HasSubstr("chown 4242:4242"));
  EXPECT_EQ(ParseStatus(r.out)["cwd"], work_);
}

TEST_F(PrivilegeTest, UnknownUserIsRefusedAndTheCommandNeverRuns) {
  REQUIRE_PID1();
  Result r = RunToEnd(AsPid1({kChild, "status"}), AgentEnv("nosuchuser"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "") << "the command ran";
  EXPECT_THAT(r.err, HasSubstr("nosuchuser"));
  EXPECT_THAT(r.err, HasSubstr("refusing to start"));
}

TEST_F(PrivilegeTest, CapDropAllWarnsAndContinuesAsRootWithoutCapabilities) {
  REQUIRE_ROOT_AND_SETPRIV();
  // What docker run --cap-drop ALL gives: root with an empty bounding set, so
  // no capability survives the exec of the entrypoint. Root without
  // CAP_DAC_OVERRIDE can only write its own work directory.
  chown(work_.c_str(), 0, 0);
  Result r = RunToEnd(AsPid1({kChild, "status"}, {"setpriv", "--bounding-set", "-all", "--"}),
                      AgentEnv("sgagent"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = ParseStatus(r.out);
  EXPECT_EQ(Words(m["Uid"]), std::set<std::string>({"0"}));
  ExpectNoCapabilities(m);
  EXPECT_EQ(CountOccurrences(r.err, "\"level\":\"warn\""), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--cap-add SETUID --cap-add SETGID"));
  EXPECT_THAT(r.err, HasSubstr("--user 1000:1000"));
}

TEST_F(PrivilegeTest, CapDropAllWithRequireDropRefuses) {
  REQUIRE_ROOT_AND_SETPRIV();
  Result r = RunToEnd(AsPid1({kChild, "status"}, {"setpriv", "--bounding-set", "-all", "--"}),
                      AgentEnv("sgagent", {"AGENT_REQUIRE_DROP=1"}));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "") << "the command ran";
  EXPECT_THAT(r.err, HasSubstr("AGENT_REQUIRE_DROP"));
  EXPECT_THAT(r.err, HasSubstr("--cap-add SETUID --cap-add SETGID"));
}

TEST_F(PrivilegeTest, OnlySetuidSetgidDropsAndKeepsTheBoundingSetQuietly) {
  REQUIRE_ROOT_AND_SETPRIV();
  Result r = RunToEnd(
      AsPid1({kChild, "status"}, {"setpriv", "--bounding-set", "-all,+setuid,+setgid", "--"}),
      AgentEnv("sgagent"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = ParseStatus(r.out);
  EXPECT_EQ(Words(m["Uid"]), std::set<std::string>({"4242"}));
  EXPECT_EQ(Words(m["Groups"]), std::set<std::string>({"4242", "4300"}));
  ExpectNoCapabilities(m, /*bounding_too=*/false);
  // Without CAP_SETPCAP the bounding set (SETUID, SETGID) cannot be cleared:
  // inert under no_new_privs, and said at debug level only.
  EXPECT_EQ(m["CapBnd"], "00000000000000c0");
  EXPECT_EQ(r.err, "");

  r = RunToEnd(
      AsPid1({kChild, "status"}, {"setpriv", "--bounding-set", "-all,+setuid,+setgid", "--"}),
      AgentEnv("sgagent", {"SAGEWAI_LOG_LEVEL=debug"}));
  EXPECT_THAT(r.err, HasSubstr("bounding set kept"));
}

TEST_F(PrivilegeTest, SetuidSetgidSetpcapClearsTheBoundingSetToo) {
  REQUIRE_ROOT_AND_SETPRIV();
  Result r = RunToEnd(AsPid1({kChild, "status"},
                             {"setpriv", "--bounding-set", "-all,+setuid,+setgid,+setpcap", "--"}),
                      AgentEnv("sgagent"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = ParseStatus(r.out);
  EXPECT_EQ(Words(m["Uid"]), std::set<std::string>({"4242"}));
  ExpectNoCapabilities(m, /*bounding_too=*/true);
}

TEST_F(PrivilegeTest, NonRootStartClearsCapabilitiesAndSetsNoNewPrivs) {
  REQUIRE_ROOT_AND_SETPRIV();
  Result r = RunToEnd(AsPid1({kChild, "status"}, {"setpriv", "--reuid", "4242", "--regid", "4242",
                                                  "--clear-groups", "--"}),
                      AgentEnv("sgagent"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto m = ParseStatus(r.out);
  EXPECT_EQ(Words(m["Uid"]), std::set<std::string>({"4242"}));
  EXPECT_EQ(Words(m["Gid"]), std::set<std::string>({"4242"}));
  // Not root: the bounding set cannot be cleared, every other set is empty.
  ExpectNoCapabilities(m, /*bounding_too=*/false);
  EXPECT_EQ(m["env:HOME"], home_);
  EXPECT_EQ(r.err, "");
}

}  // namespace
}  // namespace sagewai::entrypoint_test
