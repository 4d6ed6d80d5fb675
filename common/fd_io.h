// Whole writes and reads on blocking file descriptors, retried on EINTR: the
// one home of the loops around write(2) and read(2). WriteAll is
// async-signal-safe (no allocation), so children may use it between fork and
// exec; the module has no dependencies, so PID 1 links it without Abseil.
#ifndef SAGEWAI_COMMON_FD_IO_H_
#define SAGEWAI_COMMON_FD_IO_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace sagewai {

// Writes all `size` bytes. False on an error (errno says which) or when
// write(2) returns 0.
bool WriteAll(int fd, const void* data, size_t size);
inline bool WriteAll(int fd, std::string_view data) {
  return WriteAll(fd, data.data(), data.size());
}

// Reads until end of file, appending to `out`, at most `limit` bytes in all.
// False on a read error (errno says which) or when more than `limit` bytes
// were there (errno = EFBIG); `out` then holds what was read.
bool ReadToEnd(int fd, std::string* out, size_t limit = static_cast<size_t>(-1));

// read(2) retried on EINTR: bytes read, 0 at end of file, -1 on error.
long ReadSome(int fd, void* buffer, size_t size);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_FD_IO_H_
