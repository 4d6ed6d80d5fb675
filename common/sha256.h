// SHA-256 (FIPS 180-4) for the Filesystem service's write checksums, the
// CLI's end-to-end check and HMAC-SHA256 (common/hmac_sha256.h), over
// libcrypto's SHA256_* (SHA-NI, AVX2 and ARMv8 code paths; measured faster than
// a hand-written SHA-NI loop and ~5x faster than portable code). Not
// thread-safe per object; objects are independent and copyable.
#ifndef SAGEWAI_COMMON_SHA256_H_
#define SAGEWAI_COMMON_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace sagewai {

class Sha256 {
 public:
  using Digest = std::array<uint8_t, 32>;

  Sha256();
  void Update(const void* data, size_t size);
  void Update(absl::string_view data) { Update(data.data(), data.size()); }
  // Ends the hash; the object must not be updated afterwards.
  Digest Finish();
  // Finish() as 64 lower-case hex digits.
  std::string FinishHex();

 private:
  // libcrypto's SHA256_CTX (plain data), kept opaque so that includers do not
  // see OpenSSL's headers.
  alignas(8) unsigned char ctx_[112];
};

std::string Sha256Hex(absl::string_view data);
std::string HexDigest(const Sha256::Digest& digest);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_SHA256_H_
