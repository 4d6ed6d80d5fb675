#include "common/unique_fd.h"

#include <fcntl.h>

#include "common/errno_status.h"

namespace sagewai {

absl::StatusOr<Pipe> MakePipe(int extra_flags) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | extra_flags) != 0) return ErrnoStatus("pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace sagewai
