#include "common/session_auth.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "absl/strings/str_cat.h"

namespace sagewai::session_auth {
namespace {

// Pinned once with Python's hmac module (the same bytes
// clients/python/sagewai_sandbox_auth.py must produce):
//   K = hmac.new(b"test-token-0123456789", b"sagewai-sandbox-v1 key", sha256)
constexpr char kToken[] = "test-token-0123456789";
constexpr char kKeyHex[] = "64b8604497415765c637e0280549a6edd9d9b80e6a770614b49db1fcffb75785";
constexpr char kProofHex[] = "25585ffe96b3ce83d8cadc4a0c31d2a65c9dbfe192632dacd49ea990e3003fba";
constexpr char kNonceHex[] = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";

std::string ClientNonce() {
  std::string n;
  for (int i = 0; i < 32; ++i) n.push_back(static_cast<char>(i));
  return n;
}

std::string ServerNonce() {
  std::string n;
  for (int i = 0x80; i < 0xa0; ++i) n.push_back(static_cast<char>(i));
  return n;
}

std::string DigestHex(const Digest& d) { return HexDigest(d); }

TEST(SessionAuthTest, PinnedVectors) {
  const SessionKey key = DeriveSessionKey(kToken);
  EXPECT_EQ(ToHex(key.view()), kKeyHex);
  EXPECT_EQ(DigestHex(ServerProof(key, ClientNonce(), ServerNonce())), kProofHex);
  EXPECT_EQ(ToHex(ServerNonce()), kNonceHex);
  EXPECT_EQ(FormatAuthorization(ServerNonce(), 1,
                                CallMac(key, ServerNonce(), 1, "/sagewai.sandbox.v1.Bash/Run")),
            absl::StrCat(
                "Sagewai-HMAC-SHA256 nonce=", kNonceHex,
                ", seq=1, mac=659aaa087cd7f6ba5fdf8a35b78e307441356f0e4fa8ea8caa48fda44d89bd6c"));
  EXPECT_EQ(DigestHex(CallMac(key, ServerNonce(), 2, "/sagewai.sandbox.v1.Filesystem/Write")),
            "55b63d4a26d89ff43438ee3e91bd835a7b5f5ff80391e5663455975d96acc5c0");
  EXPECT_EQ(DigestHex(CallMac(key, ServerNonce(), kMaxSeq, "/sagewai.sandbox.v1.Runner/GetInfo")),
            "0bfc95b8c634a1d7b01612f3edfa9c2b3304e0b944bd99b3839ade489cf79083");
}

TEST(SessionAuthTest, EveryInputChangesTheMac) {
  const SessionKey key = DeriveSessionKey(kToken);
  const SessionKey other = DeriveSessionKey("test-token-0123456788");
  std::set<std::string> macs = {
      DigestHex(CallMac(key, ServerNonce(), 1, "/a/B")),
      DigestHex(CallMac(other, ServerNonce(), 1, "/a/B")),
      DigestHex(CallMac(key, ClientNonce(), 1, "/a/B")),
      DigestHex(CallMac(key, ServerNonce(), 2, "/a/B")),
      DigestHex(CallMac(key, ServerNonce(), 1, "/a/C")),
      // The separators keep "1" + "1/a/B" apart from "11" + "/a/B".
      DigestHex(CallMac(key, ServerNonce(), 11, "/a/B")),
  };
  EXPECT_EQ(macs.size(), 6u);
  EXPECT_NE(DigestHex(BearerDigest(key, kToken)), DigestHex(BearerDigest(key, "x")));
}

TEST(SessionAuthTest, ParseRoundTrips) {
  const SessionKey key = DeriveSessionKey(kToken);
  const Digest mac = CallMac(key, ServerNonce(), 42, "/x/Y");
  absl::StatusOr<Authorization> a = ParseAuthorization(FormatAuthorization(ServerNonce(), 42, mac));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->nonce, ServerNonce());
  EXPECT_EQ(a->seq, 42u);
  EXPECT_TRUE(ConstantTimeEquals(a->mac, mac));
  absl::StatusOr<Authorization> max =
      ParseAuthorization(FormatAuthorization(ServerNonce(), kMaxSeq, mac));
  ASSERT_TRUE(max.ok()) << max.status();
  EXPECT_EQ(max->seq, kMaxSeq);
}

TEST(SessionAuthTest, ParseIsStrict) {
  const std::string nonce = kNonceHex;
  const std::string mac(64, 'a');
  auto header = [&](const std::string& n, const std::string& seq, const std::string& m) {
    return absl::StrCat("Sagewai-HMAC-SHA256 nonce=", n, ", seq=", seq, ", mac=", m);
  };
  ASSERT_TRUE(ParseAuthorization(header(nonce, "7", mac)).ok());
  const std::string upper_nonce =
      "80818283848586878889"
      "8A" +
      nonce.substr(22);
  for (const std::string& bad : {
           std::string(""),
           std::string("Bearer x"),
           std::string("sagewai-hmac-sha256 nonce=") + nonce + ", seq=1, mac=" + mac,
           header(nonce, "0", mac),
           header(nonce, "01", mac),
           header(nonce, "-1", mac),
           header(nonce, "+1", mac),
           header(nonce, "1 ", mac),
           header(nonce, "", mac),
           header(nonce, "9223372036854775808", mac),
           header(nonce, "99999999999999999999", mac),
           header(nonce.substr(2), "1", mac),
           header(nonce + "00", "1", mac),
           header(upper_nonce, "1", mac),
           header(nonce, "1", mac.substr(1)),
           header(nonce, "1", mac + "0"),
           header(nonce, "1", std::string(64, 'g')),
           header(nonce, "1", std::string(64, 'A')),
           header(nonce, "1", mac) + ",",
           header(nonce, "1", mac) + " ",
           absl::StrCat("Sagewai-HMAC-SHA256 seq=1, nonce=", nonce, ", mac=", mac),
           absl::StrCat("Sagewai-HMAC-SHA256 nonce=", nonce, ",seq=1, mac=", mac),
           absl::StrCat("Sagewai-HMAC-SHA256  nonce=", nonce, ", seq=1, mac=", mac),
           absl::StrCat("Sagewai-HMAC-SHA256 nonce=", nonce, ", seq=1, mac=", mac, ", x=1"),
           header(nonce, "1", mac) + std::string(300, 'a'),
       }) {
    absl::StatusOr<Authorization> a = ParseAuthorization(bad);
    EXPECT_FALSE(a.ok()) << bad;
    if (!a.ok()) {
      EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(a.status().message().find("malformed authorization"), absl::string_view::npos);
      if (bad.size() > 20) {
        EXPECT_EQ(a.status().message().find(nonce), absl::string_view::npos)
            << "the error must not quote what was sent";
      }
    }
  }
}

TEST(SessionAuthTest, HexRoundTripAndRejects) {
  std::string bytes;
  ASSERT_TRUE(FromHex("00ff7a", &bytes));
  EXPECT_EQ(bytes, std::string("\x00\xff\x7a", 3));
  EXPECT_EQ(ToHex(bytes), "00ff7a");
  EXPECT_FALSE(FromHex("0", &bytes));
  EXPECT_FALSE(FromHex("FF", &bytes));
  EXPECT_FALSE(FromHex("0x", &bytes));
}

TEST(SessionAuthTest, ConstantTimeEqualsComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("token-123", "token-123"));
  EXPECT_FALSE(ConstantTimeEquals("token-123", "token-124"));
  EXPECT_FALSE(ConstantTimeEquals("token", "token-123"));
  EXPECT_FALSE(ConstantTimeEquals("token-123", "token"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
}

TEST(SessionAuthTest, SecureWipeClearsTheWholeBuffer) {
  std::string s(100, 's');
  s.resize(3);
  const char* data = s.data();
  SecureWipe(&s);
  EXPECT_TRUE(s.empty());
  EXPECT_EQ(s.data(), data) << "the buffer must be wiped in place, not reallocated";
  for (size_t i = 0; i < 100; ++i) EXPECT_EQ(data[i], '\0') << i;
}

TEST(SessionAuthTest, RandomBytesAreFreshEachTime) {
  absl::StatusOr<std::string> a = RandomBytes(32);
  absl::StatusOr<std::string> b = RandomBytes(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
}

}  // namespace
}  // namespace sagewai::session_auth
