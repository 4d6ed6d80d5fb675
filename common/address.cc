#include "common/address.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace sagewai {
namespace {

absl::StatusOr<SocketAddress> Unix(absl::string_view path) {
  if (path.empty()) return absl::InvalidArgumentError("the socket path is empty");
  if (path.size() > kMaxUnixSocketPath) {
    return absl::InvalidArgumentError(absl::StrCat("the socket path is ", path.size(),
                                                   " bytes; unix sockets allow at most ",
                                                   kMaxUnixSocketPath));
  }
  SocketAddress a;
  a.kind = SocketAddress::Kind::kUnix;
  a.path = std::string(path);
  return a;
}

absl::StatusOr<SocketAddress> HostPort(absl::string_view hostport, const AddressForms& forms) {
  absl::string_view host;
  absl::string_view port_text;
  if (absl::ConsumePrefix(&hostport, "[")) {
    const size_t close = hostport.find(']');
    if (close == absl::string_view::npos) return absl::InvalidArgumentError("missing ']'");
    host = hostport.substr(0, close);
    absl::string_view rest = hostport.substr(close + 1);
    if (!absl::ConsumePrefix(&rest, ":")) return absl::InvalidArgumentError("missing :port");
    port_text = rest;
  } else {
    const size_t colon = hostport.rfind(':');
    if (colon == absl::string_view::npos) return absl::InvalidArgumentError("missing :port");
    host = hostport.substr(0, colon);
    port_text = hostport.substr(colon + 1);
    if (absl::StrContains(host, ':')) {
      return absl::InvalidArgumentError("write an IPv6 address in brackets, e.g. [::1]:50051");
    }
  }
  if (host.empty()) return absl::InvalidArgumentError("the host is empty");
  if (host.find_first_of("[]") != absl::string_view::npos) {
    return absl::InvalidArgumentError("a '[' or ']' inside the host");
  }
  const int min_port = forms.port_zero ? 0 : 1;
  int port = 0;
  if (port_text.empty() || !absl::ascii_isdigit(port_text[0]) ||
      !absl::SimpleAtoi(port_text, &port) || port < min_port || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", port_text, "\" is not a port (", min_port, "-65535)"));
  }
  SocketAddress a;
  a.kind = SocketAddress::Kind::kTcp;
  a.host = std::string(host);
  a.port = port;
  return a;
}

}  // namespace

std::string SocketAddress::ToString() const {
  if (kind == Kind::kUnix) {
    return !path.empty() && path[0] == '/' ? absl::StrCat("unix://", path)
                                           : absl::StrCat("unix:", path);
  }
  if (absl::StrContains(host, ':')) return absl::StrCat("tcp://[", host, "]:", port);
  return absl::StrCat("tcp://", host, ":", port);
}

absl::StatusOr<SocketAddress> ParseSocketAddress(absl::string_view text,
                                                 const AddressForms& forms) {
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  if (rest.empty()) return absl::InvalidArgumentError("it is empty");
  // C APIs (sun_path, getaddrinfo) would stop at the NUL: another address.
  if (absl::StrContains(rest, '\0')) return absl::InvalidArgumentError("it contains a NUL byte");
  if (absl::ConsumePrefix(&rest, "unix://")) {
    if (rest.empty() || rest[0] != '/') {
      return absl::InvalidArgumentError("unix:// takes an absolute path, e.g. unix:///run/x.sock");
    }
    return Unix(rest);
  }
  if (absl::ConsumePrefix(&rest, "unix:")) {
    if (!forms.relative_unix && !absl::StartsWith(rest, "/")) {
      return absl::InvalidArgumentError("the socket path must be absolute");
    }
    return Unix(rest);
  }
  if (absl::ConsumePrefix(&rest, "tcp://")) {
    absl::ConsumeSuffix(&rest, "/");
    return HostPort(rest, forms);
  }
  if (absl::StrContains(rest, "://")) return absl::InvalidArgumentError("unsupported scheme");
  if (absl::StartsWith(rest, "/") || (forms.relative_unix && absl::StrContains(rest, '/'))) {
    return Unix(rest);
  }
  if (forms.bare_host_port) return HostPort(rest, forms);
  return absl::InvalidArgumentError("unsupported scheme");
}

}  // namespace sagewai
