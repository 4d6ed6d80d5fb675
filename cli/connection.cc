#include "cli/connection.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "cli/exit_codes.h"
#include "cli/peer_check.h"
#include "cli/sandbox_resolve.h"
#include "common/grpc_client_auth.h"
#include "common/unique_fd.h"
#include "grpcpp/create_channel_posix.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace sagewai::cli {
namespace {

constexpr size_t kMaxUnixPath = sizeof(sockaddr_un::sun_path) - 1;

std::optional<std::string> g_sandbox_flag;
constexpr size_t kMaxTokenFileBytes = 64 * 1024;

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

bool IsHeaderSafe(absl::string_view token) {
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path,
                                          std::vector<std::string>* warnings) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    std::string why = absl::StrCat("cannot read the token file ", path, ": ", strerror(err),
                                   " — pass the file that holds the sandbox's SESSION_TOKEN");
    if (err == ENOENT) return absl::NotFoundError(why);
    if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(why);
    return absl::FailedPreconditionError(why);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the token file ", path, " is a directory — pass the file itself"));
    }
    if (S_ISREG(st.st_mode) && (st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
      warnings->push_back(absl::StrFormat(
          "warning: the token file %s is %s by every user on this host (mode %04o) — "
          "run: chmod 600 %s",
          path, (st.st_mode & S_IWOTH) ? "writable" : "readable", st.st_mode & 07777, path));
    }
  }
  std::string content;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read the token file ", path, ": ", strerror(errno)));
    }
    if (n == 0) break;
    content.append(buf, static_cast<size_t>(n));
    if (content.size() > kMaxTokenFileBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the token file ", path, " is larger than 64 KiB — it should hold only the token"));
    }
  }
  return content;
}

absl::StatusOr<std::string> CleanToken(absl::string_view raw, absl::string_view source) {
  absl::string_view token = absl::StripAsciiWhitespace(raw);
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the token from ", source,
                                                   " is empty — it should hold the sandbox's "
                                                   "SESSION_TOKEN"));
  }
  if (!IsHeaderSafe(token)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the token from ", source,
                     " has characters a gRPC header cannot carry (spaces, line breaks, control or "
                     "non-ASCII bytes) — it should be the sandbox's SESSION_TOKEN alone"));
  }
  return std::string(token);
}

std::string OneLine(absl::string_view text) {
  std::string out =
      absl::StrReplaceAll(absl::StripAsciiWhitespace(text), {{"\n", " "}, {"\r", " "}});
  return out.empty() ? "no details" : out;
}

std::string SecondsText(absl::Duration d) {
  double s = absl::ToDoubleSeconds(d);
  return s == static_cast<int64_t>(s) ? absl::StrCat(static_cast<int64_t>(s), " s")
                                      : absl::StrFormat("%.1f s", s);
}

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK:
      return "OK";
    case grpc::CANCELLED:
      return "CANCELLED";
    case grpc::UNKNOWN:
      return "UNKNOWN";
    case grpc::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::ABORTED:
      return "ABORTED";
    case grpc::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::INTERNAL:
      return "INTERNAL";
    case grpc::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN_CODE";
  }
}

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

absl::StatusOr<Token> LoadToken(const std::optional<std::string>& token_file,
                                const char* env_value) {
  Token token;
  if (token_file) {
    token.source = absl::StrCat("--token-file ", *token_file);
    absl::StatusOr<std::string> raw = ReadTokenFile(*token_file, &token.warnings);
    if (!raw.ok()) return raw.status();
    absl::StatusOr<std::string> clean = CleanToken(*raw, token.source);
    if (!clean.ok()) return clean.status();
    token.value = *std::move(clean);
    return token;
  }
  if (env_value != nullptr && *env_value != '\0') {
    token.source = absl::StrCat("$", kTokenEnv);
    absl::StatusOr<std::string> clean = CleanToken(env_value, token.source);
    if (!clean.ok()) return clean.status();
    token.value = *std::move(clean);
  }
  return token;
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

int ExitCodeForRpcCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK:
      return kExitOk;
    case grpc::UNAVAILABLE:
      return kExitUnavailable;
    case grpc::UNAUTHENTICATED:
    case grpc::PERMISSION_DENIED:
      return kExitNoPerm;
    case grpc::UNIMPLEMENTED:
      return kExitProtocol;
    case grpc::DEADLINE_EXCEEDED:
    case grpc::RESOURCE_EXHAUSTED:
      return kExitTempFail;
    case grpc::INVALID_ARGUMENT:
    case grpc::FAILED_PRECONDITION:
    case grpc::OUT_OF_RANGE:
    case grpc::NOT_FOUND:
    case grpc::ALREADY_EXISTS:
      return kExitDataErr;
    default:
      return kExitSoftware;
  }
}

CliError DescribeRpcError(const grpc::Status& status, const RpcErrorContext& context) {
  const std::string addr = context.address != nullptr ? context.address->text : "?";
  const bool is_unix = context.address != nullptr && context.address->kind == Address::Kind::kUnix;
  const std::string detail = OneLine(status.error_message());
  CliError e;
  e.exit_code = ExitCodeForRpcCode(status.error_code());
  switch (status.error_code()) {
    case grpc::UNAVAILABLE:
      e.message = absl::StrCat("cannot reach the runner at ", addr, ": ",
                               context.socket_probe.empty() ? detail : context.socket_probe,
                               " — is the sandbox running? is the ",
                               is_unix ? "socket path" : "address", " right?");
      break;
    case grpc::UNAUTHENTICATED:
      if (context.token_source.empty()) {
        e.message =
            absl::StrCat("the runner at ", addr, " needs a token and none was given (", detail,
                         ") — pass the sandbox's SESSION_TOKEN with --token-file "
                         "FILE or $",
                         kTokenEnv);
      } else {
        e.message = absl::StrCat("the runner rejected the token from ", context.token_source, " (",
                                 detail, ") — it must be the SESSION_TOKEN the sandbox at ", addr,
                                 " was started with");
      }
      break;
    case grpc::PERMISSION_DENIED:
      e.message = absl::StrCat("the runner at ", addr, " refused ", context.method, ": ", detail);
      break;
    case grpc::UNIMPLEMENTED:
      if (context.server_version.empty()) {
        e.message = absl::StrCat("the runner at ", addr, " does not support ", context.method,
                                 " (server too old: version unknown — or not a "
                                 "sagewai-tool-runner at all) — check the address, and use an "
                                 "image whose sagewai-tool-runner is recent enough");
      } else {
        e.message = absl::StrCat("the runner at ", addr, " does not support ", context.method,
                                 " (server too old: version ", context.server_version,
                                 ") — use an image whose sagewai-tool-runner is recent enough");
      }
      break;
    case grpc::DEADLINE_EXCEEDED:
      e.message = absl::StrCat(
          "the runner at ", addr, " did not answer ", context.method,
          context.deadline ? absl::StrCat(" within ", SecondsText(*context.deadline)) : "",
          " (deadline exceeded) — it may be overloaded or stuck; retry, or allow more time");
      break;
    case grpc::RESOURCE_EXHAUSTED:
      e.message = absl::StrCat("the runner at ", addr, " is busy (", detail,
                               ") — retry when fewer calls are running");
      break;
    case grpc::INVALID_ARGUMENT:
    case grpc::FAILED_PRECONDITION:
    case grpc::OUT_OF_RANGE:
    case grpc::NOT_FOUND:
    case grpc::ALREADY_EXISTS:
      e.message = absl::StrCat("the runner at ", addr, " refused ", context.method, ": ", detail);
      break;
    default:
      e.message = absl::StrCat(context.method, " failed at ", addr, ": ",
                               CodeName(status.error_code()), ": ", detail);
      break;
  }
  return e;
}

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
    return Established(
        std::make_unique<Connection>(*std::move(address), *std::move(token), std::move(policy)),
        error);
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

}  // namespace sagewai::cli
