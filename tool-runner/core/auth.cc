#include "tool-runner/core/auth.h"

#include <mutex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tool-runner/core/auth_nonces.h"

namespace sagewai {
namespace {

namespace sa = session_auth;
using Clock = std::chrono::steady_clock;

constexpr absl::string_view kBearerPrefix = "Bearer ";

grpc::Status Unauthenticated(std::string message) {
  return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::move(message));
}

std::string RefuseBearerText() {
  return absl::StrCat(
      "plain bearer tokens are refused by this runner: they would put the session token on the "
      "wire; use the ",
      sa::kScheme, " scheme (README) or start the runner with --allow-bearer");
}

}  // namespace

struct TokenAuth::State {
  State(size_t max_nonces, Clock::duration idle) : nonces(max_nonces, idle) {}

  Clock::time_point Now() const { return clock ? clock() : Clock::now(); }

  bool enabled = false;
  bool allow_bearer = false;
  Clock::duration idle_expiry{};
  std::function<Clock::time_point()> clock;
  sa::SessionKey key;
  sa::Digest bearer_digest{};
  mutable std::mutex mu;
  NonceTable nonces;  // guarded by mu
};

TokenAuth::TokenAuth(std::string token, AuthOptions options)
    : state_(std::make_unique<State>(options.max_nonces, options.idle_expiry)) {
  state_->enabled = !token.empty();
  state_->allow_bearer = options.allow_bearer && state_->enabled;
  state_->idle_expiry = options.idle_expiry;
  state_->clock = std::move(options.clock);
  if (state_->enabled) {
    state_->key = sa::DeriveSessionKey(token);
    if (state_->allow_bearer) state_->bearer_digest = sa::BearerDigest(state_->key, token);
  }
  sa::SecureWipe(&token);
}

TokenAuth::TokenAuth(TokenAuth&&) noexcept = default;
TokenAuth& TokenAuth::operator=(TokenAuth&&) noexcept = default;
TokenAuth::~TokenAuth() = default;

bool TokenAuth::enabled() const { return state_->enabled; }
bool TokenAuth::allows_bearer() const { return state_->allow_bearer; }

std::vector<std::string> TokenAuth::Schemes() const {
  std::vector<std::string> out;
  if (!state_->enabled) return out;
  out.emplace_back(sa::kScheme);
  if (state_->allow_bearer) out.emplace_back(sa::kBearerScheme);
  return out;
}

size_t TokenAuth::sessions() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->nonces.size();
}

absl::StatusOr<TokenAuth::Challenge> TokenAuth::NewChallenge(absl::string_view client_nonce) const {
  if (!state_->enabled) {
    return absl::FailedPreconditionError(
        "this runner has no session token: its calls need no authorization (it serves unix "
        "sockets only)");
  }
  if (client_nonce.size() < sa::kMinClientNonceSize ||
      client_nonce.size() > sa::kMaxClientNonceSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "client_nonce must be ", sa::kMinClientNonceSize, " to ", sa::kMaxClientNonceSize,
        " random bytes, new for every challenge; got ", client_nonce.size()));
  }
  absl::StatusOr<std::string> nonce = sa::RandomBytes(sa::kServerNonceSize);
  if (!nonce.ok()) return nonce.status();
  Challenge c;
  c.server_proof = sa::ServerProof(state_->key, client_nonce, *nonce);
  c.server_nonce = *nonce;
  c.idle_expiry = std::chrono::duration_cast<std::chrono::milliseconds>(state_->idle_expiry);
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->nonces.Add(*std::move(nonce), state_->Now());
  return c;
}

grpc::Status TokenAuth::Check(const grpc::CallbackServerContext& context,
                              absl::string_view method) const {
  if (!state_->enabled) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return CheckAuthorization(std::nullopt, method);
  if (metadata.count("authorization") > 1) {
    return Unauthenticated("more than one authorization metadata entry: send exactly one");
  }
  return CheckAuthorization(absl::string_view(it->second.data(), it->second.size()), method);
}

grpc::Status TokenAuth::CheckAuthorization(std::optional<absl::string_view> header,
                                           absl::string_view method) const {
  if (!state_->enabled) return grpc::Status::OK;
  if (!header) {
    return Unauthenticated(
        absl::StrCat("missing authorization metadata: call Auth.Challenge, "
                     "then sign every call with the ",
                     sa::kScheme, " scheme (README)"));
  }
  if (absl::StartsWithIgnoreCase(*header, "bearer")) {
    if (!state_->allow_bearer) return Unauthenticated(RefuseBearerText());
    absl::string_view presented = *header;
    if (!absl::ConsumePrefix(&presented, kBearerPrefix)) {
      return Unauthenticated("the authorization is not of the form 'Bearer <token>'");
    }
    if (!sa::ConstantTimeEquals(sa::BearerDigest(state_->key, presented), state_->bearer_digest)) {
      return Unauthenticated("invalid session token");
    }
    return grpc::Status::OK;
  }
  absl::StatusOr<sa::Authorization> auth = sa::ParseAuthorization(*header);
  if (!auth.ok()) return Unauthenticated(std::string(auth.status().message()));

  std::lock_guard<std::mutex> lock(state_->mu);
  const Clock::time_point now = state_->Now();
  if (!state_->nonces.Contains(auth->nonce, now)) {
    return Unauthenticated("unknown or expired nonce: call Auth.Challenge again");
  }
  // Before the sequence number is recorded: a forged call must not use up
  // a number the real client will send.
  const sa::Digest want = sa::CallMac(state_->key, auth->nonce, auth->seq, method);
  if (!sa::ConstantTimeEquals(want, auth->mac)) {
    return Unauthenticated(
        "bad mac: the call is not signed with this runner's session key for this method and "
        "seq (a wrong token, or a header made for another call)");
  }
  switch (state_->nonces.Use(auth->nonce, auth->seq, now)) {
    case NonceTable::Verdict::kAccepted:
      return grpc::Status::OK;
    case NonceTable::Verdict::kReplayed:
      return Unauthenticated(
          "replayed call: this nonce and seq were accepted before; sign each call with a new "
          "seq");
    case NonceTable::Verdict::kTooOld:
      return Unauthenticated(
          absl::StrCat("replayed call: seq is more than ", NonceTable::kReplayWindow,
                       " behind the newest this session used; sign each call with a new seq"));
    case NonceTable::Verdict::kUnknown:
      break;
  }
  return Unauthenticated("unknown or expired nonce: call Auth.Challenge again");
}

}  // namespace sagewai
