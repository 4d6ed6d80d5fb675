// Helpers for the Filesystem integration tests: streaming writes of
// generated content, streaming reads that hash as they go, local hashing,
// and a runner started as an unprivileged user.
#ifndef SAGEWAI_TESTS_FS_FS_TEST_CLIENT_H_
#define SAGEWAI_TESTS_FS_FS_TEST_CLIENT_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace sagewai::testing {

// Deterministic content: byte i of stream `seed` depends only on (seed, i),
// so any chunking produces the same bytes.
void FillPattern(uint64_t seed, uint64_t offset, char* buf, size_t size);
std::string Pattern(uint64_t seed, uint64_t offset, size_t size);

struct WriteOutcome {
  grpc::Status status;
  sagewai::sandbox::v1::WriteResponse response;
  std::string sent_sha256;  // of the bytes sent
  uint64_t sent = 0;
};

// Writes `size` pattern bytes in messages of `chunk` bytes; `first` carries
// path and options (its data is ignored). The first message also carries
// the first chunk.
WriteOutcome WriteGenerated(sagewai::sandbox::v1::Filesystem::Stub& stub,
                            grpc::ClientContext* context,
                            const sagewai::sandbox::v1::WriteRequest& first, uint64_t size,
                            uint64_t seed, size_t chunk = 1 << 20);

// Writes `data` (one chunk per `chunk` bytes).
WriteOutcome WriteBytes(sagewai::sandbox::v1::Filesystem::Stub& stub, grpc::ClientContext* context,
                        const sagewai::sandbox::v1::WriteRequest& first, const std::string& data,
                        size_t chunk = 1 << 20);

struct ReadOutcome {
  grpc::Status status;
  uint64_t bytes = 0;
  std::string sha256;
  std::string data;  // only when asked to keep it
  int chunks = 0;
  size_t largest_chunk = 0;
  bool offsets_contiguous = true;
};

ReadOutcome ReadAll(sagewai::sandbox::v1::Filesystem::Stub& stub, grpc::ClientContext* context,
                    const sagewai::sandbox::v1::ReadRequest& request, bool keep_data);

// SHA-256 of a local file, read in pieces ("" when it cannot be read).
std::string FileSha256(const std::string& path);

// File names in a directory, sorted.
std::vector<std::string> DirNames(const std::string& dir);

// `sagewai-tool-runner serve` as uid/gid 65534 (setpriv), on a unix socket in
// a fresh directory that user can reach, without a token.
class UnprivilegedRunner {
 public:
  UnprivilegedRunner();
  ~UnprivilegedRunner();
  // Why this machine cannot run it (for GTEST_SKIP), or "".
  const std::string& skip_reason() const { return skip_reason_; }
  bool started() const { return started_; }
  std::string ReadLog() const;
  const std::string& workdir() const { return workdir_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }

 private:
  pid_t pid_ = -1;
  bool started_ = false;
  std::string dir_, workdir_, socket_, skip_reason_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace sagewai::testing

#endif  // SAGEWAI_TESTS_FS_FS_TEST_CLIENT_H_
