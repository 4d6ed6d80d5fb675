#include "common/passwd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace sagewai {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kPasswd[] = R"(# users of the image
root:x:0:0:root:/root:/bin/bash

daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
broken-too-few:x:5:5
badid:x:12a:100:bad:/nowhere:/bin/sh
+nisuser::::::
agent:x:1000:1000:Sagewai agent,,,:/home/agent:/bin/bash
dup:x:1001:1001::/home/dup1:/bin/sh
dup:x:1002:1002::/home/dup2:/bin/sh
nohome:x:1003:1003:::
crlf:x:1004:1004::/home/crlf:/bin/sh)"
                           "\r\n";

constexpr char kGroup[] = R"(root:x:0:
# comment
tools:x:50:agent,other
agent:x:1000:
docker:x:998:other,agent,
empty-members:x:60:
broken:x:
staff:x:70:dup
)";

TEST(ParseIdTest, AcceptsDecimalIdsInRange) {
  uint32_t id = 7;
  ASSERT_TRUE(ParseId("0", &id));
  EXPECT_EQ(id, 0u);
  ASSERT_TRUE(ParseId("1000", &id));
  EXPECT_EQ(id, 1000u);
  ASSERT_TRUE(ParseId("4294967294", &id));
  EXPECT_EQ(id, 4294967294u);
}

TEST(ParseIdTest, RejectsEverythingElse) {
  uint32_t id = 0;
  EXPECT_FALSE(ParseId("", &id));
  EXPECT_FALSE(ParseId("-1", &id));
  EXPECT_FALSE(ParseId("+1", &id));
  EXPECT_FALSE(ParseId(" 1", &id));
  EXPECT_FALSE(ParseId("1x", &id));
  EXPECT_FALSE(ParseId("4294967295", &id));  // (uid_t)-1
  EXPECT_FALSE(ParseId("99999999999", &id));
  EXPECT_FALSE(ParseId("000000000001", &id));
}

TEST(ParsePasswdLineTest, ParsesAllFields) {
  PasswdEntry e;
  ASSERT_TRUE(ParsePasswdLine("agent:x:1000:1001:Agent,,,:/home/agent:/bin/bash", &e));
  EXPECT_EQ(e.name, "agent");
  EXPECT_EQ(e.uid, 1000u);
  EXPECT_EQ(e.gid, 1001u);
  EXPECT_EQ(e.home, "/home/agent");
  EXPECT_EQ(e.shell, "/bin/bash");
}

TEST(ParsePasswdLineTest, SkipsCommentsBlankAndMalformedLines) {
  PasswdEntry e;
  EXPECT_FALSE(ParsePasswdLine("", &e));
  EXPECT_FALSE(ParsePasswdLine("   ", &e));
  EXPECT_FALSE(ParsePasswdLine("# agent:x:1000:1000::/home/agent:/bin/sh", &e));
  EXPECT_FALSE(ParsePasswdLine("agent:x:1000:1000", &e));
  EXPECT_FALSE(ParsePasswdLine(":x:1000:1000::/home:/bin/sh", &e));
  EXPECT_FALSE(ParsePasswdLine("agent:x::1000::/home:/bin/sh", &e));
  EXPECT_FALSE(ParsePasswdLine("agent:x:1000:abc::/home:/bin/sh", &e));
  EXPECT_FALSE(ParsePasswdLine("+::::::", &e));
}

TEST(ParsePasswdLineTest, EmptyHomeAndShellAreKept) {
  PasswdEntry e;
  ASSERT_TRUE(ParsePasswdLine("u:x:5:6:::", &e));
  EXPECT_EQ(e.home, "");
  EXPECT_EQ(e.shell, "");
}

TEST(ParseGroupLineTest, ParsesMembers) {
  GroupEntry g;
  ASSERT_TRUE(ParseGroupLine("docker:x:998:a,b,,c,", &g));
  EXPECT_EQ(g.name, "docker");
  EXPECT_EQ(g.gid, 998u);
  EXPECT_THAT(g.members, ElementsAre("a", "b", "c"));
  ASSERT_TRUE(ParseGroupLine("none:x:5:", &g));
  EXPECT_THAT(g.members, IsEmpty());
  EXPECT_FALSE(ParseGroupLine("broken:x:", &g));
  EXPECT_FALSE(ParseGroupLine("broken:x:z:", &g));
}

TEST(ParsePasswdFileTest, KeepsOnlyWellFormedEntriesInOrder) {
  std::vector<PasswdEntry> users = ParsePasswdFile(kPasswd);
  std::vector<std::string> names;
  for (const auto& u : users) names.push_back(u.name);
  EXPECT_THAT(names, ElementsAre("root", "daemon", "agent", "dup", "dup", "nohome", "crlf"));
  EXPECT_EQ(users.back().shell, "/bin/sh");  // "\r\n" line ending stripped
}

TEST(ParsePasswdFileTest, HandlesVeryLongLines) {
  std::string gecos(200000, 'g');
  std::string content =
      "long:x:1500:1500:" + gecos + ":/home/long:/bin/sh\nnext:x:1501:1501::/h:/s";
  std::vector<PasswdEntry> users = ParsePasswdFile(content);
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].home, "/home/long");
  EXPECT_EQ(users[1].name, "next");

  std::string members;
  for (int i = 0; i < 20000; ++i) members += "user" + std::to_string(i) + ",";
  std::vector<GroupEntry> groups = ParseGroupFile("big:x:77:" + members + "agent\n");
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].members.size(), 20001u);
  EXPECT_EQ(groups[0].members.back(), "agent");
}

ResolvedUser Resolve(std::string_view spec, std::string_view passwd = kPasswd,
                     std::string_view group = kGroup) {
  ResolvedUser user;
  std::string error;
  EXPECT_TRUE(ResolveUser(spec, passwd, group, &user, &error)) << error;
  return user;
}

std::string ResolveError(std::string_view spec) {
  ResolvedUser user;
  std::string error;
  EXPECT_FALSE(ResolveUser(spec, kPasswd, kGroup, &user, &error)) << spec;
  return error;
}

TEST(ResolveUserTest, ByNameGivesPrimaryAndMemberGroups) {
  ResolvedUser u = Resolve("agent");
  EXPECT_EQ(u.uid, 1000u);
  EXPECT_EQ(u.gid, 1000u);
  EXPECT_EQ(u.name, "agent");
  EXPECT_EQ(u.home, "/home/agent");
  EXPECT_TRUE(u.has_passwd_entry);
  EXPECT_THAT(u.groups, ElementsAre(1000u, 50u, 998u));
}

TEST(ResolveUserTest, ByUidFindsThePasswdEntry) {
  ResolvedUser u = Resolve("1000");
  EXPECT_EQ(u.name, "agent");
  EXPECT_EQ(u.gid, 1000u);
  EXPECT_THAT(u.groups, ElementsAre(1000u, 50u, 998u));
}

TEST(ResolveUserTest, FirstEntryWinsForDuplicateNames) {
  ResolvedUser u = Resolve("dup");
  EXPECT_EQ(u.uid, 1001u);
  EXPECT_EQ(u.home, "/home/dup1");
  EXPECT_THAT(u.groups, ElementsAre(1001u, 70u));
}

TEST(ResolveUserTest, UidGidOverridesThePrimaryGroup) {
  ResolvedUser u = Resolve("1000:50");
  EXPECT_EQ(u.uid, 1000u);
  EXPECT_EQ(u.gid, 50u);
  EXPECT_THAT(u.groups, ElementsAre(50u, 998u));
}

TEST(ResolveUserTest, NameAndGroupName) {
  ResolvedUser u = Resolve("agent:docker");
  EXPECT_EQ(u.uid, 1000u);
  EXPECT_EQ(u.gid, 998u);
}

TEST(ResolveUserTest, UidWithoutEntryGetsNoSupplementaryGroups) {
  ResolvedUser u = Resolve("4242:4343");
  EXPECT_EQ(u.uid, 4242u);
  EXPECT_EQ(u.gid, 4343u);
  EXPECT_EQ(u.name, "4242");
  EXPECT_EQ(u.home, "");
  EXPECT_FALSE(u.has_passwd_entry);
  EXPECT_THAT(u.groups, IsEmpty());

  ResolvedUser bare = Resolve("4242");
  EXPECT_EQ(bare.gid, 4242u);
  EXPECT_THAT(bare.groups, IsEmpty());
}

TEST(ResolveUserTest, WorksWithoutFiles) {
  ResolvedUser u = Resolve("1000:1000", "", "");
  EXPECT_EQ(u.uid, 1000u);
  EXPECT_FALSE(u.has_passwd_entry);
}

TEST(ResolveUserTest, RejectsUnknownNamesAndBadSpecs) {
  EXPECT_THAT(ResolveError("nosuchuser"), HasSubstr("not in the passwd file"));
  EXPECT_THAT(ResolveError("agent:nosuchgroup"), HasSubstr("nosuchgroup"));
  EXPECT_THAT(ResolveError(""), HasSubstr("not a user name"));
  EXPECT_THAT(ResolveError("1000:"), HasSubstr("not a user name"));
  EXPECT_THAT(ResolveError(":1000"), HasSubstr("not a user name"));
  EXPECT_THAT(ResolveError("4294967295"), HasSubstr("out of range"));
  EXPECT_THAT(ResolveError("1:4294967295"), HasSubstr("out of range"));
  // Lines that failed to parse never match.
  EXPECT_THAT(ResolveError("badid"), HasSubstr("not in the passwd file"));
  EXPECT_THAT(ResolveError("broken-too-few"), HasSubstr("not in the passwd file"));
}

TEST(ReadSmallFileTest, ReadsAndReportsErrors) {
  char path[] = "/tmp/passwd_test_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, "abc\n", 4), 4);
  close(fd);
  std::string content, error;
  ASSERT_TRUE(ReadSmallFile(path, &content, &error)) << error;
  EXPECT_EQ(content, "abc\n");
  EXPECT_FALSE(ReadSmallFile(path, &content, &error, 2));
  EXPECT_THAT(error, HasSubstr("larger than"));
  unlink(path);
  EXPECT_FALSE(ReadSmallFile(path, &content, &error));
  EXPECT_THAT(error, HasSubstr("No such file"));
}

}  // namespace
}  // namespace sagewai
