// The host's side of the session authentication (scheme
// "sagewai-hmac-sha256-v1", see `service Auth` in sandbox.proto): runs
// Auth.Challenge with a fresh client nonce, checks the runner's proof before
// anything else is sent, then signs every call through a client interceptor
// (one new seq per call). Used by the CLI, the tests and the benches.
//
//   auto channel = sagewai::NewAuthenticatedChannel(
//       [&](auto interceptors) {
//         return grpc::experimental::CreateCustomChannelWithInterceptors(
//             target, grpc::InsecureChannelCredentials(), args, std::move(interceptors));
//       },
//       token, {.peer = target});
//   // every stub on *channel is authenticated
#ifndef SAGEWAI_COMMON_GRPC_CLIENT_AUTH_H_
#define SAGEWAI_COMMON_GRPC_CLIENT_AUTH_H_

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_interceptor.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sagewai {

using InterceptorFactories =
    std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>;
// Builds the channel with the given interceptors (a target, or an fd).
using ChannelMaker =
    std::function<std::shared_ptr<grpc::Channel>(InterceptorFactories interceptors)>;

struct ClientAuthOptions {
  // The address as the user wrote it, for messages ("unix:///run/x.sock").
  std::string peer;
  // Where the token came from, for messages ("--token-file F").
  std::string token_source = "the token";
  // Fall back to `authorization: Bearer <token>` for a runner without
  // Auth.Challenge. That sends the reusable token: only for an old runner
  // the caller trusts.
  bool allow_bearer = false;
  // Called when allow_bearer was needed (to warn the user).
  std::function<void()> on_bearer_fallback;
  absl::Duration timeout = absl::Seconds(10);
  // Wait (up to `timeout`) for a runner that is not listening yet, instead
  // of failing as soon as a connection attempt fails.
  bool wait_for_ready = false;
};

// A channel from `make_channel` whose calls are authenticated. With an empty
// token no challenge is run and no call carries authorization.
//
// Errors: the Challenge call's own failure with its gRPC code (UNAVAILABLE,
// DEADLINE_EXCEEDED, ...) when it did not get an answer; otherwise a refusal
// (IsAuthRefusal) that says why the peer is not trusted and that nothing
// secret was sent: PermissionDenied for a proof that does not verify,
// FailedPrecondition for a runner without Auth (unless allow_bearer) or
// without a token, or an unknown scheme.
absl::StatusOr<std::shared_ptr<grpc::Channel>> NewAuthenticatedChannel(
    const ChannelMaker& make_channel, absl::string_view token, const ClientAuthOptions& options);

// The same over a gRPC target string ("unix:///path", "dns:///host:port").
absl::StatusOr<std::shared_ptr<grpc::Channel>> NewAuthenticatedChannel(
    const std::string& target, const grpc::ChannelArguments& args, absl::string_view token,
    ClientAuthOptions options);

// True for the errors of NewAuthenticatedChannel that are a decision not to
// trust the peer, as opposed to not reaching it.
bool IsAuthRefusal(const absl::Status& status);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_GRPC_CLIENT_AUTH_H_
