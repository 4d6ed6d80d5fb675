#include "common/hmac_sha256.h"

#include <gtest/gtest.h>

#include <string>

namespace sagewai {
namespace {

std::string Hex(absl::string_view key, absl::string_view data) {
  return HexDigest(HmacSha256Digest(key, data));
}

// RFC 4231, test cases 1-4, 6 and 7 (5 truncates the output).
TEST(HmacSha256Test, Rfc4231Vectors) {
  EXPECT_EQ(Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hex(std::string(20, '\xaa'), std::string(50, '\xdd')),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  std::string key4;
  for (char c = 1; c <= 25; ++c) key4.push_back(c);
  EXPECT_EQ(Hex(key4, std::string(50, '\xcd')),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  const std::string long_key(131, '\xaa');
  EXPECT_EQ(Hex(long_key, "Test Using Larger Than Block-Size Key - Hash Key First"),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(Hex(long_key,
                "This is a test using a larger than block-size key and a larger than block-size "
                "data. The key needs to be hashed before being used by the HMAC algorithm."),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(HmacSha256Test, PiecewiseUpdatesMatchOneShot) {
  const std::string data(300, 'q');
  HmacSha256 mac("k");
  for (size_t off = 0; off < data.size(); off += 7) {
    mac.Update(absl::string_view(data).substr(off, 7));
  }
  EXPECT_EQ(HexDigest(mac.Finish()), Hex("k", data));
}

TEST(HmacSha256Test, KeyOfExactlyOneBlockIsNotHashed) {
  // 64 bytes are used as they are; 65 are hashed first: the two must differ.
  EXPECT_NE(Hex(std::string(64, 'k'), "m"), Hex(std::string(65, 'k'), "m"));
  EXPECT_NE(Hex(std::string(64, 'k'), "m"), Hex(std::string(63, 'k'), "m"));
}

}  // namespace
}  // namespace sagewai
