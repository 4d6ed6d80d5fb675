// Every errno of the Filesystem service's mapping, seen through the real
// runner: the gRPC code, and a message naming the path and the errno text.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tests/fs/fs_test_client.h"
#include "tests/runner/runner_process.h"

namespace sagewai::testing {
namespace {

namespace v1 = ::sagewai::sandbox::v1;
using ::testing::HasSubstr;

class FsErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runner_ = std::make_unique<RunnerProcess>();
    ASSERT_TRUE(runner_->started()) << runner_->ReadLog();
    fs_ = v1::Filesystem::NewStub(runner_->channel());
  }
  std::string Work(const std::string& name) const { return runner_->workdir() + "/" + name; }

  grpc::Status Read(const std::string& path) {
    v1::ReadRequest req;
    req.set_path(path);
    auto ctx = runner_->Context(std::chrono::seconds(10));
    return ReadAll(*fs_, ctx.get(), req, false).status;
  }
  grpc::Status Write(const std::string& path, bool parents = false) {
    v1::WriteRequest first;
    first.set_path(path);
    first.set_create_parents(parents);
    auto ctx = runner_->Context(std::chrono::seconds(10));
    return WriteBytes(*fs_, ctx.get(), first, "data").status;
  }
  template <typename Req, typename Resp>
  grpc::Status Unary(grpc::Status (v1::Filesystem::Stub::*method)(grpc::ClientContext*, const Req&,
                                                                  Resp*),
                     const Req& req) {
    Resp resp;
    auto ctx = runner_->Context(std::chrono::seconds(10));
    return ((*fs_).*method)(ctx.get(), req, &resp);
  }

  std::unique_ptr<RunnerProcess> runner_;
  std::unique_ptr<v1::Filesystem::Stub> fs_;
};

#define EXPECT_FS_ERROR(status, code, path, text)           \
  do {                                                      \
    grpc::Status _s = (status);                             \
    EXPECT_EQ(_s.error_code(), code) << _s.error_message(); \
    EXPECT_THAT(_s.error_message(), HasSubstr(path));       \
    EXPECT_THAT(_s.error_message(), HasSubstr(text));       \
  } while (0)

TEST_F(FsErrorsTest, NotFound) {
  EXPECT_FS_ERROR(Read("missing"), grpc::StatusCode::NOT_FOUND, Work("missing"),
                  "No such file or directory");
  EXPECT_FS_ERROR(Write("no/such/dir/f"), grpc::StatusCode::NOT_FOUND, Work("no/such/dir"),
                  "No such file or directory");
  v1::StatRequest stat;
  stat.set_path("nope");
  EXPECT_FS_ERROR(Unary(&v1::Filesystem::Stub::Stat, stat), grpc::StatusCode::NOT_FOUND,
                  Work("nope"), "No such file or directory");
}

TEST_F(FsErrorsTest, AlreadyExists) {
  mkdir(Work("d").c_str(), 0755);
  v1::MakeDirRequest mk;
  mk.set_path("d");
  EXPECT_FS_ERROR(Unary(&v1::Filesystem::Stub::MakeDir, mk), grpc::StatusCode::ALREADY_EXISTS,
                  Work("d"), "File exists");
  ASSERT_TRUE(Write("a").ok());
  ASSERT_TRUE(Write("b").ok());
  v1::MoveRequest mv;
  mv.set_source("a");
  mv.set_destination("b");
  EXPECT_FS_ERROR(Unary(&v1::Filesystem::Stub::Move, mv), grpc::StatusCode::ALREADY_EXISTS,
                  Work("b"), "File exists");
}

TEST_F(FsErrorsTest, FailedPrecondition) {
  mkdir(Work("dir").c_str(), 0755);
  ASSERT_TRUE(Write("dir/f").ok());
  EXPECT_FS_ERROR(Read("dir"), grpc::StatusCode::FAILED_PRECONDITION, Work("dir"),
                  "Is a directory");
  EXPECT_FS_ERROR(Write("dir"), grpc::StatusCode::FAILED_PRECONDITION, Work("dir"),
                  "Is a directory");
  v1::ListRequest list;
  list.set_path("dir/f");
  EXPECT_FS_ERROR(Unary(&v1::Filesystem::Stub::List, list), grpc::StatusCode::FAILED_PRECONDITION,
                  Work("dir/f"), "Not a directory");
  v1::RemoveRequest rm;
  rm.set_path("dir");
  EXPECT_FS_ERROR(Unary(&v1::Filesystem::Stub::Remove, rm), grpc::StatusCode::FAILED_PRECONDITION,
                  Work("dir"), "Directory not empty");
  v1::MakeDirRequest mk;
  mk.set_path("dir/f/sub");
  EXPECT_FS_ERROR(Unary(&v1::Filesystem::Stub::MakeDir, mk), grpc::StatusCode::FAILED_PRECONDITION,
                  Work("dir/f/sub"), "Not a directory");
}

TEST_F(FsErrorsTest, SpecialFilesAreRefusedWithoutHanging) {
  ASSERT_EQ(mkfifo(Work("fifo").c_str(), 0666), 0);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FS_ERROR(Read("fifo"), grpc::StatusCode::FAILED_PRECONDITION, Work("fifo"), "FIFO");
  EXPECT_FS_ERROR(Read("/dev/zero"), grpc::StatusCode::FAILED_PRECONDITION, "/dev/zero",
                  "character device");
  EXPECT_FS_ERROR(Write("fifo"), grpc::StatusCode::FAILED_PRECONDITION, Work("fifo"), "FIFO");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST_F(FsErrorsTest, SymlinkLoops) {
  ASSERT_EQ(symlink("loop-b", Work("loop-a").c_str()), 0);
  ASSERT_EQ(symlink("loop-a", Work("loop-b").c_str()), 0);
  EXPECT_FS_ERROR(Read("loop-a"), grpc::StatusCode::FAILED_PRECONDITION, Work("loop-a"),
                  "Too many levels of symbolic links");
  EXPECT_FS_ERROR(Write("loop-a"), grpc::StatusCode::FAILED_PRECONDITION, Work("loop-a"),
                  "Too many levels of symbolic links");
  v1::StatRequest stat;
  stat.set_path("loop-a");
  stat.set_follow_symlinks(true);
  EXPECT_FS_ERROR(Unary(&v1::Filesystem::Stub::Stat, stat), grpc::StatusCode::FAILED_PRECONDITION,
                  Work("loop-a"), "Too many levels of symbolic links");
  stat.set_follow_symlinks(false);
  EXPECT_TRUE(Unary(&v1::Filesystem::Stub::Stat, stat).ok()) << "the link itself can be stat'ed";
  v1::ListRequest list;
  list.set_path("loop-a/x");
  EXPECT_EQ(Unary(&v1::Filesystem::Stub::List, list).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(FsErrorsTest, InvalidArguments) {
  EXPECT_EQ(Read("").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Read(std::string("a\0b", 3)).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // A stream that ends before its first message.
  auto ctx = runner_->Context();
  v1::WriteResponse resp;
  auto writer = fs_->Write(ctx.get(), &resp);
  writer->WritesDone();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

// PERMISSION_DENIED needs a runner that is not root.
class FsPermissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runner_ = std::make_unique<UnprivilegedRunner>();
    if (!runner_->skip_reason().empty()) GTEST_SKIP() << runner_->skip_reason();
    ASSERT_TRUE(runner_->started()) << runner_->ReadLog();
    fs_ = v1::Filesystem::NewStub(runner_->channel());
    // Owned by root, closed to others.
    locked_ = runner_->workdir() + "/locked";
    mkdir(locked_.c_str(), 0700);
    FILE* f = fopen((locked_ + "/secret").c_str(), "we");
    fputs("root only", f);
    fclose(f);
    ro_dir_ = runner_->workdir() + "/readonly";
    mkdir(ro_dir_.c_str(), 0755);
    f = fopen((ro_dir_ + "/file").c_str(), "we");
    fputs("keep", f);
    fclose(f);
  }
  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return ctx;
  }
  std::unique_ptr<UnprivilegedRunner> runner_;
  std::unique_ptr<v1::Filesystem::Stub> fs_;
  std::string locked_, ro_dir_;
};

TEST_F(FsPermissionTest, TheAgentCannotDoWhatItsUserCannot) {
  v1::ReadRequest read;
  read.set_path("locked/secret");
  auto ctx = Ctx();
  EXPECT_FS_ERROR(ReadAll(*fs_, ctx.get(), read, false).status, grpc::StatusCode::PERMISSION_DENIED,
                  locked_ + "/secret", "Permission denied");
  v1::WriteRequest first;
  first.set_path("readonly/file");
  ctx = Ctx();
  EXPECT_FS_ERROR(WriteBytes(*fs_, ctx.get(), first, "x").status,
                  grpc::StatusCode::PERMISSION_DENIED, ro_dir_, "Permission denied");
  first.set_path("readonly/new");
  ctx = Ctx();
  EXPECT_FS_ERROR(WriteBytes(*fs_, ctx.get(), first, "x").status,
                  grpc::StatusCode::PERMISSION_DENIED, ro_dir_, "Permission denied");
  v1::RemoveRequest rm;
  rm.set_path("readonly/file");
  v1::RemoveResponse removed;
  ctx = Ctx();
  EXPECT_FS_ERROR(fs_->Remove(ctx.get(), rm, &removed), grpc::StatusCode::PERMISSION_DENIED,
                  ro_dir_ + "/file", "Permission denied");
  v1::ListRequest list;
  list.set_path("locked");
  v1::ListResponse listing;
  ctx = Ctx();
  EXPECT_FS_ERROR(fs_->List(ctx.get(), list, &listing), grpc::StatusCode::PERMISSION_DENIED,
                  locked_, "Permission denied");
  v1::MakeDirRequest mk;
  mk.set_path("readonly/sub");
  v1::MakeDirResponse made;
  ctx = Ctx();
  EXPECT_FS_ERROR(fs_->MakeDir(ctx.get(), mk, &made), grpc::StatusCode::PERMISSION_DENIED,
                  ro_dir_ + "/sub", "Permission denied");
  // Nothing changed, and what nobody may do, it may do.
  FILE* f = fopen((ro_dir_ + "/file").c_str(), "re");
  char buf[16] = {};
  fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  EXPECT_STREQ(buf, "keep");
  first.set_path("mine");
  ctx = Ctx();
  WriteOutcome mine = WriteBytes(*fs_, ctx.get(), first, "ok");
  ASSERT_TRUE(mine.status.ok()) << mine.status.error_message();
  EXPECT_EQ(mine.response.info().uid(), 65534u);
}

}  // namespace
}  // namespace sagewai::testing
