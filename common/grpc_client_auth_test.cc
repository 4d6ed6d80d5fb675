#include "common/grpc_client_auth.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "common/session_auth.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace sagewai {
namespace {

namespace sa = session_auth;
namespace v1 = ::sagewai::sandbox::v1;

constexpr char kToken[] = "client-auth-test-token";

enum class Mode { kHonest, kWrongProof, kWrongScheme, kNoToken, kShortNonce };

// A fake runner: Auth.Challenge answering as `mode` says, and GetInfo and
// Health recording the authorization each call carried.
class FakeAuth final : public v1::Auth::Service {
 public:
  explicit FakeAuth(Mode mode) : mode_(mode) {}
  grpc::Status Challenge(grpc::ServerContext* context, const v1::ChallengeRequest* request,
                         v1::ChallengeResponse* response) override {
    std::lock_guard<std::mutex> lock(mu);
    client_nonces.push_back(request->client_nonce());
    challenge_had_authorization = context->client_metadata().count("authorization") > 0;
    if (mode_ == Mode::kNoToken) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "this runner has no session token");
    }
    nonce = std::string(mode_ == Mode::kShortNonce ? 8 : 32, 'n');
    const sa::SessionKey key =
        sa::DeriveSessionKey(mode_ == Mode::kWrongProof ? "not-the-token" : kToken);
    const sa::Digest proof = sa::ServerProof(key, request->client_nonce(), nonce);
    response->set_scheme(mode_ == Mode::kWrongScheme ? "sagewai-hmac-md5-v0\x1b[31m"
                                                     : std::string(sa::kScheme));
    response->set_server_nonce(nonce);
    response->set_server_proof(proof.data(), proof.size());
    return grpc::Status::OK;
  }
  std::mutex mu;
  std::vector<std::string> client_nonces;
  bool challenge_had_authorization = false;
  std::string nonce;

 private:
  Mode mode_;
};

class RecordingRunner final : public v1::Runner::Service {
 public:
  grpc::Status GetInfo(grpc::ServerContext* context, const v1::GetInfoRequest*,
                       v1::GetInfoResponse*) override {
    std::lock_guard<std::mutex> lock(mu);
    auto it = context->client_metadata().find("authorization");
    headers.push_back(it == context->client_metadata().end()
                          ? "<none>"
                          : std::string(it->second.data(), it->second.size()));
    return grpc::Status::OK;
  }
  std::mutex mu;
  std::vector<std::string> headers;
};

class ClientAuthTest : public ::testing::Test {
 protected:
  // `mode` nullopt: no Auth service at all (an old runner).
  void StartServer(std::optional<Mode> mode) {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    if (mode) {
      auth_ = std::make_unique<FakeAuth>(*mode);
      builder.RegisterService(auth_.get());
    }
    builder.RegisterService(&runner_);
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(absl::string_view token,
                                                         bool allow_bearer = false) {
    ClientAuthOptions options;
    options.peer = "tcp://127.0.0.1:" + std::to_string(port_);
    options.token_source = "--token-file T";
    options.allow_bearer = allow_bearer;
    return NewAuthenticatedChannel("127.0.0.1:" + std::to_string(port_), grpc::ChannelArguments(),
                                   token, options);
  }

  grpc::Status GetInfo(const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext ctx;
    v1::GetInfoResponse info;
    return v1::Runner::NewStub(channel)->GetInfo(&ctx, {}, &info);
  }

  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  std::unique_ptr<FakeAuth> auth_;
  RecordingRunner runner_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(ClientAuthTest, SignsEveryCallWithANewSeqAfterAVerifiedProof) {
  StartServer(Mode::kHonest);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(kToken);
  ASSERT_TRUE(channel.ok()) << channel.status();
  ASSERT_TRUE(GetInfo(*channel).ok());
  ASSERT_TRUE(GetInfo(*channel).ok());
  {
    std::lock_guard<std::mutex> lock(auth_->mu);
    ASSERT_EQ(auth_->client_nonces.size(), 1u);
    EXPECT_EQ(auth_->client_nonces[0].size(), sa::kClientNonceSize);
    EXPECT_FALSE(auth_->challenge_had_authorization);
  }
  const sa::SessionKey key = sa::DeriveSessionKey(kToken);
  std::lock_guard<std::mutex> lock(runner_.mu);
  ASSERT_EQ(runner_.headers.size(), 2u);
  for (uint64_t seq = 1; seq <= 2; ++seq) {
    absl::StatusOr<sa::Authorization> a = sa::ParseAuthorization(runner_.headers[seq - 1]);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->nonce, auth_->nonce);
    EXPECT_EQ(a->seq, seq);
    EXPECT_TRUE(sa::ConstantTimeEquals(
        a->mac, sa::CallMac(key, a->nonce, seq, "/sagewai.sandbox.v1.Runner/GetInfo")));
  }
  EXPECT_EQ(runner_.headers[0].find(kToken), std::string::npos);
}

TEST_F(ClientAuthTest, FreshClientNonceForEveryChallenge) {
  StartServer(Mode::kHonest);
  ASSERT_TRUE(Connect(kToken).ok());
  ASSERT_TRUE(Connect(kToken).ok());
  std::lock_guard<std::mutex> lock(auth_->mu);
  ASSERT_EQ(auth_->client_nonces.size(), 2u);
  EXPECT_NE(auth_->client_nonces[0], auth_->client_nonces[1]);
}

TEST_F(ClientAuthTest, AWrongProofIsRefusedAndNamesThePeer) {
  StartServer(Mode::kWrongProof);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(kToken);
  ASSERT_FALSE(channel.ok());
  EXPECT_TRUE(IsAuthRefusal(channel.status()));
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kPermissionDenied);
  const std::string message(channel.status().message());
  EXPECT_NE(message.find("tcp://127.0.0.1:" + std::to_string(port_)), std::string::npos);
  EXPECT_NE(message.find("not this sandbox's runner"), std::string::npos);
  EXPECT_NE(message.find("--token-file T"), std::string::npos);
  EXPECT_NE(message.find("nothing secret was sent"), std::string::npos);
}

TEST_F(ClientAuthTest, AShortNonceOrAnUnknownSchemeIsRefused) {
  StartServer(Mode::kShortNonce);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(kToken);
  EXPECT_TRUE(IsAuthRefusal(channel.status())) << channel.status();
  server_->Shutdown();
  server_.reset();
  StartServer(Mode::kWrongScheme);
  channel = Connect(kToken);
  ASSERT_TRUE(IsAuthRefusal(channel.status())) << channel.status();
  EXPECT_NE(channel.status().message().find("sagewai-hmac-md5-v0?[31m"), std::string::npos)
      << "what the peer sent is quoted with control bytes replaced: " << channel.status();
}

TEST_F(ClientAuthTest, ARunnerWithoutAuthGetsNoTokenUnlessBearerIsAllowed) {
  StartServer(std::nullopt);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> refused = Connect(kToken);
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(IsAuthRefusal(refused.status()));
  EXPECT_NE(refused.status().message().find("--allow-bearer"), std::string::npos);

  absl::StatusOr<std::shared_ptr<grpc::Channel>> bearer = Connect(kToken, /*allow_bearer=*/true);
  ASSERT_TRUE(bearer.ok()) << bearer.status();
  ASSERT_TRUE(GetInfo(*bearer).ok());
  std::lock_guard<std::mutex> lock(runner_.mu);
  EXPECT_EQ(runner_.headers, std::vector<std::string>{std::string("Bearer ") + kToken});
}

TEST_F(ClientAuthTest, ARunnerWithoutATokenIsRefusedWhenOneIsGiven) {
  StartServer(Mode::kNoToken);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(kToken);
  ASSERT_FALSE(channel.ok());
  EXPECT_TRUE(IsAuthRefusal(channel.status()));
  EXPECT_NE(channel.status().message().find("no session token"), std::string::npos);
}

TEST_F(ClientAuthTest, NoTokenMeansNoChallengeAndNoHeader) {
  StartServer(Mode::kHonest);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect("");
  ASSERT_TRUE(channel.ok());
  ASSERT_TRUE(GetInfo(*channel).ok());
  EXPECT_TRUE(auth_->client_nonces.empty());
  EXPECT_EQ(runner_.headers, std::vector<std::string>{"<none>"});
}

TEST_F(ClientAuthTest, OpenMethodsCarryNoAuthorization) {
  StartServer(Mode::kHonest);
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(kToken);
  ASSERT_TRUE(channel.ok());
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckResponse r;
  ASSERT_TRUE(grpc::health::v1::Health::NewStub(*channel)->Check(&ctx, {}, &r).ok());
  ASSERT_TRUE(GetInfo(*channel).ok());
  std::lock_guard<std::mutex> lock(runner_.mu);
  ASSERT_EQ(runner_.headers.size(), 1u);
  // Health used no seq: the first signed call is seq 1.
  EXPECT_NE(runner_.headers[0].find(", seq=1, "), std::string::npos) << runner_.headers[0];
}

TEST_F(ClientAuthTest, AnUnreachablePeerIsATransportErrorNotARefusal) {
  StartServer(Mode::kHonest);
  server_->Shutdown();
  server_.reset();
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = Connect(kToken);
  ASSERT_FALSE(channel.ok());
  EXPECT_FALSE(IsAuthRefusal(channel.status()));
  EXPECT_EQ(channel.status().code(), absl::StatusCode::kUnavailable) << channel.status();
}

}  // namespace
}  // namespace sagewai
