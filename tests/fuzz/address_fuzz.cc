// Socket address parsing (common/address) and the runner's listen addresses
// (tool-runner/server/listen_address). The first byte picks the optional
// forms, the rest is the address. A parsed address must be usable as named:
// a unix path fits sun_path and has no NUL (C APIs would cut it and bind
// elsewhere), a port is in range; ToString() parses back to the same
// address; a listen address is exactly the socket address without forms.
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "common/address.h"
#include "tests/fuzz/fuzz_check.h"
#include "tool-runner/server/listen_address.h"

namespace {

using sagewai::SocketAddress;

bool Same(const SocketAddress& a, const SocketAddress& b) {
  return a.kind == b.kind && a.path == b.path && a.host == b.host && a.port == b.port;
}

void CheckAddress(const SocketAddress& a, const sagewai::AddressForms& forms) {
  if (a.kind == SocketAddress::Kind::kUnix) {
    FUZZ_CHECK(!a.path.empty() && a.path.size() <= sagewai::kMaxUnixSocketPath,
               "unix path of %zu bytes", a.path.size());
    FUZZ_CHECK(a.path.find('\0') == std::string::npos, "NUL in a socket path");
    FUZZ_CHECK(forms.relative_unix || a.path[0] == '/', "relative path without the form");
  } else {
    FUZZ_CHECK(!a.host.empty() && a.host.find('\0') == std::string::npos, "bad host");
    FUZZ_CHECK(a.port >= (forms.port_zero ? 0 : 1) && a.port <= 65535, "port %d", a.port);
  }
  auto again = sagewai::ParseSocketAddress(a.ToString(), forms);
  FUZZ_CHECK(again.ok(), "ToString() does not parse: %s",
             std::string(again.status().message()).c_str());
  FUZZ_CHECK(Same(a, *again), "ToString() parses to another address: %s", a.ToString().c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  sagewai::AddressForms forms;
  forms.relative_unix = data[0] & 1;
  forms.bare_host_port = data[0] & 2;
  forms.port_zero = data[0] & 4;
  const absl::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto parsed = sagewai::ParseSocketAddress(text, forms);
  if (parsed.ok()) {
    CheckAddress(*parsed, forms);
  } else {
    FUZZ_CHECK(absl::IsInvalidArgument(parsed.status()) && !parsed.status().message().empty(),
               "bad error: %s", parsed.status().ToString().c_str());
  }

  sagewai::AddressForms listen_forms;
  listen_forms.port_zero = true;
  auto socket = sagewai::ParseSocketAddress(text, listen_forms);
  auto listen = sagewai::ParseListenAddress(text);
  FUZZ_CHECK(socket.ok() == listen.ok(), "listen and socket parsers disagree");
  if (listen.ok()) {
    CheckAddress(*socket, listen_forms);
    const bool unix = listen->kind == sagewai::ListenAddress::Kind::kUnix;
    FUZZ_CHECK(unix == (socket->kind == SocketAddress::Kind::kUnix) &&
                   listen->path == socket->path && listen->host == socket->host &&
                   listen->port == socket->port,
               "listen address differs from the socket address");
    FUZZ_CHECK(!listen->GrpcTarget().empty(), "empty gRPC target");
    auto again = sagewai::ParseListenAddress(listen->ToString());
    FUZZ_CHECK(again.ok() && again->ToString() == listen->ToString(),
               "listen ToString() does not round trip: %s", listen->ToString().c_str());
  } else {
    FUZZ_CHECK(absl::IsInvalidArgument(listen.status()), "bad error code");
  }
  return 0;
}
