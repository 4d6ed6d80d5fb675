#include "cli/connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cli/exit_codes.h"
#include "cli/peer_check.h"
#include "cli/runner_death.h"
#include "cli/sandbox_resolve.h"
#include "common/grpc_client_auth.h"
#include "common/unique_fd.h"
#include "grpcpp/create_channel_posix.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace sagewai::cli {
namespace {

std::optional<std::string> g_sandbox_flag;

grpc::ChannelArguments ChannelArgs() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  // Retry quickly: a runner that is just starting comes up in milliseconds.
  // (Not GRPC_ARG_MIN_RECONNECT_BACKOFF_MS: gRPC also takes it as the time a
  // connection attempt may last, and a loaded host or a slow link needs the
  // default 20 s for that.)
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  return args;
}

// A channel on which every call fails at once with UNAVAILABLE: what a
// Connection hands out after it refused the peer, so that nothing is sent.
std::shared_ptr<grpc::Channel> DeadChannel(const std::string& target) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return grpc::CreateChannel("unix:/nonexistent/sagewai-refused",
                               grpc::InsecureChannelCredentials());
  }
  ::close(sv[1]);
  return grpc::CreateInsecureChannelFromFd(target, sv[0]);
}

}  // namespace

Connection::Connection(Address address, Token token, ConnectionPolicy policy)
    : address_(std::move(address)), token_(std::move(token)), policy_(std::move(policy)) {}

std::optional<CliError> Connection::Establish(absl::Duration timeout) const {
  std::call_once(established_, [&] {
    establish_error_ = DoEstablish(timeout);
    // Never the channel to a refused peer: nothing more may reach it.
    if (establish_error_) channel_ = DeadChannel(address_.GrpcTarget());
  });
  return establish_error_;
}

const std::shared_ptr<grpc::Channel>& Connection::channel() const {
  Establish();
  return channel_;
}

std::optional<CliError> Connection::DoEstablish(absl::Duration timeout) const {
  const grpc::ChannelArguments args = ChannelArgs();
  std::shared_ptr<grpc::Channel> made;
  UniqueFd fd;
  if (address_.kind == Address::Kind::kUnix) {
    absl::StatusOr<UniqueFd> connected = ConnectUnixSocket(address_.path);
    if (!connected.ok()) {
      return Describe(grpc::Status(grpc::UNAVAILABLE, std::string(connected.status().message())),
                      "the connection");
    }
    absl::StatusOr<PeerCredentials> peer = ReadPeerCredentials(connected->get());
    if (!peer.ok()) {
      return CliError{kExitSoftware, absl::StrCat("cannot check who listens on ", address_.text,
                                                  ": ", peer.status().message())};
    }
    if (absl::Status st = CheckPeer(*peer, policy_.peer, address_.text, ::geteuid()); !st.ok()) {
      return CliError{kExitNoPerm, std::string(st.message())};
    }
    fd = *std::move(connected);
    over_fd_ = true;
  }
  ClientAuthOptions auth;
  auth.peer = address_.text;
  auth.token_source = token_.source.empty() ? "the token" : token_.source;
  auth.allow_bearer = policy_.allow_bearer;
  auth.timeout = timeout;
  auth.on_bearer_fallback = [this] {
    fprintf(stderr,
            "warning: the runner at %s has no Auth.Challenge: sending the session token in "
            "plain (--allow-bearer); anyone who can impersonate that address can take it\n",
            address_.text.c_str());
  };
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = NewAuthenticatedChannel(
      [&](InterceptorFactories interceptors) {
        if (fd) {
          // gRPC owns the fd from here on.
          made = grpc::experimental::CreateCustomInsecureChannelWithInterceptorsFromFd(
              address_.GrpcTarget(), fd.release(), args, std::move(interceptors));
        } else {
          made = grpc::experimental::CreateCustomChannelWithInterceptors(
              address_.GrpcTarget(), grpc::InsecureChannelCredentials(), args,
              std::move(interceptors));
        }
        return made;
      },
      token_.value, auth);
  channel_ = channel.ok() ? *channel : made;
  if (channel.ok()) return std::nullopt;
  const absl::Status& st = channel.status();
  if (IsAuthRefusal(st)) return CliError{kExitNoPerm, std::string(st.message())};
  if (st.code() == absl::StatusCode::kDeadlineExceeded &&
      (over_fd_ ||
       (made != nullptr && made->GetState(/*try_to_connect=*/false) == GRPC_CHANNEL_READY))) {
    return CliError{kExitTempFail,
                    absl::StrCat("the process at ", address_.text,
                                 " accepted the connection but did not answer Auth.Challenge "
                                 "within ",
                                 SecondsText(timeout),
                                 " — a stuck runner, or not a sagewai-tool-runner at all; nothing "
                                 "secret was sent")};
  }
  return Describe(grpc::Status(static_cast<grpc::StatusCode>(st.code()), std::string(st.message())),
                  "Auth.Challenge", timeout);
}

std::unique_ptr<grpc::ClientContext> Connection::NewContext(
    std::optional<absl::Duration> timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (timeout) context->set_deadline(absl::ToChronoTime(absl::Now() + *timeout));
  return context;
}

bool Connection::WaitForConnection(absl::Duration timeout) const {
  // A refused or unreachable peer: the next call fails, and Describe says why.
  if (Establish(std::min(timeout, kEstablishTimeout))) return true;
  if (over_fd_) return true;
  const auto deadline = absl::ToChronoTime(absl::Now() + timeout);
  grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
  while (state != GRPC_CHANNEL_READY && state != GRPC_CHANNEL_TRANSIENT_FAILURE &&
         state != GRPC_CHANNEL_SHUTDOWN) {
    if (!channel_->WaitForStateChange(state, deadline)) return false;
    state = channel_->GetState(/*try_to_connect=*/true);
  }
  return true;
}

std::string Connection::FetchServerVersion(absl::Duration timeout) const {
  if (Establish(timeout)) return "";
  auto stub = sagewai::sandbox::v1::Runner::NewStub(channel_);
  auto context = NewContext(timeout);
  sagewai::sandbox::v1::GetInfoResponse info;
  grpc::Status status = stub->GetInfo(context.get(), {}, &info);
  return status.ok() ? info.version() : "";
}

CliError Connection::Describe(const grpc::Status& status, absl::string_view method,
                              std::optional<absl::Duration> deadline) const {
  if (establish_error_) return *establish_error_;
  RpcErrorContext context;
  context.address = &address_;
  context.method = std::string(method);
  context.token_source = token_.value.empty() ? "" : token_.source;
  context.deadline = deadline;
  grpc::Status effective = status;
  if (status.error_code() == grpc::DEADLINE_EXCEEDED && !over_fd_ &&
      (channel_ == nullptr || channel_->GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY)) {
    // Never connected: the address is the problem, not a slow runner.
    effective = grpc::Status(
        grpc::UNAVAILABLE,
        deadline ? absl::StrCat("no connection within ", SecondsText(*deadline)) : "no connection");
  }
  if (effective.error_code() == grpc::UNAVAILABLE && address_.kind == Address::Kind::kUnix) {
    context.socket_probe = ProbeUnixSocket(address_.path);
  }
  if (!sandbox_container_.empty() &&
      (effective.error_code() == grpc::UNAVAILABLE || effective.error_code() == grpc::CANCELLED ||
       effective.error_code() == grpc::INTERNAL || effective.error_code() == grpc::UNKNOWN)) {
    if (std::optional<std::string> death = RunnerDeathReport(sandbox_container_)) {
      return CliError{kExitUnavailable, *std::move(death), /*runner_died=*/true};
    }
  }
  if (effective.error_code() == grpc::UNIMPLEMENTED && method != "Runner.GetInfo") {
    context.server_version = FetchServerVersion(absl::Seconds(3));
  }
  return DescribeRpcError(effective, context);
}

void SetSandboxFlag(std::optional<std::string> id) { g_sandbox_flag = std::move(id); }

namespace {

// Establish() for ConnectFromFlags: null and *error when refused.
std::unique_ptr<Connection> Established(std::unique_ptr<Connection> connection, CliError* error) {
  if (std::optional<CliError> e = connection->Establish()) {
    *error = *std::move(e);
    return nullptr;
  }
  return connection;
}

}  // namespace

std::unique_ptr<Connection> ConnectFromFlags(const std::optional<std::string>& addr_flag,
                                             const std::optional<std::string>& token_file,
                                             CliError* error) {
  std::optional<std::string> sandbox = g_sandbox_flag;
  if (sandbox && (addr_flag || token_file)) {
    *error = {kExitUsage,
              "--sandbox names the runner and its token: give it without --addr and --token-file"};
    return nullptr;
  }
  if (!sandbox && !addr_flag && !token_file) {
    if (const char* env = getenv(kSandboxEnv); env != nullptr && *env != '\0') sandbox = env;
  }
  if (sandbox) {
    absl::StatusOr<SandboxEndpoint> endpoint = ResolveSandbox(*sandbox);
    if (!endpoint.ok()) {
      *error = {absl::IsInvalidArgument(endpoint.status()) ? kExitUsage : kExitUnavailable,
                std::string(endpoint.status().message())};
      return nullptr;
    }
    absl::StatusOr<Address> address = ParseAddress(endpoint->address);
    if (!address.ok()) {
      *error = {kExitConfig, std::string(address.status().message())};
      return nullptr;
    }
    absl::StatusOr<Token> token = LoadToken(endpoint->token_file, nullptr);
    if (!token.ok()) {
      *error = {kExitConfig, std::string(token.status().message())};
      return nullptr;
    }
    token->source = absl::StrCat("sandbox ", *sandbox, "'s token file ", endpoint->token_file);
    for (const std::string& warning : token->warnings) fprintf(stderr, "%s\n", warning.c_str());
    ConnectionPolicy policy = FlagConnectionPolicy();
    if (address->kind == Address::Kind::kUnix && !policy.peer.pid && !policy.peer.uid) {
      // Whatever uid the start state gave the runner, its pid is known.
      absl::StatusOr<pid_t> runner =
          endpoint->container.empty()
              ? absl::FailedPreconditionError(
                    absl::StrCat("the state of sandbox ", *sandbox, " names no container"))
              : RunnerHostPid(endpoint->container);
      if (!runner.ok()) {
        *error = {kExitUnavailable,
                  absl::StrCat("cannot tell which process is sandbox ", *sandbox,
                               "'s runner: ", runner.status().message(),
                               " (or pass --peer-uid N to check its uid instead)")};
        return nullptr;
      }
      policy.peer.pid = *runner;
      policy.peer.pid_source =
          absl::StrCat("the runner of sandbox ", *sandbox, ", the child of its PID 1");
    }
    auto connection =
        std::make_unique<Connection>(*std::move(address), *std::move(token), std::move(policy));
    connection->set_sandbox_container(endpoint->container);
    return Established(std::move(connection), error);
  }
  absl::StatusOr<Address> address = ResolveAddress(addr_flag, getenv(kAddrEnv));
  if (!address.ok()) {
    *error = {kExitUsage, std::string(address.status().message())};
    return nullptr;
  }
  absl::StatusOr<Token> token = LoadToken(token_file, getenv(kTokenEnv));
  if (!token.ok()) {
    *error = {kExitConfig, std::string(token.status().message())};
    return nullptr;
  }
  for (const std::string& warning : token->warnings) fprintf(stderr, "%s\n", warning.c_str());
  return Established(
      std::make_unique<Connection>(*std::move(address), *std::move(token), FlagConnectionPolicy()),
      error);
}

std::unique_ptr<Connection> ConnectOrReport(const std::optional<std::string>& addr_flag,
                                            const std::optional<std::string>& token_file,
                                            int* exit_code) {
  CliError error;
  std::unique_ptr<Connection> connection = ConnectFromFlags(addr_flag, token_file, &error);
  if (!connection) {
    fprintf(stderr, "%s\n", error.message.c_str());
    *exit_code = error.exit_code;
  }
  return connection;
}

}  // namespace sagewai::cli
