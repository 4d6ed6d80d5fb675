// Where the CLI finds a runner: --addr, else $SAGEWAI_RUNNER_ADDR, else the
// default socket; the forms an address may take; and, when a unix socket
// cannot be reached, why not.
#ifndef SAGEWAI_CLI_RUNNER_ADDRESS_H_
#define SAGEWAI_CLI_RUNNER_ADDRESS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sagewai::cli {

inline constexpr char kAddrEnv[] = "SAGEWAI_RUNNER_ADDR";
inline constexpr char kDefaultAddress[] = "unix:///run/sagewai/tool-runner.sock";

struct Address {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string path;  // kUnix: the socket path as given
  std::string host;  // kTcp: name or IP literal, without [ ]
  int port = 0;      // kTcp
  // Canonical form for messages: "unix:///abs/path", "unix:rel/path" or
  // "tcp://host:port".
  std::string text;

  // What grpc::CreateChannel takes.
  std::string GrpcTarget() const;
};

// Accepts "unix:///abs/path", "unix:/abs/path", "unix:relative/path", a bare
// path containing '/', "tcp://host:port", "host:port", "[v6]:port". Errors
// are InvalidArgument naming the accepted forms.
absl::StatusOr<Address> ParseAddress(absl::string_view text);

// --addr when given, else $SAGEWAI_RUNNER_ADDR when set and non-empty, else
// kDefaultAddress. `env_value` may be null.
absl::StatusOr<Address> ResolveAddress(const std::optional<std::string>& flag,
                                       const char* env_value);

// An empty string when `path` looks like a socket we can connect to,
// otherwise why not ("no such file", "not a socket", "permission denied").
std::string ProbeUnixSocket(const std::string& path);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_RUNNER_ADDRESS_H_
