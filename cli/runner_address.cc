#include "cli/runner_address.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/unique_fd.h"

namespace sagewai::cli {
namespace {

constexpr size_t kMaxUnixPath = sizeof(sockaddr_un::sun_path) - 1;

absl::Status AddressError(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad runner address \"", text, "\": ", why,
                   " (use unix:///path/to/tool-runner.sock, tcp://host:port or host:port)"));
}

absl::StatusOr<Address> ParseUnix(absl::string_view text, absl::string_view path) {
  if (path.empty()) return AddressError(text, "the socket path is empty");
  if (path.size() > kMaxUnixPath) {
    return AddressError(text, absl::StrCat("the socket path is ", path.size(),
                                           " bytes; unix sockets allow at most ", kMaxUnixPath));
  }
  Address a;
  a.kind = Address::Kind::kUnix;
  a.path = std::string(path);
  a.text = path[0] == '/' ? absl::StrCat("unix://", path) : absl::StrCat("unix:", path);
  return a;
}

absl::StatusOr<Address> ParseHostPort(absl::string_view text, absl::string_view hostport) {
  absl::string_view host;
  absl::string_view port_text;
  if (absl::ConsumePrefix(&hostport, "[")) {
    size_t close = hostport.find(']');
    if (close == absl::string_view::npos) return AddressError(text, "missing ']'");
    host = hostport.substr(0, close);
    absl::string_view rest = hostport.substr(close + 1);
    if (!absl::ConsumePrefix(&rest, ":")) return AddressError(text, "missing :port");
    port_text = rest;
  } else {
    size_t colon = hostport.rfind(':');
    if (colon == absl::string_view::npos) return AddressError(text, "missing :port");
    host = hostport.substr(0, colon);
    port_text = hostport.substr(colon + 1);
    if (absl::StrContains(host, ':')) {
      return AddressError(text, "write an IPv6 address in brackets, e.g. [::1]:50051");
    }
  }
  if (host.empty()) return AddressError(text, "the host is empty");
  int port = 0;
  if (port_text.empty() || !absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535 ||
      !absl::ascii_isdigit(port_text[0])) {
    return AddressError(text, absl::StrCat("\"", port_text, "\" is not a port (1-65535)"));
  }
  Address a;
  a.kind = Address::Kind::kTcp;
  a.host = std::string(host);
  a.port = port;
  a.text = absl::StrContains(host, ':') ? absl::StrCat("tcp://[", host, "]:", port)
                                        : absl::StrCat("tcp://", host, ":", port);
  return a;
}

}  // namespace

std::string Address::GrpcTarget() const {
  if (kind == Kind::kUnix) {
    return path[0] == '/' ? absl::StrCat("unix://", path) : absl::StrCat("unix:", path);
  }
  if (absl::StrContains(host, ':')) return absl::StrCat("ipv6:[", host, "]:", port);
  return absl::StrCat("dns:///", host, ":", port);
}

absl::StatusOr<Address> ParseAddress(absl::string_view text) {
  absl::string_view rest = absl::StripAsciiWhitespace(text);
  if (rest.empty()) return AddressError(text, "it is empty");
  if (absl::ConsumePrefix(&rest, "unix://")) {
    if (rest.empty() || rest[0] != '/') {
      return AddressError(text, "unix:// takes an absolute path, e.g. unix:///run/x.sock");
    }
    return ParseUnix(text, rest);
  }
  if (absl::ConsumePrefix(&rest, "unix:")) return ParseUnix(text, rest);
  if (absl::ConsumePrefix(&rest, "tcp://")) {
    absl::ConsumeSuffix(&rest, "/");
    return ParseHostPort(text, rest);
  }
  if (absl::StrContains(rest, "://")) {
    return AddressError(text, "unsupported scheme");
  }
  if (absl::StrContains(rest, '/')) return ParseUnix(text, rest);
  return ParseHostPort(text, rest);
}

absl::StatusOr<Address> ResolveAddress(const std::optional<std::string>& flag,
                                       const char* env_value) {
  if (flag) return ParseAddress(*flag);
  if (env_value != nullptr && *env_value != '\0') {
    absl::StatusOr<Address> a = ParseAddress(env_value);
    if (!a.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("$", kAddrEnv, ": ", a.status().message()));
    }
    return a;
  }
  return ParseAddress(kDefaultAddress);
}

std::string ProbeUnixSocket(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::StrCat(path, " does not exist");
    return absl::StrCat("cannot look up ", path, ": ", strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode)) return absl::StrCat(path, " is not a socket");
  if (::access(path.c_str(), W_OK) != 0) {
    return absl::StrCat("no permission to connect to ", path,
                        " (connecting needs write permission on the socket)");
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return "";
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return absl::StrCat(path, " is too long for a socket");
  memcpy(sa.sun_path, path.data(), path.size());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    if (errno == ECONNREFUSED) {
      return absl::StrCat("nothing is listening on ", path, " (a stale socket: the runner exited)");
    }
    return absl::StrCat("cannot connect to ", path, ": ", strerror(errno));
  }
  return "";
}

}  // namespace sagewai::cli
