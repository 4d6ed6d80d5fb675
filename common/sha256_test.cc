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

TEST(Sha256Test, MoreKnownAnswers) {
  EXPECT_EQ(Sha256Hex("The quick brown fox jumps over the lazy dog"),
            "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592");
  // 4 MiB of a fixed pattern in 1 MiB updates, as a streamed write hashes
  // (the digest is from an independent implementation, Python's hashlib).
  std::string data(size_t{4} << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 131 + (i >> 12));
  Sha256 h;
  for (size_t off = 0; off < data.size(); off += size_t{1} << 20) {
    h.Update(absl::string_view(data).substr(off, size_t{1} << 20));
  }
  EXPECT_EQ(h.FinishHex(), "d618a494404f87ed996c7fb48be8bdf28325d10cc78c7f4cf0eaa141dd2f5505");
}

TEST(Sha256Test, CopiesAreIndependent) {
  Sha256 a;
  a.Update("ab");
  Sha256 b = a;
  a.Update("c");
  b.Update("x");
  EXPECT_EQ(a.FinishHex(), Sha256Hex("abc"));
  EXPECT_EQ(b.FinishHex(), Sha256Hex("abx"));
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
