// SHA-256 (FIPS 180-4) for the Filesystem service's write checksums, the
// CLI's end-to-end check and HMAC-SHA256 (common/hmac_sha256.h). Uses the
// x86 SHA extensions when the CPU has them (about 2 GB/s, so hashing does
// not slow a 1 GiB write down), else portable code. Not thread-safe per object; objects are
// independent.
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

  // Whether the SHA extensions are in use (for tests and logs).
  static bool Accelerated();

 private:
  void Blocks(const uint8_t* data, size_t blocks);

  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_ = 0;
};

std::string Sha256Hex(absl::string_view data);
std::string HexDigest(const Sha256::Digest& digest);

namespace internal {
// Both block functions, exposed so the tests can compare them.
void Sha256BlocksPortable(uint32_t state[8], const uint8_t* data, size_t blocks);
// Requires Sha256::Accelerated().
void Sha256BlocksShaNi(uint32_t state[8], const uint8_t* data, size_t blocks);
}  // namespace internal

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_SHA256_H_
