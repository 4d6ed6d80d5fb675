#include "common/secret_handoff.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace sagewai {
namespace {

using ::testing::HasSubstr;

ControlPlaneSecrets Sample() {
  ControlPlaneSecrets s;
  s.session_token = "tok=with=equals and spaces\nand a newline";
  s.control_plane_url = "http://host.docker.internal:8090";
  s.session_id = "dev-session";
  return s;
}

void ExpectSame(const ControlPlaneSecrets& a, const ControlPlaneSecrets& b) {
  EXPECT_EQ(a.session_token, b.session_token);
  EXPECT_EQ(a.control_plane_url, b.control_plane_url);
  EXPECT_EQ(a.session_id, b.session_id);
}

class TakeInheritedSecretsTest : public ::testing::Test {
 protected:
  void TearDown() override { unsetenv(kSecretsFdEnv); }
};

TEST_F(TakeInheritedSecretsTest, RoundTripThroughAnInheritableFd) {
  absl::StatusOr<UniqueFd> fd = SealSecrets(Sample());
  ASSERT_TRUE(fd.ok()) << fd.status();
  const int raw = fd->get();
  // Inheritable across exec.
  EXPECT_EQ(fcntl(raw, F_GETFD) & FD_CLOEXEC, 0);
  // Sealed: nobody can change what the child will read.
  EXPECT_EQ(write(raw, "x", 1), -1);
  EXPECT_EQ(errno, EPERM);

  ASSERT_EQ(setenv(kSecretsFdEnv, std::to_string(fd->release()).c_str(), 1), 0);
  absl::StatusOr<ControlPlaneSecrets> got = TakeInheritedSecrets();
  ASSERT_TRUE(got.ok()) << got.status();
  ExpectSame(*got, Sample());
  EXPECT_EQ(getenv(kSecretsFdEnv), nullptr);
  EXPECT_EQ(fcntl(raw, F_GETFD), -1) << "the fd was not closed";
  EXPECT_EQ(errno, EBADF);
}

TEST_F(TakeInheritedSecretsTest, NoVariableGivesEmptySecrets) {
  unsetenv(kSecretsFdEnv);
  absl::StatusOr<ControlPlaneSecrets> got = TakeInheritedSecrets();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->empty());
}

TEST_F(TakeInheritedSecretsTest, BadFdNumberIsAnError) {
  for (const char* bad : {"", "abc", "-1", "1", "2", "3x"}) {
    setenv(kSecretsFdEnv, bad, 1);
    absl::StatusOr<ControlPlaneSecrets> got = TakeInheritedSecrets();
    EXPECT_FALSE(got.ok()) << bad;
    EXPECT_EQ(getenv(kSecretsFdEnv), nullptr) << bad;
  }
}

TEST_F(TakeInheritedSecretsTest, ClosedFdIsAnError) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  close(fds[0]);
  close(fds[1]);
  setenv(kSecretsFdEnv, std::to_string(fds[0]).c_str(), 1);
  absl::StatusOr<ControlPlaneSecrets> got = TakeInheritedSecrets();
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), HasSubstr("not inherited"));
}

TEST_F(TakeInheritedSecretsTest, BadPayloadIsAnErrorAndTheFdIsClosed) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], "SESSION_TOKEN=x\n", 16), 16);
  close(fds[1]);
  setenv(kSecretsFdEnv, std::to_string(fds[0]).c_str(), 1);
  absl::StatusOr<ControlPlaneSecrets> got = TakeInheritedSecrets();
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(), HasSubstr("bad header"));
  EXPECT_EQ(fcntl(fds[0], F_GETFD), -1);
}

TEST(SecretsFdTest, PipeAndMemfdReadTheSame) {
  std::string error;
  const int fd = CreateSecretsFd(Sample(), &error);
  ASSERT_GE(fd, 0) << error;
  ControlPlaneSecrets first, second;
  ASSERT_TRUE(ReadSecretsFd(fd, &first, &error)) << error;
  // A memfd is read from offset 0, so a second read gives the same.
  ASSERT_TRUE(ReadSecretsFd(fd, &second, &error)) << error;
  close(fd);
  ExpectSame(first, Sample());
  ExpectSame(second, Sample());

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string payload = EncodeSecrets(Sample());
  ASSERT_EQ(write(fds[1], payload.data(), payload.size()), static_cast<ssize_t>(payload.size()));
  close(fds[1]);
  ControlPlaneSecrets from_pipe;
  ASSERT_TRUE(ReadSecretsFd(fds[0], &from_pipe, &error)) << error;
  close(fds[0]);
  ExpectSame(from_pipe, Sample());
}

TEST(SecretsCodecTest, OmitsUnsetValuesAndIgnoresUnknownNames) {
  ControlPlaneSecrets only_token;
  only_token.session_token = "t";
  const std::string encoded = EncodeSecrets(only_token);
  EXPECT_EQ(encoded.find("SESSION_ID"), std::string::npos);
  ControlPlaneSecrets decoded;
  std::string error;
  ASSERT_TRUE(DecodeSecrets(encoded + std::string("FUTURE=1\0", 9), &decoded, &error)) << error;
  EXPECT_EQ(decoded.session_token, "t");
  EXPECT_TRUE(decoded.session_id.empty());
}

TEST(SecretsCodecTest, RejectsMalformedPayloads) {
  ControlPlaneSecrets s;
  std::string error;
  EXPECT_FALSE(DecodeSecrets("", &s, &error));
  EXPECT_FALSE(DecodeSecrets(std::string("sagewai-secrets/2\0", 18), &s, &error));
  const std::string magic("sagewai-secrets/1\0", 18);
  EXPECT_FALSE(DecodeSecrets(magic + "SESSION_TOKEN=unterminated", &s, &error));
  EXPECT_THAT(error, HasSubstr("truncated"));
  EXPECT_FALSE(DecodeSecrets(magic + std::string("no-equals\0", 10), &s, &error));
  EXPECT_TRUE(DecodeSecrets(magic, &s, &error));
  EXPECT_TRUE(s.empty());
}

}  // namespace
}  // namespace sagewai
