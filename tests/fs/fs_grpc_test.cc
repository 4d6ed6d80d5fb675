// The Filesystem service of the real sagewai-tool-runner over a real unix
// socket: round trips with checksums, ranges, append, modes, atomicity,
// names that are not UTF-8, List/Glob/Move/Remove, auth. Watch and the
// concurrency bounds are in fs_grpc_stream_test.cc.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <map>
#include <thread>
#include <vector>

#include "common/sha256.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tests/fs/fs_grpc_fixture.h"
#include "tests/fs/fs_test_client.h"
#include "tests/runner/runner_process.h"
#include "tests/runner/wait_for.h"

namespace sagewai::testing {
namespace {

using std::chrono::milliseconds;

TEST_F(FsGrpcTest, RoundTripsWithChecksums) {
  for (uint64_t size :
       {uint64_t{0}, uint64_t{1}, uint64_t{(1 << 20) + 1}, uint64_t{18 * 1024 + 7}}) {
    RoundTrip(size);
  }
}

TEST_F(FsGrpcTest, RoundTrip256MiBWithBoundedMemory) {
  RoundTrip(uint64_t{256} << 20);
  const long peak_kb = runner_->StatusField("VmHWM");
#ifndef SAGEWAI_SANITIZED  // ASan's shadow memory and quarantine are not ours to bound
  EXPECT_LT(peak_kb, 64 * 1024) << "the runner's memory grew with the file: peak " << peak_kb
                                << " KiB";
#endif
}

TEST_F(FsGrpcTest, UnevenAndEmptyMessagesArriveInOrderWithTheirHash) {
  // The runner writes and hashes each message on two pipelines of its own:
  // sizes around its write piece (128 KiB), empty messages between, and the
  // largest message a client may send, both as a new file and appended.
  const size_t sizes[] = {0, 1, (128 << 10) - 1, 0, (128 << 10) + 1, 4 << 20, (3 << 20) + 7,
                          0, 1, (1 << 20),       5};
  for (bool append : {false, true}) {
    SCOPED_TRACE(append ? "append" : "new");
    const std::string old = "the old content\n";
    Spit(Work("uneven"), old);
    auto ctx = runner_->Context(std::chrono::minutes(2));
    v1::WriteResponse response;
    auto writer = fs_->Write(ctx.get(), &response);
    v1::WriteRequest msg;
    msg.set_path("uneven");
    msg.set_append(append);
    std::string sent;
    uint64_t offset = 0;
    for (size_t size : sizes) {
      msg.set_data(Pattern(9, offset, size));
      sent += msg.data();
      offset += size;
      ASSERT_TRUE(writer->Write(msg));
      msg.clear_path();
      msg.clear_append();
    }
    ASSERT_TRUE(writer->WritesDone());
    grpc::Status st = writer->Finish();
    ASSERT_TRUE(st.ok()) << st.error_message();
    const std::string want = append ? old + sent : sent;
    EXPECT_EQ(response.bytes_written(), sent.size());
    EXPECT_EQ(response.data_sha256(), Sha256Hex(sent));
    EXPECT_EQ(response.sha256(), Sha256Hex(want));
    EXPECT_TRUE(Slurp(Work("uneven")) == want) << "the file holds other bytes than were sent";
    EXPECT_EQ(DirNames(runner_->workdir()), std::vector<std::string>{"uneven"});
  }
}

TEST_F(FsGrpcTest, OffsetAndLengthReads) {
  const std::string data = Pattern(9, 0, 3 << 20);
  ASSERT_TRUE(Write("ranges", data).status.ok());
  struct Case {
    uint64_t offset, length;
  };
  for (Case c : {Case{0, 10}, Case{5, 0}, Case{(1 << 20) - 3, 7}, Case{(3 << 20) - 1, 100},
                 Case{uint64_t{3} << 20, 0}, Case{uint64_t{10} << 20, 5}, Case{12345, 2 << 20}}) {
    SCOPED_TRACE(std::to_string(c.offset) + "+" + std::to_string(c.length));
    ReadOutcome r = Read("ranges", c.offset, c.length);
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    const std::string want =
        c.offset >= data.size()
            ? ""
            : data.substr(c.offset, c.length == 0 ? std::string::npos : c.length);
    EXPECT_EQ(r.data.size(), want.size());
    EXPECT_TRUE(r.data == want);
    EXPECT_TRUE(r.offsets_contiguous);
  }
  v1::ReadRequest small;
  small.set_path("ranges");
  small.set_chunk_size(4096);
  small.set_length(10000);
  auto ctx = runner_->Context();
  ReadOutcome r = ReadAll(*fs_, ctx.get(), small, true);
  EXPECT_EQ(r.chunks, 3);
  EXPECT_EQ(r.largest_chunk, 4096u);
}

TEST_F(FsGrpcTest, AppendIsAtomicAndHashesTheWholeFile) {
  ASSERT_TRUE(Write("log", "one\n").status.ok());
  WriteOutcome w = Write("log", "two\n", 0, /*append=*/true);
  ASSERT_TRUE(w.status.ok()) << w.status.error_message();
  EXPECT_EQ(Slurp(Work("log")), "one\ntwo\n");
  EXPECT_EQ(w.response.sha256(), Sha256Hex("one\ntwo\n"));
  EXPECT_EQ(w.response.data_sha256(), Sha256Hex("two\n"));
  EXPECT_EQ(w.response.bytes_written(), 4u);
  EXPECT_EQ(DirNames(runner_->workdir()), std::vector<std::string>{"log"});
}

TEST_F(FsGrpcTest, ModeBits) {
  ASSERT_TRUE(Write("new", "x").status.ok());
  EXPECT_EQ(ModeOf(Work("new")), 0644u);
  ASSERT_TRUE(Write("exec", "#!/bin/sh\n", 0755).status.ok());
  EXPECT_EQ(ModeOf(Work("exec")), 0755u);
  chmod(Work("new").c_str(), 0600);
  ASSERT_TRUE(Write("new", "y").status.ok());
  EXPECT_EQ(ModeOf(Work("new")), 0600u) << "an existing file keeps its mode";
  ASSERT_TRUE(Write("new", "z", 04711).status.ok());
  EXPECT_EQ(ModeOf(Work("new")), 04711u);
  EXPECT_EQ(Write("new", "z", 070000).status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(FsGrpcTest, SymlinksAreWrittenThrough) {
  Spit(Work("real"), "old");
  ASSERT_EQ(symlink("real", Work("link").c_str()), 0);
  WriteOutcome w = Write("link", "new");
  ASSERT_TRUE(w.status.ok()) << w.status.error_message();
  EXPECT_EQ(w.response.path(), Work("real"));
  EXPECT_EQ(Slurp(Work("real")), "new");
  struct stat st;
  ASSERT_EQ(lstat(Work("link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(FsGrpcTest, CancelledWritesLeaveTheOldFileAndNothingElse) {
  const std::string old = Pattern(1, 0, 100000);
  Spit(Work("victim"), old);
  for (int round = 0; round < 10; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto ctx = runner_->Context();
    v1::WriteResponse response;
    auto writer = fs_->Write(ctx.get(), &response);
    v1::WriteRequest msg;
    msg.set_path("victim");
    const int chunks = round == 0 ? 0 : round * 3;
    for (int i = 0; i <= chunks; ++i) {
      msg.set_data(Pattern(2, uint64_t(i) << 20, 1 << 20));
      if (!writer->Write(msg)) break;
      msg.clear_path();
    }
    // Pacing, not proof: each round cancels a little later, at another
    // point of the runner's write, instead of finishing the stream.
    std::this_thread::sleep_for(milliseconds(round * 20));
    ctx->TryCancel();
    grpc::Status st = writer->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::CANCELLED);
  }
  // The runner logs a cancelled write's end after it dropped the temporary
  // file: once all ten are logged, none can still replace the file.
  EXPECT_TRUE(WaitUntil(
      [&] {
        return LogLines(runner_->ReadLog(), {"call finished", "Write", "\"code\":1,"}) >= 10;
      },
      std::chrono::seconds(20), milliseconds(5)))
      << runner_->ReadLog();
  EXPECT_TRUE(Slurp(Work("victim")) == old) << "a cancelled write changed the file";
  EXPECT_EQ(DirNames(runner_->workdir()), std::vector<std::string>{"victim"});
}

TEST_F(FsGrpcTest, AFullFilesystemFailsCleanly) {
  const std::string mnt = Work("small");
  mkdir(mnt.c_str(), 0777);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=4m") != 0) {
    GTEST_SKIP() << "cannot mount a 4 MiB tmpfs (" << strerror(errno)
                 << "): needs root; the disk-full case is not exercised";
  }
  Spit(mnt + "/f", "the old content");
  v1::WriteRequest first;
  first.set_path("small/f");
  auto ctx = runner_->Context();
  WriteOutcome w = WriteGenerated(*fs_, ctx.get(), first, 16 << 20, 3);
  EXPECT_EQ(w.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << w.status.error_message();
  EXPECT_NE(w.status.error_message().find("No space left on device"), std::string::npos)
      << w.status.error_message();
  EXPECT_NE(w.status.error_message().find(mnt + "/f"), std::string::npos)
      << w.status.error_message();
  EXPECT_EQ(Slurp(mnt + "/f"), "the old content");
  EXPECT_EQ(DirNames(mnt), std::vector<std::string>{"f"});
  // The space came back: a write that fits still works.
  WriteOutcome fits = Write("small/g", Pattern(4, 0, 3 << 20));
  EXPECT_TRUE(fits.status.ok()) << fits.status.error_message();
  umount2(mnt.c_str(), MNT_DETACH);
}

TEST_F(FsGrpcTest, NamesWithSpacesNewlinesAndInvalidUtf8) {
  const std::string odd_dir = "dir with space";
  const std::string odd = "line\nbreak \xff\xfe.bin";
  mkdir(Work(odd_dir).c_str(), 0755);
  v1::WriteRequest first;
  first.set_path_bytes(odd_dir + "/" + odd);
  auto ctx = runner_->Context();
  WriteOutcome w = WriteBytes(*fs_, ctx.get(), first, "payload");
  ASSERT_TRUE(w.status.ok()) << w.status.error_message();
  EXPECT_EQ(Slurp(Work(odd_dir + "/" + odd)), "payload");
  EXPECT_EQ(w.response.info().name_bytes(), odd);

  v1::ListRequest list;
  list.set_path(odd_dir);
  v1::ListResponse listing;
  auto lctx = runner_->Context();
  ASSERT_TRUE(fs_->List(lctx.get(), list, &listing).ok());
  ASSERT_EQ(listing.entries_size(), 1);
  EXPECT_EQ(listing.entries(0).name_bytes(), odd);
  EXPECT_EQ(listing.entries(0).name(), "line\nbreak \\xff\\xfe.bin");

  v1::ReadRequest read;
  read.set_path_bytes(listing.entries(0).path_bytes());
  auto rctx = runner_->Context();
  ReadOutcome r = ReadAll(*fs_, rctx.get(), read, true);
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.data, "payload");

  // A valid UTF-8 name with a newline travels in the string field as is.
  ASSERT_TRUE(Write(odd_dir + "/two\nlines \xc3\xa9", "x").status.ok());
  v1::StatRequest stat;
  stat.set_path(odd_dir + "/two\nlines \xc3\xa9");
  v1::FileInfo info;
  auto sctx = runner_->Context();
  ASSERT_TRUE(fs_->Stat(sctx.get(), stat, &info).ok());
  EXPECT_EQ(info.name(), "two\nlines \xc3\xa9");
  EXPECT_TRUE(info.name_bytes().empty());
}

TEST_F(FsGrpcTest, ListGlobMakeDirMoveRemove) {
  auto call = [&](auto method, const auto& req, auto* resp) {
    auto ctx = runner_->Context();
    return ((*fs_).*method)(ctx.get(), req, resp);
  };
  v1::MakeDirRequest mk;
  mk.set_path("src/pkg");
  mk.set_parents(true);
  v1::MakeDirResponse made;
  ASSERT_TRUE(call(&v1::Filesystem::Stub::MakeDir, mk, &made).ok());
  EXPECT_TRUE(made.created());
  ASSERT_TRUE(Write("src/a.py", "a").status.ok());
  ASSERT_TRUE(Write("src/pkg/b.py", "b").status.ok());
  ASSERT_TRUE(Write("src/pkg/c.txt", "c").status.ok());
  ASSERT_EQ(symlink(runner_->workdir().c_str(), Work("src/up").c_str()), 0);

  v1::ListRequest list;
  list.set_path("src");
  list.set_depth(5);
  v1::ListResponse listing;
  ASSERT_TRUE(call(&v1::Filesystem::Stub::List, list, &listing).ok());
  std::vector<std::string> names;
  for (const auto& e : listing.entries()) names.push_back(e.name());
  EXPECT_EQ(names, (std::vector<std::string>{"a.py", "pkg", "pkg/b.py", "pkg/c.txt", "up"}));
  EXPECT_EQ(listing.entries(4).type(), v1::FILE_TYPE_SYMLINK);
  EXPECT_EQ(listing.entries(4).symlink_target(), runner_->workdir());
  list.set_max_entries(2);
  ASSERT_TRUE(call(&v1::Filesystem::Stub::List, list, &listing).ok());
  EXPECT_TRUE(listing.truncated());
  EXPECT_EQ(listing.entries_size(), 2);

  v1::GlobRequest glob;
  glob.set_pattern("**/*.py");
  v1::GlobResponse globbed;
  ASSERT_TRUE(call(&v1::Filesystem::Stub::Glob, glob, &globbed).ok());
  names.clear();
  for (const auto& e : globbed.entries()) names.push_back(e.name());
  EXPECT_EQ(names, (std::vector<std::string>{"src/a.py", "src/pkg/b.py"}));

  v1::MoveRequest mv;
  mv.set_source("src/pkg");
  mv.set_destination("lib/pkg");
  v1::MoveResponse moved;
  EXPECT_EQ(call(&v1::Filesystem::Stub::Move, mv, &moved).error_code(),
            grpc::StatusCode::NOT_FOUND);
  mv.set_create_parents(true);
  ASSERT_TRUE(call(&v1::Filesystem::Stub::Move, mv, &moved).ok());
  EXPECT_EQ(moved.info().type(), v1::FILE_TYPE_DIRECTORY);
  EXPECT_EQ(Slurp(Work("lib/pkg/b.py")), "b");

  v1::RemoveRequest rm;
  rm.set_path("lib");
  v1::RemoveResponse removed;
  EXPECT_EQ(call(&v1::Filesystem::Stub::Remove, rm, &removed).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  rm.set_recursive(true);
  ASSERT_TRUE(call(&v1::Filesystem::Stub::Remove, rm, &removed).ok());
  EXPECT_EQ(removed.removed_entries(), 4u);
  // The symlink to the work directory goes, the work directory stays.
  rm.set_path("src/up");
  ASSERT_TRUE(call(&v1::Filesystem::Stub::Remove, rm, &removed).ok());
  EXPECT_EQ(ModeOf(runner_->workdir()) != 0, true);
  for (const char* refused : {"", ".", "/"}) {
    rm.set_path(refused);
    grpc::Status st = call(&v1::Filesystem::Stub::Remove, rm, &removed);
    EXPECT_EQ(st.error_code(), refused[0] == '\0' ? grpc::StatusCode::INVALID_ARGUMENT
                                                  : grpc::StatusCode::FAILED_PRECONDITION)
        << refused << ": " << st.error_message();
  }
  EXPECT_EQ(Slurp(Work("src/a.py")), "a");
}

TEST_F(FsGrpcTest, MoveAcrossFilesystems) {
  const std::string mnt = Work("other");
  mkdir(mnt.c_str(), 0777);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=8m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs (" << strerror(errno) << "): needs root";
  }
  mkdir(Work("tree").c_str(), 0755);
  ASSERT_TRUE(Write("tree/a", "A", 0600).status.ok());
  v1::MoveRequest mv;
  mv.set_source("tree");
  mv.set_destination("other/tree");
  v1::MoveResponse moved;
  auto ctx = runner_->Context();
  grpc::Status st = fs_->Move(ctx.get(), mv, &moved);
  EXPECT_TRUE(st.ok()) << st.error_message();
  EXPECT_EQ(Slurp(mnt + "/tree/a"), "A");
  EXPECT_EQ(ModeOf(mnt + "/tree/a"), 0600u);
  struct stat s;
  EXPECT_NE(lstat(Work("tree").c_str(), &s), 0);
  umount2(mnt.c_str(), MNT_DETACH);
}

TEST_F(FsGrpcTest, CallsNeedTheToken) {
  // Without the signing channel: no authorization at all.
  auto fs = v1::Filesystem::NewStub(runner_->raw_channel());
  grpc::ClientContext ctx;
  v1::StatRequest req;
  v1::FileInfo info;
  EXPECT_EQ(fs->Stat(&ctx, req, &info).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::ClientContext rctx;
  v1::ReadChunk chunk;
  auto reader = fs->Read(&rctx, v1::ReadRequest());
  while (reader->Read(&chunk)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(FsGrpcTest, RunnerAdvertisesTheCapability) {
  auto runner = v1::Runner::NewStub(runner_->channel());
  auto ctx = runner_->Context();
  v1::GetInfoResponse info;
  ASSERT_TRUE(runner->GetInfo(ctx.get(), {}, &info).ok());
  bool has_fs = false;
  for (const auto& c : info.capabilities()) has_fs |= c == "fs";
  EXPECT_TRUE(has_fs);
}

}  // namespace
}  // namespace sagewai::testing
