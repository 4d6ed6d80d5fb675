#include "common/token_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace sagewai {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class TokenFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/token_file_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string File(const std::string& name, const std::string& content, mode_t mode) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    chmod(path.c_str(), mode);
    return path;
  }

  std::string dir_;
};

TEST_F(TokenFileTest, StripsSurroundingWhitespace) {
  auto t = ReadTokenFile(File("t", "  tok-123\r\n", 0600));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->token, "tok-123");
  EXPECT_THAT(t->warnings, IsEmpty());
  EXPECT_EQ(ReadTokenFile(File("g", "tok", 0640))->warnings.size(), 0u);  // group may read
}

TEST_F(TokenFileTest, WarnsWhenEveryUserMayReadOrWrite) {
  const std::string f = File("t", "tok\n", 0644);
  auto t = ReadTokenFile(f);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->token, "tok");
  ASSERT_THAT(t->warnings, SizeIs(1));
  EXPECT_THAT(t->warnings[0], HasSubstr("readable by every user"));
  EXPECT_THAT(t->warnings[0], HasSubstr("(mode 0644)"));
  EXPECT_THAT(t->warnings[0], HasSubstr("chmod 600 " + f));
  EXPECT_THAT(ReadTokenFile(File("w", "tok", 0602))->warnings[0], HasSubstr("writable"));
}

TEST_F(TokenFileTest, Refusals) {
  auto missing = ReadTokenFile(dir_ + "/nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(dir_ + "/nope"));
  EXPECT_THAT(missing.status().message(), HasSubstr("SESSION_TOKEN"));

  auto directory = ReadTokenFile(dir_);
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(directory.status().message(), HasSubstr("is a directory"));

  const std::string empty = File("empty", " \n", 0600);
  EXPECT_THAT(ReadTokenFile(empty).status().message(),
              HasSubstr("the token from --token-file " + empty + " is empty"));
  EXPECT_THAT(ReadTokenFile(File("two", "a\nb\n", 0600)).status().message(),
              HasSubstr("gRPC header"));
  EXPECT_THAT(ReadTokenFile(File("bin", "a\x01", 0600)).status().message(),
              HasSubstr("gRPC header"));

  EXPECT_TRUE(ReadTokenFile(File("max", std::string(kMaxTokenFileBytes, 'a'), 0600)).ok());
  auto huge = ReadTokenFile(File("huge", std::string(kMaxTokenFileBytes + 1, 'a'), 0600));
  EXPECT_EQ(huge.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(huge.status().message(), HasSubstr("larger than 64 KiB"));
}

TEST_F(TokenFileTest, UnreadableFile) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  auto t = ReadTokenFile(File("locked", "tok", 0000));
  EXPECT_EQ(t.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(CleanTokenTest, NamesTheSource) {
  EXPECT_EQ(*CleanToken("  abc123  ", "$SAGEWAI_RUNNER_TOKEN"), "abc123");
  EXPECT_THAT(CleanToken("a b", "$SAGEWAI_RUNNER_TOKEN").status().message(),
              HasSubstr("the token from $SAGEWAI_RUNNER_TOKEN has characters"));
  EXPECT_THAT(CleanToken("", "$X").status().message(), HasSubstr("the token from $X is empty"));
}

}  // namespace
}  // namespace sagewai
