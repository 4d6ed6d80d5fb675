// How the CLI reaches a runner: the address (runner_address.h) and the token
// (runner_token.h), the checks of whom it talks to (the peer of a unix
// socket, then the runner's proof of the session key; README,
// "Authentication and the host's peer check"), the authenticated gRPC
// channel, and its errors for the user (rpc_error.h).
#ifndef SAGEWAI_CLI_CONNECTION_H_
#define SAGEWAI_CLI_CONNECTION_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cli/connection_policy.h"
#include "cli/peer_check.h"
#include "cli/rpc_error.h"
#include "cli/runner_address.h"
#include "cli/runner_token.h"
#include "cli/sandbox_resolve.h"

namespace sagewai::cli {

// A sandbox id, used when neither --sandbox, --addr nor --token-file is given.
inline constexpr char kSandboxEnv[] = "SAGEWAI_SANDBOX";

inline constexpr absl::Duration kEstablishTimeout = absl::Seconds(10);

class Connection {
 public:
  // Does no I/O; Establish (or the first channel()) connects.
  Connection(Address address, Token token, ConnectionPolicy policy = {});

  const Address& address() const { return address_; }
  // The container of a --sandbox runner: a lost connection is then
  // described by its state and log (cli/runner_death.h).
  void set_sandbox_container(std::string id) { sandbox_container_ = std::move(id); }
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
  std::string sandbox_container_;
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

// ConnectFromFlags for a command's entry point: the error's line goes to
// stderr; null, with *exit_code set, when there is no connection.
std::unique_ptr<Connection> ConnectOrReport(const std::optional<std::string>& addr_flag,
                                            const std::optional<std::string>& token_file,
                                            int* exit_code);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_CONNECTION_H_
