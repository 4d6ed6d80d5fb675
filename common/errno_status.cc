#include "common/errno_status.h"

#include <cerrno>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"

namespace sagewai {
namespace {

constexpr absl::string_view kErrnoPayload = "sagewai.errno";

// The codes where Abseil's errno table and ours differ; ours stay because
// callers and clients have seen them. Everything else, including DESIGN's
// Filesystem table, is absl::ErrnoToStatusCode.
std::optional<absl::StatusCode> OurCodeForErrno(int err) {
  switch (err) {
    case ENOEXEC:  // absl: UNKNOWN. A file that is not executable is a state.
    case ELOOP:    // absl: UNKNOWN. A symlink loop, or O_NOFOLLOW on a link.
    case EXDEV:    // absl: UNIMPLEMENTED. A cross-device move is refused, not unsupported.
      return absl::StatusCode::kFailedPrecondition;
    case EBADF:  // absl: FAILED_PRECONDITION. A bad descriptor is a bad argument.
      return absl::StatusCode::kInvalidArgument;
    case EAGAIN:  // absl: UNAVAILABLE. From fork and clone it is the pids limit.
    case EFBIG:   // absl: OUT_OF_RANGE. A file over the size limit is a quota.
      return absl::StatusCode::kResourceExhausted;
    default:
      return std::nullopt;
  }
}

}  // namespace

absl::Status ErrnoStatus(absl::string_view what, int err) {
  if (err == 0) err = errno;
  absl::Status status = absl::ErrnoToStatus(err, what);
  std::optional<absl::StatusCode> code = OurCodeForErrno(err);
  // absl's UNKNOWN means "no mapping"; ours has always been INTERNAL.
  if (!code && status.code() == absl::StatusCode::kUnknown) code = absl::StatusCode::kInternal;
  if (code) status = absl::Status(*code, status.message());
  status.SetPayload(kErrnoPayload, absl::Cord(std::to_string(err)));
  return status;
}

int StatusErrno(const absl::Status& status) {
  auto payload = status.GetPayload(kErrnoPayload);
  int err = 0;
  if (payload.has_value() && absl::SimpleAtoi(std::string(*payload), &err)) return err;
  return 0;
}

}  // namespace sagewai
