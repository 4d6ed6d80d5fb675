// One `sagewai-sandbox fs` command against a connected runner: what every
// subcommand shares (the Filesystem stub, deadlines, error lines and exit
// codes, path fields). The subcommands live by group: fs_transfer.cc (put,
// cat), fs_listing.cc (ls, stat), fs_modify.cc (mkdir, rm, mv).
#ifndef SAGEWAI_CLI_FS_SESSION_H_
#define SAGEWAI_CLI_FS_SESSION_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/connection.h"
#include "cli/fs_command.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace sagewai::cli {

// The sandbox refused the operation (no such file, exists, not empty, ...).
inline constexpr int kExitFsRefused = 1;
// Our stdout went away (`| head`): quiet, as a pipeline expects.
inline constexpr int kExitBrokenPipe = 128 + 13;

// A path field and its bytes twin: the string when it is UTF-8.
void SetPath(const std::string& path, std::string* text, std::string* bytes);

// The exact name: the bytes twin when set, else the text.
const std::string& ExactPath(const std::string& text, const std::string& bytes);

class FsSession {
 public:
  // `connection` and `options` outlive the session.
  FsSession(const Connection& connection, const FsOptions& options)
      : connection_(connection),
        options_(options),
        stub_(sagewai::sandbox::v1::Filesystem::NewStub(connection.channel())) {}

  // Waits for the connection, then runs options.verb; the exit code.
  int Run();

 private:
  int Put();
  int Cat();
  int Ls();
  int Stat();
  int MakeDir();
  int Rm();
  int Mv();

  // --timeout, else none for a stream and 60 s for a unary call.
  std::unique_ptr<grpc::ClientContext> Context(bool streaming) const;
  // One line on stderr; the exit code for `status`.
  int Fail(const grpc::Status& status, absl::string_view method) const;
  // One line on stderr; kExitIoErr.
  int LocalError(const std::string& what) const;
  // Writes `data` to stdout: kExitOk, kExitBrokenPipe, or LocalError's code.
  int WriteStdout(absl::string_view data) const;

  const Connection& connection_;
  const FsOptions& options_;
  std::unique_ptr<sagewai::sandbox::v1::Filesystem::Stub> stub_;
};

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_FS_SESSION_H_
