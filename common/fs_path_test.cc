#include "common/fs_path.h"

#include <gtest/gtest.h>
#include <limits.h>

#include "common/errno_status.h"
#include "common/fs_test_util.h"

namespace sagewai::fs {
namespace {

namespace v1 = ::sagewai::sandbox::v1;

TEST(FsPathTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii"));
  EXPECT_TRUE(IsValidUtf8("gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xff"));
  EXPECT_FALSE(IsValidUtf8("a\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // cut short
}

TEST(FsPathTest, DisplayFormsOfNames) {
  EXPECT_EQ(DisplayName("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(DisplayName("a\xff"
                        "b"),
            "a\\xffb");
  EXPECT_EQ(DisplayName("new\nline"), "new\nline");
  EXPECT_EQ(QuotePath("new\nline\x01\xfe"), "new\\nline\\x01\\xfe");
}

TEST(FsPathTest, PathArgRefusesPathsOfPathMaxOrLonger) {
  EXPECT_TRUE(PathArg("path", std::string(PATH_MAX - 1, 'a'), "", false).ok());
  const absl::Status too_long = PathArg("path", "", std::string(10000, 'a'), false).status();
  EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(too_long.message(),
            "`path` is 10000 bytes long; paths must be shorter than 4096 bytes (PATH_MAX)");
}

TEST(FsPathTest, PathArgPrefersBytesAndRefusesNul) {
  EXPECT_EQ(*PathArg("path", "text", "", false), "text");
  EXPECT_EQ(*PathArg("path", "text", "raw\xff", false), "raw\xff");
  EXPECT_EQ(PathArg("path", std::string("a\0b", 3), "", false).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PathArg("path", "", "", false).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(PathArg("path", "", "", true).ok());
}

TEST(FsPathTest, ResolveAndSplit) {
  EXPECT_EQ(Resolve("/workspace", ""), "/workspace");
  EXPECT_EQ(Resolve("/workspace", "a/b"), "/workspace/a/b");
  EXPECT_EQ(Resolve("/workspace/", "a"), "/workspace/a");
  EXPECT_EQ(Resolve("/workspace", "/etc/x"), "/etc/x");
  EXPECT_EQ(DirName("/a/b/c"), "/a/b");
  EXPECT_EQ(DirName("/a/b/"), "/a");
  EXPECT_EQ(DirName("/x"), "/");
  EXPECT_EQ(DirName("x"), ".");
  EXPECT_EQ(BaseName("/a/b/c"), "c");
  EXPECT_EQ(BaseName("/a/b/"), "b");
  EXPECT_EQ(BaseName("/"), "/");
}

TEST(FsPathTest, PathErrorsNameThePathAndMapTheCode) {
  absl::Status s = PathError("open", "/w/x\ny", ENOENT);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "open /w/x\\ny: No such file or directory");
  EXPECT_EQ(StatusErrno(s), ENOENT);
  EXPECT_EQ(PathError("x", "/p", EACCES).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(PathError("x", "/p", EPERM).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(PathError("x", "/p", EEXIST).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(PathError("x", "/p", ENOSPC).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(PathError("x", "/p", EDQUOT).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(PathError("x", "/p", EISDIR).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PathError("x", "/p", ENOTDIR).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(PathError("x", "/p", ENOTEMPTY).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(FsPathTest, StatFillsInfoAndKeepsRawNames) {
  testing::TempDir dir;
  const std::string odd = dir / "bad\xff name";
  testing::WriteFile(odd, "12345");
  chmod(odd.c_str(), 0640);
  ASSERT_EQ(symlink("bad\xff name", (dir / "link").c_str()), 0);
  auto info = StatPath(odd, false);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->type(), v1::FILE_TYPE_FILE);
  EXPECT_EQ(info->size(), 5u);
  EXPECT_EQ(info->mode(), 0640u);
  EXPECT_EQ(info->name(), "bad\\xff name");
  EXPECT_EQ(info->name_bytes(), "bad\xff name");
  EXPECT_EQ(info->path_bytes(), odd);
  EXPECT_GT(info->mtime_unix_ms(), 1600000000000);
  auto link = StatPath(dir / "link", false);
  ASSERT_TRUE(link.ok());
  EXPECT_EQ(link->type(), v1::FILE_TYPE_SYMLINK);
  EXPECT_EQ(link->symlink_target_bytes(), "bad\xff name");
  EXPECT_TRUE(link->name_bytes().empty());
  auto followed = StatPath(dir / "link", true);
  ASSERT_TRUE(followed.ok());
  EXPECT_EQ(followed->type(), v1::FILE_TYPE_FILE);
}

}  // namespace
}  // namespace sagewai::fs
