#include "tool-runner/core/auth.h"

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "sagewai/sandbox/v1/sandbox.pb.h"
#include "tool-runner/core/auth_methods.h"
#include "tool-runner/core/auth_nonces.h"

namespace sagewai {
namespace {

namespace sa = session_auth;
using Clock = std::chrono::steady_clock;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr char kToken[] = "runner-test-token-42";
constexpr char kMethod[] = "/sagewai.sandbox.v1.Bash/Run";

// A clock the test moves by hand.
struct FakeClock {
  Clock::time_point now = Clock::time_point() + std::chrono::hours(1);
  std::function<Clock::time_point()> Fn() {
    return [this] { return now; };
  }
};

std::string Nonce(char fill) { return std::string(sa::kServerNonceSize, fill); }

// ------------------------------------------------------------ NonceTable --

TEST(NonceTableTest, EachSeqIsAcceptedOnceWithinTheWindow) {
  NonceTable t(8, minutes(10));
  const Clock::time_point now{};
  t.Add(Nonce('a'), now);
  EXPECT_EQ(t.Use(Nonce('a'), 1, now), NonceTable::Verdict::kAccepted);
  EXPECT_EQ(t.Use(Nonce('a'), 1, now), NonceTable::Verdict::kReplayed);
  // Out of order inside the window is fine, once.
  EXPECT_EQ(t.Use(Nonce('a'), 5, now), NonceTable::Verdict::kAccepted);
  EXPECT_EQ(t.Use(Nonce('a'), 3, now), NonceTable::Verdict::kAccepted);
  EXPECT_EQ(t.Use(Nonce('a'), 3, now), NonceTable::Verdict::kReplayed);
  EXPECT_EQ(t.Use(Nonce('a'), 5, now), NonceTable::Verdict::kReplayed);
  EXPECT_EQ(t.Use(Nonce('a'), 2, now), NonceTable::Verdict::kAccepted);
  // Far ahead: everything older than the window is refused, even unused.
  const uint64_t far = 5 + NonceTable::kReplayWindow;
  EXPECT_EQ(t.Use(Nonce('a'), far, now), NonceTable::Verdict::kAccepted);
  EXPECT_EQ(t.Use(Nonce('a'), 4, now), NonceTable::Verdict::kTooOld);
  EXPECT_EQ(t.Use(Nonce('a'), 5, now), NonceTable::Verdict::kTooOld);
  EXPECT_EQ(t.Use(Nonce('a'), far - NonceTable::kReplayWindow + 1, now),
            NonceTable::Verdict::kAccepted);
  // A jump larger than the window clears it.
  EXPECT_EQ(t.Use(Nonce('a'), far + 10 * NonceTable::kReplayWindow, now),
            NonceTable::Verdict::kAccepted);
  EXPECT_EQ(t.Use(Nonce('a'), far + 10 * NonceTable::kReplayWindow - 1, now),
            NonceTable::Verdict::kAccepted);
  EXPECT_EQ(t.Use(Nonce('a'), far, now), NonceTable::Verdict::kTooOld);
  EXPECT_EQ(t.Use(Nonce('b'), 1, now), NonceTable::Verdict::kUnknown);
}

TEST(NonceTableTest, IdleNoncesExpire) {
  NonceTable t(8, minutes(10));
  Clock::time_point now{};
  t.Add(Nonce('a'), now);
  t.Add(Nonce('b'), now);
  now += minutes(9);
  EXPECT_EQ(t.Use(Nonce('a'), 1, now), NonceTable::Verdict::kAccepted);
  now += minutes(2);  // 'a' was used 2 min ago, 'b' never in 11 min
  EXPECT_TRUE(t.Contains(Nonce('a'), now));
  EXPECT_FALSE(t.Contains(Nonce('b'), now));
  EXPECT_EQ(t.Use(Nonce('b'), 1, now), NonceTable::Verdict::kUnknown);
  now += minutes(11);
  EXPECT_EQ(t.Use(Nonce('a'), 2, now), NonceTable::Verdict::kUnknown);
  EXPECT_EQ(t.size(), 0u);
}

TEST(NonceTableTest, AddingExpiresIdleEntriesSoTheTableDoesNotHoldThem) {
  NonceTable t(100, minutes(10));
  Clock::time_point now{};
  for (char c = 'a'; c < 'a' + 20; ++c) t.Add(Nonce(c), now);
  now += minutes(11);
  t.Add(Nonce('z'), now);
  EXPECT_EQ(t.size(), 1u);
}

TEST(NonceTableTest, FullTableEvictsUnusedChallengesBeforeSessionsInUse) {
  NonceTable t(3, minutes(10));
  const Clock::time_point now{};
  t.Add(Nonce('a'), now);
  ASSERT_EQ(t.Use(Nonce('a'), 1, now), NonceTable::Verdict::kAccepted);
  // A flood of open challenges must not push the session in use out.
  for (char c = 'b'; c <= 'y'; ++c) t.Add(Nonce(c), now);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_TRUE(t.Contains(Nonce('a'), now));
  EXPECT_TRUE(t.Contains(Nonce('y'), now));
  EXPECT_FALSE(t.Contains(Nonce('b'), now));
  // With every entry in use the least recently used goes.
  ASSERT_EQ(t.Use(Nonce('x'), 1, now), NonceTable::Verdict::kAccepted);
  ASSERT_EQ(t.Use(Nonce('y'), 1, now), NonceTable::Verdict::kAccepted);
  ASSERT_EQ(t.Use(Nonce('a'), 2, now), NonceTable::Verdict::kAccepted);  // 'x' is now the oldest
  t.Add(Nonce('z'), now);
  EXPECT_FALSE(t.Contains(Nonce('x'), now));
  EXPECT_TRUE(t.Contains(Nonce('a'), now));
  EXPECT_TRUE(t.Contains(Nonce('y'), now));
}

// ------------------------------------------------------------- TokenAuth --

class TokenAuthTest : public ::testing::Test {
 protected:
  TokenAuth MakeAuth(bool allow_bearer = false) {
    AuthOptions o;
    o.allow_bearer = allow_bearer;
    o.clock = clock_.Fn();
    return TokenAuth(kToken, o);
  }

  // What a client does: challenge, verify, sign.
  struct Session {
    std::string nonce;
    sa::SessionKey key = sa::DeriveSessionKey(kToken);
    std::string Header(uint64_t seq, absl::string_view method = kMethod) const {
      return sa::FormatAuthorization(nonce, seq, sa::CallMac(key, nonce, seq, method));
    }
  };
  Session Start(const TokenAuth& auth) {
    const std::string client_nonce(32, 'c');
    absl::StatusOr<TokenAuth::Challenge> c = auth.NewChallenge(client_nonce);
    EXPECT_TRUE(c.ok()) << c.status();
    Session s;
    if (!c.ok()) return s;
    s.nonce = c->server_nonce;
    EXPECT_EQ(s.nonce.size(), sa::kServerNonceSize);
    EXPECT_TRUE(
        sa::ConstantTimeEquals(c->server_proof, sa::ServerProof(s.key, client_nonce, s.nonce)));
    EXPECT_EQ(c->idle_expiry, minutes(10));
    return s;
  }

  FakeClock clock_;
};

TEST_F(TokenAuthTest, SignedCallsPassOnceAndForgeriesFail) {
  TokenAuth auth = MakeAuth();
  ASSERT_TRUE(auth.enabled());
  Session s = Start(auth);
  EXPECT_TRUE(auth.CheckAuthorization(s.Header(1), kMethod).ok());
  grpc::Status replay = auth.CheckAuthorization(s.Header(1), kMethod);
  EXPECT_EQ(replay.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(replay.error_message().rfind("replayed call", 0), 0u) << replay.error_message();
  EXPECT_TRUE(auth.CheckAuthorization(s.Header(2), kMethod).ok());

  // Signed for another method.
  grpc::Status other =
      auth.CheckAuthorization(s.Header(3, "/sagewai.sandbox.v1.Bash/Stream"), kMethod);
  EXPECT_EQ(other.error_message().rfind("bad mac", 0), 0u) << other.error_message();
  // A forgery does not use up the seq the real client will send.
  EXPECT_TRUE(auth.CheckAuthorization(s.Header(3), kMethod).ok());

  Session wrong_key = s;
  wrong_key.key = sa::DeriveSessionKey("another-token");
  EXPECT_EQ(
      auth.CheckAuthorization(wrong_key.Header(4), kMethod).error_message().rfind("bad mac", 0),
      0u);

  Session unknown = s;
  unknown.nonce = Nonce('u');
  grpc::Status u = auth.CheckAuthorization(unknown.Header(1), kMethod);
  EXPECT_EQ(u.error_message(), "unknown or expired nonce: call Auth.Challenge again");
}

TEST_F(TokenAuthTest, SessionsExpireWhenIdle) {
  TokenAuth auth = MakeAuth();
  Session s = Start(auth);
  ASSERT_TRUE(auth.CheckAuthorization(s.Header(1), kMethod).ok());
  clock_.now += minutes(9);
  ASSERT_TRUE(auth.CheckAuthorization(s.Header(2), kMethod).ok());
  clock_.now += minutes(10) + seconds(1);
  EXPECT_EQ(auth.CheckAuthorization(s.Header(3), kMethod).error_message(),
            "unknown or expired nonce: call Auth.Challenge again");
}

TEST_F(TokenAuthTest, MissingAndMalformedHeadersSayWhatToDo) {
  TokenAuth auth = MakeAuth();
  grpc::Status none = auth.CheckAuthorization(std::nullopt, kMethod);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(none.error_message().find("Auth.Challenge"), std::string::npos);
  grpc::Status garbage = auth.CheckAuthorization("Sagewai-HMAC-SHA256 nonce=zz-secret", kMethod);
  EXPECT_EQ(garbage.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(garbage.error_message().find("zz-secret"), std::string::npos);
}

TEST_F(TokenAuthTest, BearerIsRefusedUnlessAllowed) {
  TokenAuth strict = MakeAuth();
  const std::string bearer = absl::StrCat("Bearer ", kToken);
  grpc::Status refused = strict.CheckAuthorization(bearer, kMethod);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(refused.error_message(),
            "plain bearer tokens are refused by this runner: they would put the session token on "
            "the wire; use the sagewai-hmac-sha256-v1 scheme (README) or start the runner with "
            "--allow-bearer");
  EXPECT_EQ(strict.Schemes(), std::vector<std::string>{"sagewai-hmac-sha256-v1"});

  TokenAuth lenient = MakeAuth(/*allow_bearer=*/true);
  EXPECT_TRUE(lenient.CheckAuthorization(bearer, kMethod).ok());
  EXPECT_EQ(lenient.CheckAuthorization("Bearer not-it", kMethod).error_message(),
            "invalid session token");
  EXPECT_EQ(lenient.CheckAuthorization(bearer + "x", kMethod).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(lenient.Schemes(), (std::vector<std::string>{"sagewai-hmac-sha256-v1", "bearer"}));
  // The signed scheme still works beside it.
  Session s = Start(lenient);
  EXPECT_TRUE(lenient.CheckAuthorization(s.Header(1), kMethod).ok());
}

TEST_F(TokenAuthTest, WithoutATokenEverythingPassesAndChallengeSaysWhy) {
  TokenAuth off("");
  EXPECT_FALSE(off.enabled());
  EXPECT_TRUE(off.CheckAuthorization(std::nullopt, kMethod).ok());
  EXPECT_TRUE(off.Schemes().empty());
  absl::StatusOr<TokenAuth::Challenge> c = off.NewChallenge(std::string(32, 'c'));
  EXPECT_EQ(c.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("this runner has no session token"), std::string::npos);
}

TEST_F(TokenAuthTest, ChallengeNoncesAreBoundedAndFresh) {
  TokenAuth auth = MakeAuth();
  EXPECT_EQ(auth.NewChallenge(std::string(15, 'c')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(auth.NewChallenge(std::string(65, 'c')).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::set<std::string> nonces;
  for (int i = 0; i < 50; ++i) nonces.insert(auth.NewChallenge(std::string(16, 'c'))->server_nonce);
  EXPECT_EQ(nonces.size(), 50u);
  EXPECT_EQ(auth.sessions(), 50u);
}

TEST_F(TokenAuthTest, ConcurrentCallsOfOneSessionEachPassOnce) {
  TokenAuth auth = MakeAuth();
  Session s = Start(auth);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Every thread sends every seq: exactly one of each may pass.
      for (int i = 1; i <= kPerThread; ++i) {
        if (auth.CheckAuthorization(s.Header(static_cast<uint64_t>(i)), kMethod).ok()) ++accepted;
      }
      (void)t;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(accepted.load(), kPerThread);
}

// ---------------------------------------------------------- method paths --

TEST(AuthMethodsTest, EveryConstantNamesARealMethod) {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  // Make sure the file is linked in and registered.
  (void)sagewai::sandbox::v1::BashRequest::descriptor();
  std::set<std::string> paths;
  for (const rpc::Method& m : rpc::kAuthenticated) {
    const std::string path = m.path;
    ASSERT_EQ(path.rfind("/sagewai.sandbox.v1.", 0), 0u) << path;
    const size_t slash = path.find('/', 1);
    ASSERT_NE(slash, std::string::npos) << path;
    const std::string service = path.substr(1, slash - 1);
    const std::string method = path.substr(slash + 1);
    const auto* sd = pool->FindServiceByName(service);
    ASSERT_NE(sd, nullptr) << path;
    EXPECT_NE(sd->FindMethodByName(method), nullptr) << path;
    EXPECT_EQ(absl::StrCat(sd->name(), ".", method), m.name) << path;
    EXPECT_TRUE(paths.insert(path).second) << "listed twice: " << path;
  }
  const auto* auth = pool->FindServiceByName("sagewai.sandbox.v1.Auth");
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(absl::StrCat("/", auth->full_name(), "/", auth->method(0)->name()),
            rpc::kAuthChallenge.path);
}

TEST(AuthMethodsTest, EveryMethodOfTheApiHasAConstant) {
  const auto* file = sagewai::sandbox::v1::BashRequest::descriptor()->file();
  for (int s = 0; s < file->service_count(); ++s) {
    const auto* service = file->service(s);
    if (service->name() == "Auth") continue;  // open
    for (int m = 0; m < service->method_count(); ++m) {
      const std::string path =
          absl::StrCat("/", service->full_name(), "/", service->method(m)->name());
      bool found = false;
      for (const rpc::Method& c : rpc::kAuthenticated) found = found || path == c.path;
      EXPECT_TRUE(found) << path << " has no constant in tool-runner/auth_methods.h";
    }
  }
}

}  // namespace
}  // namespace sagewai
