#include "common/sha256.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but
// EVP pulls the provider machinery into a static binary (+3.6 MB measured);
// these pull only the SHA-256 code and the CPU dispatch.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <cstring>
#include <new>

namespace sagewai {
namespace {

static_assert(sizeof(SHA256_CTX) <= sizeof(Sha256) && alignof(SHA256_CTX) <= 8);

SHA256_CTX* Ctx(unsigned char* storage) {
  return std::launder(reinterpret_cast<SHA256_CTX*>(storage));
}

}  // namespace

Sha256::Sha256() { SHA256_Init(new (ctx_) SHA256_CTX); }

void Sha256::Update(const void* data, size_t size) { SHA256_Update(Ctx(ctx_), data, size); }

Sha256::Digest Sha256::Finish() {
  Digest out;
  SHA256_Final(out.data(), Ctx(ctx_));
  return out;
}

std::string Sha256::FinishHex() { return HexDigest(Finish()); }

std::string HexDigest(const Sha256::Digest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(64, '0');
  for (size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

std::string Sha256Hex(absl::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.FinishHex();
}

}  // namespace sagewai
