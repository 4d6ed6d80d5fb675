#include "tool-runner/server/listen_address.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"

namespace sagewai {
namespace {

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "bad listen address \"", text, "\": ", why,
      " (use unix:///absolute/path.sock or tcp://host:port)"));
}

}  // namespace

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
  ListenAddress addr;
  absl::string_view rest = text;
  if (absl::ConsumePrefix(&rest, "unix://") || absl::ConsumePrefix(&rest, "unix:") ||
      absl::StartsWith(rest, "/")) {
    if (!absl::StartsWith(rest, "/")) return Invalid(text, "the socket path must be absolute");
    if (rest.size() > 107) return Invalid(text, "the socket path is longer than 107 bytes");
    addr.kind = ListenAddress::Kind::kUnix;
    addr.path = std::string(rest);
    return addr;
  }
  if (!absl::ConsumePrefix(&rest, "tcp://")) return Invalid(text, "unknown scheme");
  addr.kind = ListenAddress::Kind::kTcp;
  absl::string_view port;
  if (absl::ConsumePrefix(&rest, "[")) {
    size_t close = rest.find(']');
    if (close == absl::string_view::npos) return Invalid(text, "unclosed '['");
    addr.host = std::string(rest.substr(0, close));
    rest.remove_prefix(close + 1);
    if (!absl::ConsumePrefix(&rest, ":")) return Invalid(text, "missing port");
    port = rest;
  } else {
    size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos) return Invalid(text, "missing port");
    addr.host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  }
  if (addr.host.empty()) return Invalid(text, "missing host (use 0.0.0.0 for all interfaces)");
  if (!absl::SimpleAtoi(port, &addr.port) || addr.port < 0 || addr.port > 65535) {
    return Invalid(text, "the port must be a number from 0 to 65535");
  }
  return addr;
}

}  // namespace sagewai
