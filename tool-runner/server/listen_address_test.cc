#include "tool-runner/server/listen_address.h"

#include <gtest/gtest.h>

namespace sagewai {
namespace {

TEST(ListenAddressTest, ParsesUnixForms) {
  for (const char* text : {"unix:///run/x.sock", "unix:/run/x.sock", "/run/x.sock"}) {
    auto a = ParseListenAddress(text);
    ASSERT_TRUE(a.ok()) << text << ": " << a.status();
    EXPECT_EQ(a->kind, ListenAddress::Kind::kUnix);
    EXPECT_EQ(a->path, "/run/x.sock");
    EXPECT_EQ(a->GrpcTarget(), "unix:///run/x.sock");
  }
}

TEST(ListenAddressTest, ParsesTcpForms) {
  auto a = ParseListenAddress("tcp://0.0.0.0:50051");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 50051);
  EXPECT_EQ(a->GrpcTarget(), "0.0.0.0:50051");
  auto v6 = ParseListenAddress("tcp://[::1]:7");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->GrpcTarget(), "[::1]:7");
  EXPECT_EQ(v6->ToString(), "tcp://[::1]:7");
}

TEST(ListenAddressTest, RejectsBadInput) {
  for (const char* text : {"", "http://x:1", "unix://relative.sock", "tcp://host", "tcp://:80",
                           "tcp://h:99999", "tcp://h:x", "tcp://[::1:80"}) {
    auto a = ParseListenAddress(text);
    EXPECT_FALSE(a.ok()) << text;
    if (!a.ok()) EXPECT_NE(a.status().message().find("unix:///"), std::string::npos);
  }
  EXPECT_FALSE(ParseListenAddress("unix:///" + std::string(200, 'a')).ok());
}

}  // namespace
}  // namespace sagewai
