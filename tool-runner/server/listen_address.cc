#include "tool-runner/server/listen_address.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/address.h"

namespace sagewai {

std::string ListenAddress::GrpcTarget() const {
  if (kind == Kind::kUnix) return absl::StrCat("unix://", path);
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

std::string ListenAddress::ToString() const {
  if (kind == Kind::kUnix) return absl::StrCat("unix://", path);
  if (absl::StrContains(host, ':')) return absl::StrCat("tcp://[", host, "]:", port);
  return absl::StrCat("tcp://", host, ":", port);
}

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text) {
  AddressForms forms;
  forms.port_zero = true;
  absl::StatusOr<SocketAddress> parsed = ParseSocketAddress(text, forms);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad listen address \"", text, "\": ", parsed.status().message(),
                     " (use unix:///absolute/path.sock or tcp://host:port; tcp://0.0.0.0:port "
                     "for all interfaces)"));
  }
  ListenAddress addr;
  addr.kind = parsed->kind == SocketAddress::Kind::kUnix ? ListenAddress::Kind::kUnix
                                                         : ListenAddress::Kind::kTcp;
  addr.path = std::move(parsed->path);
  addr.host = std::move(parsed->host);
  addr.port = parsed->port;
  return addr;
}

}  // namespace sagewai
