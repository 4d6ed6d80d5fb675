// How the CLI reaches a runner: the address (unix:///path, tcp://host:port or
// host:port), the token (a file or SAGEWAI_RUNNER_TOKEN), the checks of whom
// it talks to (the peer of a unix socket, then the runner's proof of the
// session key; README, "Authentication and the host's peer check"), the
// authenticated gRPC channel, and gRPC errors turned into one actionable
// line and an exit code.
#ifndef SAGEWAI_CLI_CONNECTION_H_
#define SAGEWAI_CLI_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/connection_policy.h"
#include "cli/peer_check.h"
#include "cli/sandbox_resolve.h"

namespace sagewai::cli {

inline constexpr char kAddrEnv[] = "SAGEWAI_RUNNER_ADDR";
inline constexpr char kTokenEnv[] = "SAGEWAI_RUNNER_TOKEN";
inline constexpr char kDefaultAddress[] = "unix:///run/sagewai/tool-runner.sock";
// A sandbox id, used when neither --sandbox, --addr nor --token-file is given.
inline constexpr char kSandboxEnv[] = "SAGEWAI_SANDBOX";

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

struct Token {
  std::string value;   // empty: send no authorization metadata
  std::string source;  // "--token-file PATH", "$SAGEWAI_RUNNER_TOKEN" or ""
  // Things the user should know but that do not stop the call, e.g. a token
  // file readable by every user.
  std::vector<std::string> warnings;
};

// The token file wins over $SAGEWAI_RUNNER_TOKEN: a flag on the command line
// is the more deliberate choice than an inherited variable. Surrounding
// whitespace (a trailing newline) is dropped. Errors (FailedPrecondition /
// NotFound / PermissionDenied / InvalidArgument) name the file and the fix.
absl::StatusOr<Token> LoadToken(const std::optional<std::string>& token_file,
                                const char* env_value);

// An empty string when `path` looks like a socket we can connect to,
// otherwise why not ("no such file", "not a socket", "permission denied").
std::string ProbeUnixSocket(const std::string& path);

// One line for the user and the exit code (see exit_codes.h).
struct CliError {
  int exit_code = 0;
  std::string message;
};

struct RpcErrorContext {
  const Address* address = nullptr;
  // e.g. "Bash.Stream".
  std::string method;
  std::string token_source;
  // For UNIMPLEMENTED: the runner's version if GetInfo told it.
  std::string server_version;
  // For UNAVAILABLE on unix sockets: ProbeUnixSocket's answer.
  std::string socket_probe;
  std::optional<absl::Duration> deadline;
};

int ExitCodeForRpcCode(grpc::StatusCode code);
CliError DescribeRpcError(const grpc::Status& status, const RpcErrorContext& context);

inline constexpr absl::Duration kEstablishTimeout = absl::Seconds(10);

class Connection {
 public:
  // Does no I/O; Establish (or the first channel()) connects.
  Connection(Address address, Token token, ConnectionPolicy policy = {});

  const Address& address() const { return address_; }
  const Token& token() const { return token_; }

  // Before a single byte of a call is sent: for a unix socket, connects it
  // and checks its peer (SO_PEERCRED), then runs gRPC over that fd; with a
  // token, runs Auth.Challenge and verifies the runner's proof. Runs once;
  // later calls return the first result. nullopt when ready, else the error
  // for the user (kExitNoPerm for a peer or proof that is refused).
  std::optional<CliError> Establish(absl::Duration timeout = kEstablishTimeout) const;

  // The authenticated channel (Establish()es first). After a failed
  // Establish every call on it fails UNAVAILABLE and Describe() returns the
  // establishment's error.
  const std::shared_ptr<grpc::Channel>& channel() const;

  // A context with the deadline now + `timeout` (when given). The channel's
  // interceptor signs each call; contexts carry no secret.
  std::unique_ptr<grpc::ClientContext> NewContext(
      std::optional<absl::Duration> timeout = std::nullopt) const;

  // Connects and waits until the channel is READY or has failed. False when
  // it is still connecting after `timeout` (an address that drops packets).
  bool WaitForConnection(absl::Duration timeout) const;

  // Runner.GetInfo's version, or "" when it cannot be had in `timeout`.
  std::string FetchServerVersion(absl::Duration timeout) const;

  // DescribeRpcError with what this connection knows filled in (probing the
  // socket, asking the runner's version for UNIMPLEMENTED).
  CliError Describe(const grpc::Status& status, absl::string_view method,
                    std::optional<absl::Duration> deadline = std::nullopt) const;

 private:
  std::optional<CliError> DoEstablish(absl::Duration timeout) const;

  Address address_;
  Token token_;
  ConnectionPolicy policy_;
  mutable std::once_flag established_;
  mutable std::optional<CliError> establish_error_;
  mutable std::shared_ptr<grpc::Channel> channel_;
  // gRPC over our own connected fd: it cannot reconnect, and is connected.
  mutable bool over_fd_ = false;
};

// Records the --sandbox option for ConnectFromFlags (main() calls it).
void SetSandboxFlag(std::optional<std::string> id);

// Builds a Connection from --sandbox (SetSandboxFlag), --addr / --token-file
// (either may be absent) and the environment ($SAGEWAI_SANDBOX when none of
// the three is given, else $SAGEWAI_RUNNER_ADDR / $SAGEWAI_RUNNER_TOKEN), and
// prints token warnings on stderr, then Establish()es the connection with
// FlagConnectionPolicy() (for --sandbox, unless --peer-uid/--peer-pid say
// otherwise, the peer must be the runner's host pid). On failure returns null
// and fills `error` (usage for a bad address or --sandbox with --addr, config
// for a bad token, unavailable for an unknown sandbox or an unreachable
// runner, no-perm for a refused peer or proof).
std::unique_ptr<Connection> ConnectFromFlags(const std::optional<std::string>& addr_flag,
                                             const std::optional<std::string>& token_file,
                                             CliError* error);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_CONNECTION_H_
