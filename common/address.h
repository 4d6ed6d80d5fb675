// Socket addresses as the runner listens on them and the hosts dial them:
// `unix:///path` or `tcp://host:port`, and for the hosts a few shorter forms.
// One parser; each side says which forms it takes and wraps the reason in
// its own message (which address, which forms to use).
#ifndef SAGEWAI_COMMON_ADDRESS_H_
#define SAGEWAI_COMMON_ADDRESS_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sagewai {

// sockaddr_un's sun_path holds 108 bytes with the terminating NUL.
inline constexpr size_t kMaxUnixSocketPath = 107;

struct SocketAddress {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;  // kUnix: the socket path as given
  std::string host;  // kTcp: a name or an IP literal, without [ ]
  int port = 0;      // kTcp

  // "unix:///abs/path", "unix:rel/path", "tcp://host:port" or "tcp://[v6]:port".
  std::string ToString() const;
};

// Beyond `unix:///abs`, `unix:/abs`, a bare `/abs` path, `tcp://host:port`
// and `tcp://[v6]:port`, which every side takes.
struct AddressForms {
  // `unix:rel/path`, and a bare path with a '/' anywhere in it.
  bool relative_unix = false;
  // `host:port` and `[v6]:port` without `tcp://`.
  bool bare_host_port = false;
  // Port 0: a listener picks a free port.
  bool port_zero = false;
};

// Surrounding whitespace and a trailing '/' after `tcp://host:port` are
// dropped; an IPv6 host must be in brackets; a port is decimal digits. On a
// bad address: InvalidArgument whose message is the reason alone ("missing
// :port", "unsupported scheme", "... at most 107").
absl::StatusOr<SocketAddress> ParseSocketAddress(absl::string_view text, const AddressForms& forms);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_ADDRESS_H_
