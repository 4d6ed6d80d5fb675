// Move-only owner of a file descriptor.
#ifndef SAGEWAI_COMMON_UNIQUE_FD_H_
#define SAGEWAI_COMMON_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

#include "absl/status/statusor.h"

namespace sagewai {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  // Gives up ownership without closing.
  int release() { return std::exchange(fd_, -1); }
  // Closes the held descriptor (errors ignored: the fd is gone either way).
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

// pipe2(O_CLOEXEC | extra_flags).
absl::StatusOr<Pipe> MakePipe(int extra_flags = 0);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_UNIQUE_FD_H_
