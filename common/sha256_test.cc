#include "common/sha256.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace sagewai {
namespace {

TEST(Sha256Test, StandardVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                      "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, PaddingBoundaries) {
  // Lengths around the 56- and 64-byte edges of the padding rule.
  for (size_t len : {55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u}) {
    std::string data(len, 'x');
    Sha256 whole;
    whole.Update(data);
    Sha256 bytewise;
    for (char c : data) bytewise.Update(&c, 1);
    EXPECT_EQ(whole.FinishHex(), bytewise.FinishHex()) << len;
  }
  EXPECT_EQ(Sha256Hex(std::string(64, 'a')),
            "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
  EXPECT_EQ(Sha256Hex(std::string(55, 'a')),
            "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
}

TEST(Sha256Test, AcceleratedMatchesPortableOnRandomData) {
  if (!Sha256::Accelerated()) GTEST_SKIP() << "this CPU has no SHA extensions";
  std::mt19937 rng(42);
  std::string data(64 * 1024, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t blocks : {1u, 2u, 7u, 1024u}) {
    uint32_t a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint32_t b[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    internal::Sha256BlocksPortable(a, reinterpret_cast<const uint8_t*>(data.data()), blocks);
    internal::Sha256BlocksShaNi(b, reinterpret_cast<const uint8_t*>(data.data()), blocks);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(a[i], b[i]) << "blocks=" << blocks << " word " << i;
  }
}

TEST(Sha256Test, ChunkingDoesNotMatter) {
  std::mt19937 rng(7);
  std::string data(300000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  const std::string want = Sha256Hex(data);
  for (size_t chunk : {1u, 3u, 63u, 64u, 65u, 4096u, 100001u}) {
    Sha256 h;
    for (size_t off = 0; off < data.size(); off += chunk) {
      h.Update(absl::string_view(data).substr(off, chunk));
    }
    EXPECT_EQ(h.FinishHex(), want) << chunk;
  }
}

}  // namespace
}  // namespace sagewai
