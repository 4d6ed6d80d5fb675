// The "sagewai-hmac-sha256-v1" session authentication, shared by the runner
// (verifier) and the hosts (prover); specified in the comment of
// `service Auth` in proto/sagewai/sandbox/v1/sandbox.proto. The client proves
// it holds the session token without sending it, and the runner proves the
// same before the client sends anything: an impostor on the socket learns a
// random client nonce and nothing else. No gRPC here, so that the rules can
// be tested byte by byte.
#ifndef SAGEWAI_COMMON_SESSION_AUTH_H_
#define SAGEWAI_COMMON_SESSION_AUTH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/hmac_sha256.h"

namespace sagewai::session_auth {

// What Auth.Challenge answers in `scheme` and GetInfo lists in `auth_schemes`.
inline constexpr absl::string_view kScheme = "sagewai-hmac-sha256-v1";
inline constexpr absl::string_view kBearerScheme = "bearer";
// The first word of the `authorization` metadata of a call.
inline constexpr absl::string_view kAuthorizationWord = "Sagewai-HMAC-SHA256";
inline constexpr size_t kServerNonceSize = 32;
inline constexpr size_t kClientNonceSize = 32;  // what our clients send
inline constexpr size_t kMinClientNonceSize = 16;
inline constexpr size_t kMaxClientNonceSize = 64;
// Sequence numbers start at 1; the largest fits a signed 64-bit integer so
// that every client language can count to it.
inline constexpr uint64_t kMaxSeq = 9223372036854775807ULL;

using Digest = HmacSha256::Digest;

// K, 32 bytes, wiped when destroyed.
class SessionKey {
 public:
  SessionKey() = default;
  explicit SessionKey(const Digest& bytes) : bytes_(bytes) {}
  SessionKey(const SessionKey&) = default;
  SessionKey& operator=(const SessionKey&) = default;
  ~SessionKey();

  absl::string_view view() const {
    return absl::string_view(reinterpret_cast<const char*>(bytes_.data()), bytes_.size());
  }

 private:
  Digest bytes_{};
};

// K = HMAC-SHA256(key = token, "sagewai-sandbox-v1 key").
SessionKey DeriveSessionKey(absl::string_view token);

// HMAC-SHA256(K, "sagewai-sandbox-v1 server\n" || client_nonce || server_nonce).
Digest ServerProof(const SessionKey& key, absl::string_view client_nonce,
                   absl::string_view server_nonce);

// HMAC-SHA256(K, "sagewai-sandbox-v1 call\n" || server_nonce || "\n" ||
// decimal seq || "\n" || method), method the full path
// ("/sagewai.sandbox.v1.Bash/Run").
Digest CallMac(const SessionKey& key, absl::string_view server_nonce, uint64_t seq,
               absl::string_view method);

// HMAC-SHA256(K, "bearer" || token): what a runner started with
// --allow-bearer keeps instead of the token itself.
Digest BearerDigest(const SessionKey& key, absl::string_view token);

struct Authorization {
  std::string nonce;  // the raw server nonce (kServerNonceSize bytes)
  uint64_t seq = 0;
  Digest mac{};
};

// "Sagewai-HMAC-SHA256 nonce=<64 hex>, seq=<n>, mac=<64 hex>".
std::string FormatAuthorization(absl::string_view server_nonce, uint64_t seq, const Digest& mac);

// The strict inverse of FormatAuthorization: exactly those three fields in
// that order, separated by ", ", lowercase hex of the exact lengths, seq in
// decimal without leading zeros from 1 to kMaxSeq. InvalidArgument names
// what is wrong and never quotes the value.
absl::StatusOr<Authorization> ParseAuthorization(absl::string_view header);

// Lowercase hex of raw bytes, and back (nullopt-like error on anything else).
std::string ToHex(absl::string_view bytes);
bool FromHex(absl::string_view hex, std::string* bytes);

// Compares in time that depends only on the lengths, never on where the
// first difference is.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);
bool ConstantTimeEquals(const Digest& a, const Digest& b);

// Overwrites memory in a way the compiler may not drop.
void SecureWipe(void* data, size_t size);
// Wipes the whole capacity of `s`, then clears it.
void SecureWipe(std::string* s);

// `size` bytes from getrandom(2); Internal naming the errno on failure.
absl::StatusOr<std::string> RandomBytes(size_t size);

}  // namespace sagewai::session_auth

#endif  // SAGEWAI_COMMON_SESSION_AUTH_H_
