#include "cli/fs_command.h"

#include <gtest/gtest.h>

namespace sagewai::cli {
namespace {

namespace pb = sagewai::sandbox::v1;

TEST(FsCommandTest, ParsesEachVerb) {
  auto put = ParseFsArgs({"put", "-", "dir/file", "--mode", "0600", "--append"});
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->verb, "put");
  EXPECT_EQ(put->paths, (std::vector<std::string>{"-", "dir/file"}));
  EXPECT_EQ(put->mode, 0600u);
  EXPECT_TRUE(put->append);
  EXPECT_TRUE(put->parents);

  auto rm = ParseFsArgs({"rm", "-r", "x", "--addr", "unix:///s.sock"});
  ASSERT_TRUE(rm.ok());
  EXPECT_TRUE(rm->recursive);
  EXPECT_EQ(*rm->addr, "unix:///s.sock");

  auto ls = ParseFsArgs({"ls"});
  ASSERT_TRUE(ls.ok());
  EXPECT_TRUE(ls->paths.empty());
  ls = ParseFsArgs({"ls", "--depth", "3", "--json", "src"});
  ASSERT_TRUE(ls.ok());
  EXPECT_EQ(ls->depth, 3u);
  EXPECT_TRUE(ls->json);

  auto mv = ParseFsArgs({"mv", "-f", "a", "b", "--no-parents", "--timeout", "2.5"});
  ASSERT_TRUE(mv.ok());
  EXPECT_TRUE(mv->force);
  EXPECT_FALSE(mv->parents);
  EXPECT_EQ(*mv->timeout, absl::Milliseconds(2500));

  auto cat = ParseFsArgs({"cat", "--offset=10", "--length", "5", "f"});
  ASSERT_TRUE(cat.ok());
  EXPECT_EQ(cat->offset, 10u);
  EXPECT_EQ(cat->length, 5u);

  auto leading = ParseFsArgs({"--addr", "unix:///x.sock", "--timeout=3", "stat", "f"});
  ASSERT_TRUE(leading.ok()) << leading.status();
  EXPECT_EQ(leading->verb, "stat");
  EXPECT_EQ(*leading->addr, "unix:///x.sock");
  EXPECT_EQ(leading->paths, std::vector<std::string>{"f"});

  EXPECT_TRUE(ParseFsArgs({"--help"})->help);
  EXPECT_TRUE(ParseFsArgs({"stat", "-h"})->help);
}

TEST(FsCommandTest, RejectsBadCommandLines) {
  for (const std::vector<std::string>& bad : std::vector<std::vector<std::string>>{
           {},
           {"copy", "a", "b"},
           {"put", "only-one"},
           {"cat"},
           {"cat", "a", "b"},
           {"rm", "-f", "x"},
           {"mkdir", "d", "--mode", "999"},
           {"ls", "--depth", "0"},
           {"ls", "--depth", "x"},
           {"cat", "f", "--timeout", "-1"},
           {"stat", ""},
       }) {
    auto parsed = ParseFsArgs(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << (bad.empty() ? "<none>" : bad[0]) << " " << bad.size();
  }
}

TEST(FsCommandTest, OctalModes) {
  EXPECT_EQ(*ParseOctalMode("0644"), 0644u);
  EXPECT_EQ(*ParseOctalMode("755"), 0755u);
  EXPECT_EQ(*ParseOctalMode("4755"), 04755u);
  EXPECT_FALSE(ParseOctalMode("8").has_value());
  EXPECT_FALSE(ParseOctalMode("").has_value());
  EXPECT_FALSE(ParseOctalMode("17777").has_value());
  EXPECT_FALSE(ParseOctalMode("rw").has_value());
}

TEST(FsCommandTest, ModeStrings) {
  pb::FileInfo f;
  f.set_type(pb::FILE_TYPE_FILE);
  f.set_mode(0644);
  EXPECT_EQ(ModeString(f), "-rw-r--r--");
  f.set_type(pb::FILE_TYPE_DIRECTORY);
  f.set_mode(01777);
  EXPECT_EQ(ModeString(f), "drwxrwxrwt");
  f.set_type(pb::FILE_TYPE_FILE);
  f.set_mode(04644);
  EXPECT_EQ(ModeString(f), "-rwSr--r--");
  f.set_mode(02755);
  EXPECT_EQ(ModeString(f), "-rwxr-sr-x");
}

TEST(FsCommandTest, EntriesStayOnOneLine) {
  pb::FileInfo f;
  f.set_type(pb::FILE_TYPE_SYMLINK);
  f.set_mode(0777);
  f.set_size(7);
  f.set_mtime_unix_ms(0);
  f.set_name("a\\xffb");
  f.set_name_bytes("a\nb\xff");
  f.set_symlink_target("target");
  EXPECT_EQ(FormatEntry(f), "lrwxrwxrwx          7 1970-01-01 00:00 a\\nb\\xff -> target");
  f.set_path("/w/x");
  const std::string stat = FormatStat(f);
  EXPECT_NE(stat.find("type: symlink\n"), std::string::npos) << stat;
  EXPECT_NE(stat.find("mode: 0777 (lrwxrwxrwx)\n"), std::string::npos) << stat;
  EXPECT_NE(stat.find("target: target\n"), std::string::npos) << stat;
}

}  // namespace
}  // namespace sagewai::cli
