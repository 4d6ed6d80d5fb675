#include "common/address.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace sagewai {
namespace {

using ::testing::HasSubstr;

constexpr AddressForms kStrict{};
constexpr AddressForms kHost{/*relative_unix=*/true, /*bare_host_port=*/true,
                             /*port_zero=*/false};

TEST(SocketAddressTest, UnixFormsEverySideTakes) {
  for (const char* text :
       {"unix:///run/x.sock", "unix:/run/x.sock", "/run/x.sock", " /run/x.sock\n"}) {
    for (const AddressForms& forms : {kStrict, kHost}) {
      absl::StatusOr<SocketAddress> a = ParseSocketAddress(text, forms);
      ASSERT_TRUE(a.ok()) << text << ": " << a.status();
      EXPECT_EQ(a->kind, SocketAddress::Kind::kUnix);
      EXPECT_EQ(a->path, "/run/x.sock");
      EXPECT_EQ(a->ToString(), "unix:///run/x.sock");
    }
  }
}

TEST(SocketAddressTest, RelativeUnixPathsOnlyWhenAsked) {
  for (const char* text : {"unix:run/x.sock", "./x.sock"}) {
    EXPECT_FALSE(ParseSocketAddress(text, kStrict).ok()) << text;
    absl::StatusOr<SocketAddress> a = ParseSocketAddress(text, kHost);
    ASSERT_TRUE(a.ok()) << text << ": " << a.status();
    EXPECT_EQ(a->kind, SocketAddress::Kind::kUnix);
  }
  EXPECT_EQ(ParseSocketAddress("unix:run/x.sock", kHost)->ToString(), "unix:run/x.sock");
  EXPECT_THAT(std::string(ParseSocketAddress("unix:run/x.sock", kStrict).status().message()),
              HasSubstr("must be absolute"));
}

TEST(SocketAddressTest, TcpForms) {
  absl::StatusOr<SocketAddress> a = ParseSocketAddress("tcp://127.0.0.1:50051/", kStrict);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->kind, SocketAddress::Kind::kTcp);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 50051);
  EXPECT_EQ(a->ToString(), "tcp://127.0.0.1:50051");
  absl::StatusOr<SocketAddress> v6 = ParseSocketAddress("tcp://[::1]:7", kStrict);
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->ToString(), "tcp://[::1]:7");
  EXPECT_FALSE(ParseSocketAddress("h:7", kStrict).ok());
  EXPECT_EQ(ParseSocketAddress("h:7", kHost)->ToString(), "tcp://h:7");
  EXPECT_EQ(ParseSocketAddress("[::1]:7", kHost)->host, "::1");
}

TEST(SocketAddressTest, PortZeroOnlyWhenAsked) {
  AddressForms listen;
  listen.port_zero = true;
  EXPECT_EQ(ParseSocketAddress("tcp://0.0.0.0:0", listen)->port, 0);
  absl::StatusOr<SocketAddress> zero = ParseSocketAddress("tcp://h:0", kStrict);
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.status().message(), "\"0\" is not a port (1-65535)");
}

// Found by tests/fuzz/address_fuzz: "/a\0b" parsed as a path that a socket
// would bind as "/a".
TEST(SocketAddressTest, NulBytesAreRefused) {
  using namespace std::string_literals;
  for (const std::string& text :
       {"unix:///run/a\0b.sock"s, "/run/a\0"s, "unix:rel\0x"s, "tcp://h\0x:80"s, "h\0:80"s}) {
    absl::StatusOr<SocketAddress> a = ParseSocketAddress(text, kHost);
    ASSERT_FALSE(a.ok()) << text;
    EXPECT_THAT(a.status().message(), HasSubstr("NUL byte"));
  }
}

// Found by tests/fuzz/address_fuzz: "tcp://[[]:5" parsed to host "[",
// printed as "tcp://[:5", which does not parse.
TEST(SocketAddressTest, BracketsInsideTheHostAreRefused) {
  for (const char* text : {"tcp://[[]:5", "tcp://a]:80", "tcp://[a[b]:80", "x[y:80"}) {
    absl::StatusOr<SocketAddress> a = ParseSocketAddress(text, kHost);
    ASSERT_FALSE(a.ok()) << text;
    EXPECT_THAT(a.status().message(), HasSubstr("inside the host")) << text;
  }
}

TEST(SocketAddressTest, ReasonsSayWhatIsWrong) {
  const struct {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "it is empty"},
      {"unix://", "unix:// takes an absolute path"},
      {"unix://relative.sock", "unix:// takes an absolute path"},
      {"unix:", "the socket path is empty"},
      {"http://h:80", "unsupported scheme"},
      {"tcp://h", "missing :port"},
      {"tcp://[::1]80", "missing :port"},
      {"tcp://[::1:80", "missing ']'"},
      {"tcp://::1:80", "in brackets"},
      {"tcp://:80", "the host is empty"},
      {"tcp://h:+80", "is not a port"},
      {"tcp://h:80x", "is not a port"},
      {"tcp://h:65536", "is not a port"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<SocketAddress> a = ParseSocketAddress(c.text, kHost);
    ASSERT_FALSE(a.ok()) << c.text;
    EXPECT_TRUE(absl::IsInvalidArgument(a.status())) << c.text;
    EXPECT_THAT(std::string(a.status().message()), HasSubstr(c.reason)) << c.text;
  }
  EXPECT_THAT(
      std::string(
          ParseSocketAddress("unix:///" + std::string(200, 'x'), kStrict).status().message()),
      HasSubstr("at most 107"));
  EXPECT_TRUE(ParseSocketAddress("/" + std::string(106, 'x'), kStrict).ok());
}

}  // namespace
}  // namespace sagewai
