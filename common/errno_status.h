// absl::Status values for failed system calls.
#ifndef SAGEWAI_COMMON_ERRNO_STATUS_H_
#define SAGEWAI_COMMON_ERRNO_STATUS_H_

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace sagewai {

// "<what>: <strerror(err)>" with a code that matches errno (ENOENT ->
// NotFound, EACCES/EPERM -> PermissionDenied, ...). Reads errno when `err`
// is 0.
absl::Status ErrnoStatus(absl::string_view what, int err = 0);

// The errno an ErrnoStatus was made from, or 0.
int StatusErrno(const absl::Status& status);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_ERRNO_STATUS_H_
