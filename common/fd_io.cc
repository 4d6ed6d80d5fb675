#include "common/fd_io.h"

#include <unistd.h>

#include <cerrno>

namespace sagewai {

bool WriteAll(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

long ReadSome(int fd, void* buffer, size_t size) {
  for (;;) {
    const ssize_t n = ::read(fd, buffer, size);
    if (n < 0 && errno == EINTR) continue;
    return static_cast<long>(n);
  }
}

bool ReadToEnd(int fd, std::string* out, size_t limit) {
  char buffer[16384];
  size_t total = 0;
  for (;;) {
    const long n = ReadSome(fd, buffer, sizeof buffer);
    if (n < 0) return false;
    if (n == 0) return true;
    const size_t got = static_cast<size_t>(n);
    if (got > limit - total) {
      out->append(buffer, limit - total);
      errno = EFBIG;
      return false;
    }
    out->append(buffer, got);
    total += got;
  }
}

}  // namespace sagewai
