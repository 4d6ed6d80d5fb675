// HMAC-SHA256 (RFC 2104 over FIPS 180-4 SHA-256) for the session
// authentication: the key derived from the session token, the runner's proof
// and the per-call MACs. Not thread-safe per object; objects are independent.
#ifndef SAGEWAI_COMMON_HMAC_SHA256_H_
#define SAGEWAI_COMMON_HMAC_SHA256_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "common/sha256.h"

namespace sagewai {

class HmacSha256 {
 public:
  using Digest = Sha256::Digest;

  explicit HmacSha256(absl::string_view key);
  // Wipes the key material it holds.
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;

  void Update(const void* data, size_t size) { inner_.Update(data, size); }
  void Update(absl::string_view data) { inner_.Update(data); }
  // Ends the MAC; the object must not be updated afterwards.
  Digest Finish();

 private:
  Sha256 inner_;
  uint8_t outer_key_[64];  // the block-sized key XOR opad
};

HmacSha256::Digest HmacSha256Digest(absl::string_view key, absl::string_view data);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_HMAC_SHA256_H_
