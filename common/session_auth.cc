#include "common/session_auth.h"

#include <string.h>
#include <sys/random.h>

#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/errno_status.h"

namespace sagewai::session_auth {
namespace {

constexpr absl::string_view kKeyLabel = "sagewai-sandbox-v1 key";
constexpr absl::string_view kServerLabel = "sagewai-sandbox-v1 server\n";
constexpr absl::string_view kCallLabel = "sagewai-sandbox-v1 call\n";
constexpr absl::string_view kBearerLabel = "bearer";
constexpr size_t kMacHexSize = 2 * sizeof(Digest);
constexpr size_t kNonceHexSize = 2 * kServerNonceSize;
constexpr size_t kMaxSeqDigits = 19;
// Longer than any well-formed header; bounds the work done on garbage.
constexpr size_t kMaxHeaderSize = 256;

constexpr char kHexDigits[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed authorization (", why, "): expected \"", kAuthorizationWord,
                   " nonce=<64 hex digits>, seq=<decimal>, mac=<64 hex digits>\""));
}

// Takes `name=` and the value up to `end` (or the rest when `end` is empty).
bool TakeField(absl::string_view* rest, absl::string_view name, absl::string_view end,
               absl::string_view* value) {
  if (!absl::ConsumePrefix(rest, name)) return false;
  if (end.empty()) {
    *value = *rest;
    *rest = {};
    return true;
  }
  const size_t at = rest->find(end);
  if (at == absl::string_view::npos) return false;
  *value = rest->substr(0, at);
  rest->remove_prefix(at + end.size());
  return true;
}

absl::string_view Bytes(const Digest& d) {
  return absl::string_view(reinterpret_cast<const char*>(d.data()), d.size());
}

}  // namespace

SessionKey::~SessionKey() { SecureWipe(bytes_.data(), bytes_.size()); }

SessionKey DeriveSessionKey(absl::string_view token) {
  return SessionKey(HmacSha256Digest(token, kKeyLabel));
}

Digest ServerProof(const SessionKey& key, absl::string_view client_nonce,
                   absl::string_view server_nonce) {
  HmacSha256 mac(key.view());
  mac.Update(kServerLabel);
  mac.Update(client_nonce);
  mac.Update(server_nonce);
  return mac.Finish();
}

Digest CallMac(const SessionKey& key, absl::string_view server_nonce, uint64_t seq,
               absl::string_view method) {
  HmacSha256 mac(key.view());
  mac.Update(kCallLabel);
  mac.Update(server_nonce);
  mac.Update("\n");
  mac.Update(absl::StrCat(seq));
  mac.Update("\n");
  mac.Update(method);
  return mac.Finish();
}

Digest BearerDigest(const SessionKey& key, absl::string_view token) {
  HmacSha256 mac(key.view());
  mac.Update(kBearerLabel);
  mac.Update(token);
  return mac.Finish();
}

std::string FormatAuthorization(absl::string_view server_nonce, uint64_t seq, const Digest& mac) {
  return absl::StrCat(kAuthorizationWord, " nonce=", ToHex(server_nonce), ", seq=", seq,
                      ", mac=", ToHex(Bytes(mac)));
}

absl::StatusOr<Authorization> ParseAuthorization(absl::string_view header) {
  if (header.size() > kMaxHeaderSize) return Malformed("longer than any valid header");
  absl::string_view rest = header;
  if (!absl::ConsumePrefix(&rest, kAuthorizationWord) || !absl::ConsumePrefix(&rest, " ")) {
    return Malformed(absl::StrCat("it does not start with \"", kAuthorizationWord, " \""));
  }
  absl::string_view nonce_hex, seq_text, mac_hex;
  if (!TakeField(&rest, "nonce=", ", ", &nonce_hex)) return Malformed("no nonce= field first");
  if (!TakeField(&rest, "seq=", ", ", &seq_text)) return Malformed("no seq= field second");
  if (!TakeField(&rest, "mac=", "", &mac_hex)) return Malformed("no mac= field third");

  Authorization out;
  if (nonce_hex.size() != kNonceHexSize || !FromHex(nonce_hex, &out.nonce)) {
    return Malformed("the nonce is not 64 lowercase hex digits");
  }
  if (seq_text.empty() || seq_text.size() > kMaxSeqDigits || seq_text[0] == '0') {
    return Malformed("seq is not a decimal number from 1 without leading zeros");
  }
  uint64_t seq = 0;
  for (char c : seq_text) {
    if (c < '0' || c > '9') return Malformed("seq is not a decimal number");
    seq = seq * 10 + static_cast<uint64_t>(c - '0');  // 19 digits cannot overflow uint64
  }
  if (seq > kMaxSeq) return Malformed("seq is larger than 9223372036854775807");
  out.seq = seq;
  std::string mac;
  if (mac_hex.size() != kMacHexSize || !FromHex(mac_hex, &mac)) {
    return Malformed("the mac is not 64 lowercase hex digits");
  }
  std::memcpy(out.mac.data(), mac.data(), out.mac.size());
  return out;
}

std::string ToHex(absl::string_view bytes) {
  std::string out(2 * bytes.size(), '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHexDigits[b >> 4];
    out[2 * i + 1] = kHexDigits[b & 15];
  }
  return out;
}

bool FromHex(absl::string_view hex, std::string* bytes) {
  if (hex.size() % 2 != 0) return false;
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    const int hi = HexValue(hex[2 * i]);
    const int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  *bytes = std::move(out);
  return true;
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = a.size() < b.size() ? a.size() : b.size();
  for (size_t i = 0; i < n; ++i) {
    diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

bool ConstantTimeEquals(const Digest& a, const Digest& b) {
  return ConstantTimeEquals(Bytes(a), Bytes(b));
}

void SecureWipe(void* data, size_t size) {
  if (size > 0) explicit_bzero(data, size);
}

void SecureWipe(std::string* s) {
  // The bytes beyond size() may hold an older, longer value.
  s->resize(s->capacity());
  SecureWipe(s->data(), s->size());
  s->clear();
}

absl::StatusOr<std::string> RandomBytes(size_t size) {
  std::string out(size, '\0');
  size_t got = 0;
  while (got < size) {
    const ssize_t n = getrandom(out.data() + got, size - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("getrandom");
    got += static_cast<size_t>(n);
  }
  return out;
}

}  // namespace sagewai::session_auth
