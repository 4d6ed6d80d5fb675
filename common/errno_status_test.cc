#include "common/errno_status.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace sagewai {
namespace {

TEST(ErrnoStatusTest, MapsErrnoToCode) {
  EXPECT_EQ(ErrnoStatus("open /x", ENOENT).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus("x", EACCES).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus("x", EPERM).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus("x", EEXIST).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrnoStatus("x", ENOSPC).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoStatus("x", EDQUOT).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoStatus("x", EISDIR).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrnoStatus("x", ENOTDIR).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrnoStatus("x", ENOTEMPTY).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ErrnoStatusTest, KeepsOurCodesWhereAbseilDiffers) {
  EXPECT_EQ(ErrnoStatus("x", ENOEXEC).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrnoStatus("x", ELOOP).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrnoStatus("x", EXDEV).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrnoStatus("x", EBADF).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrnoStatus("x", EAGAIN).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoStatus("x", EFBIG).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoStatus("x", EIO).code(), absl::StatusCode::kInternal);  // no mapping
  EXPECT_EQ(StatusErrno(ErrnoStatus("x", ELOOP)), ELOOP);
}

TEST(ErrnoStatusTest, OtherCodesAreAbseils) {
  EXPECT_EQ(ErrnoStatus("x", EROFS).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoStatus("x", ESRCH).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoStatus("x", ETIMEDOUT).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(ErrnoStatus("x", ECONNREFUSED).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrnoStatus("x", EMFILE).code(), absl::StatusCode::kResourceExhausted);
}

TEST(ErrnoStatusTest, NamesTheCallAndKeepsErrno) {
  absl::Status s = ErrnoStatus("open /nope", ENOENT);
  EXPECT_EQ(s.message(), "open /nope: No such file or directory");
  EXPECT_EQ(StatusErrno(s), ENOENT);
  EXPECT_EQ(StatusErrno(absl::InternalError("x")), 0);
}

TEST(ErrnoStatusTest, ReadsErrnoWhenNotGiven) {
  errno = EEXIST;
  EXPECT_EQ(ErrnoStatus("mkdir").code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace sagewai
