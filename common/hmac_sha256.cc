#include "common/hmac_sha256.h"

#include <string.h>

#include <cstring>

namespace sagewai {

HmacSha256::HmacSha256(absl::string_view key) {
  uint8_t block[64] = {};
  if (key.size() > sizeof block) {
    Sha256 hashed;
    hashed.Update(key);
    const Sha256::Digest d = hashed.Finish();
    std::memcpy(block, d.data(), d.size());
  } else {
    std::memcpy(block, key.data(), key.size());
  }
  uint8_t inner_key[64];
  for (size_t i = 0; i < sizeof block; ++i) {
    inner_key[i] = block[i] ^ 0x36;
    outer_key_[i] = block[i] ^ 0x5c;
  }
  inner_.Update(inner_key, sizeof inner_key);
  explicit_bzero(inner_key, sizeof inner_key);
  explicit_bzero(block, sizeof block);
}

HmacSha256::~HmacSha256() { explicit_bzero(outer_key_, sizeof outer_key_); }

HmacSha256::Digest HmacSha256::Finish() {
  const Digest inner = inner_.Finish();
  Sha256 outer;
  outer.Update(outer_key_, sizeof outer_key_);
  outer.Update(inner.data(), inner.size());
  return outer.Finish();
}

HmacSha256::Digest HmacSha256Digest(absl::string_view key, absl::string_view data) {
  HmacSha256 mac(key);
  mac.Update(data);
  return mac.Finish();
}

}  // namespace sagewai
