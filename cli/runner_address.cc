#include "cli/runner_address.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/address.h"
#include "common/unique_fd.h"

namespace sagewai::cli {
namespace {

absl::Status AddressError(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad runner address \"", text, "\": ", why,
                   " (use unix:///path/to/tool-runner.sock, tcp://host:port or host:port)"));
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
  AddressForms forms;
  forms.relative_unix = true;
  forms.bare_host_port = true;
  absl::StatusOr<SocketAddress> parsed = ParseSocketAddress(text, forms);
  if (!parsed.ok()) return AddressError(text, parsed.status().message());
  Address a;
  a.kind = parsed->kind == SocketAddress::Kind::kUnix ? Address::Kind::kUnix : Address::Kind::kTcp;
  a.text = parsed->ToString();
  a.path = std::move(parsed->path);
  a.host = std::move(parsed->host);
  a.port = parsed->port;
  return a;
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
