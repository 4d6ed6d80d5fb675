// The runner's side of the session authentication (scheme
// "sagewai-hmac-sha256-v1", see `service Auth` in sandbox.proto and
// common/session_auth.h): answers challenges and checks each call's
// authorization. Holds only K, derived from the session token, never the
// token itself. Thread-safe.
#ifndef SAGEWAI_TOOL_RUNNER_CORE_AUTH_H_
#define SAGEWAI_TOOL_RUNNER_CORE_AUTH_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/session_auth.h"
#include "grpcpp/grpcpp.h"

namespace sagewai {

struct AuthOptions {
  // Also accept `authorization: Bearer <token>` (old clients). It puts the
  // reusable token on the wire, so it is off unless asked for.
  bool allow_bearer = false;
  size_t max_nonces = 4096;
  std::chrono::steady_clock::duration idle_expiry = std::chrono::minutes(10);
  // For tests; steady_clock::now when empty.
  std::function<std::chrono::steady_clock::time_point()> clock;
};

class TokenAuth {
 public:
  // Derives K from `token` and wipes the token. An empty token turns the
  // check off (unix sockets only; see server.cc).
  explicit TokenAuth(std::string token, AuthOptions options = {});
  TokenAuth(TokenAuth&&) noexcept;
  TokenAuth& operator=(TokenAuth&&) noexcept;
  ~TokenAuth();

  bool enabled() const;
  bool allows_bearer() const;
  // What GetInfo reports in auth_schemes (empty when disabled).
  std::vector<std::string> Schemes() const;

  struct Challenge {
    std::string server_nonce;
    session_auth::Digest server_proof;
    std::chrono::milliseconds idle_expiry;
  };
  // A new session for `client_nonce`. FailedPrecondition without a token,
  // InvalidArgument for a nonce outside 16..64 bytes.
  absl::StatusOr<Challenge> NewChallenge(absl::string_view client_nonce) const;

  // OK, or UNAUTHENTICATED saying what was wrong and what to do, never
  // quoting what was sent. `method` is the call's full path (auth_methods.h).
  grpc::Status Check(const grpc::CallbackServerContext& context, absl::string_view method) const;
  // The same for the value of the `authorization` metadata (nullopt: none).
  grpc::Status CheckAuthorization(std::optional<absl::string_view> header,
                                  absl::string_view method) const;

  // Sessions currently known (for tests).
  size_t sessions() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_CORE_AUTH_H_
