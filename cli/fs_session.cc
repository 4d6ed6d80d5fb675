#include "cli/fs_session.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "cli/exit_codes.h"
#include "common/fd_io.h"
#include "common/fs_path.h"

namespace sagewai::cli {

namespace pb = sagewai::sandbox::v1;

namespace {

constexpr absl::Duration kConnectTimeout = absl::Seconds(10);
constexpr absl::Duration kUnaryTimeout = absl::Seconds(60);

}  // namespace

void SetPath(const std::string& path, std::string* text, std::string* bytes) {
  if (fs::IsValidUtf8(path)) {
    *text = path;
  } else {
    *bytes = path;
  }
}

const std::string& ExactPath(const std::string& text, const std::string& bytes) {
  return bytes.empty() ? text : bytes;
}

std::unique_ptr<grpc::ClientContext> FsSession::Context(bool streaming) const {
  std::optional<absl::Duration> timeout = options_.timeout;
  if (!timeout && !streaming) timeout = kUnaryTimeout;
  return connection_.NewContext(timeout);
}

int FsSession::LocalError(const std::string& what) const {
  fprintf(stderr, "sagewai-sandbox fs %s: %s\n", options_.verb.c_str(), what.c_str());
  return kExitIoErr;
}

int FsSession::WriteStdout(absl::string_view data) const {
  if (WriteAll(STDOUT_FILENO, data.data(), data.size())) return kExitOk;
  const int err = errno;
  // A reader that stopped early (| head) is not an error to report.
  if (err == EPIPE) return kExitBrokenPipe;
  return LocalError(absl::StrCat("cannot write to standard output: ", strerror(err)));
}

int FsSession::Fail(const grpc::Status& status, absl::string_view method) const {
  const grpc::StatusCode code = status.error_code();
  const bool busy = code == grpc::RESOURCE_EXHAUSTED &&
                    absl::StrContains(status.error_message(), "too many calls");
  const bool refused =
      !busy && (code == grpc::NOT_FOUND || code == grpc::ALREADY_EXISTS ||
                code == grpc::FAILED_PRECONDITION || code == grpc::PERMISSION_DENIED ||
                code == grpc::RESOURCE_EXHAUSTED || code == grpc::OUT_OF_RANGE);
  if (refused) {
    std::string message = absl::StrReplaceAll(
        status.error_message(),
        {{"(set `recursive` to remove it with its contents)",
          "(use -r to remove it with its contents)"},
         {"(set `create_parents` to create it)", "(leave out --no-parents to create it)"}});
    fprintf(stderr, "sagewai-sandbox fs %s: %s\n", options_.verb.c_str(), message.c_str());
    return kExitFsRefused;
  }
  CliError e = connection_.Describe(status, method, options_.timeout);
  fprintf(stderr, "sagewai-sandbox fs %s: %s\n", options_.verb.c_str(), e.message.c_str());
  return e.exit_code;
}

int FsSession::Run() {
  if (!connection_.WaitForConnection(kConnectTimeout)) {
    fprintf(stderr,
            "sagewai-sandbox fs %s: cannot reach the runner at %s: no connection within %lld s "
            "— is the sandbox running? is the address right?\n",
            options_.verb.c_str(), connection_.address().text.c_str(),
            static_cast<long long>(absl::ToInt64Seconds(kConnectTimeout)));
    return kExitUnavailable;
  }
  const std::string& v = options_.verb;
  if (v == "put") return Put();
  if (v == "cat") return Cat();
  if (v == "ls") return Ls();
  if (v == "stat") return Stat();
  if (v == "mkdir") return MakeDir();
  if (v == "rm") return Rm();
  return Mv();
}
}  // namespace sagewai::cli
