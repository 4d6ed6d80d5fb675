#include "cli/connection.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <string>
#include <vector>

#include "cli/exit_codes.h"
#include "common/session_auth.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace sagewai::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = "/tmp/sagewai-cli-test-XXXXXX";
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string File(const std::string& name, const std::string& content, mode_t mode) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << content;
    chmod(p.c_str(), mode);
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(CliParseAddressTest, UnixForms) {
  auto a = ParseAddress("unix:///run/sagewai/tool-runner.sock");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->kind, Address::Kind::kUnix);
  EXPECT_EQ(a->path, "/run/sagewai/tool-runner.sock");
  EXPECT_EQ(a->text, "unix:///run/sagewai/tool-runner.sock");
  EXPECT_EQ(a->GrpcTarget(), "unix:///run/sagewai/tool-runner.sock");

  auto single = ParseAddress("unix:/tmp/x.sock");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->path, "/tmp/x.sock");
  EXPECT_EQ(single->text, "unix:///tmp/x.sock");

  auto relative = ParseAddress("unix:run/x.sock");
  ASSERT_TRUE(relative.ok());
  EXPECT_EQ(relative->path, "run/x.sock");
  EXPECT_EQ(relative->GrpcTarget(), "unix:run/x.sock");

  auto bare = ParseAddress("/tmp/y.sock");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->kind, Address::Kind::kUnix);
  EXPECT_EQ(bare->text, "unix:///tmp/y.sock");
  auto dot = ParseAddress("./y.sock");
  ASSERT_TRUE(dot.ok());
  EXPECT_EQ(dot->kind, Address::Kind::kUnix);
}

TEST(CliParseAddressTest, TcpForms) {
  auto a = ParseAddress("tcp://127.0.0.1:50051");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->kind, Address::Kind::kTcp);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 50051);
  EXPECT_EQ(a->text, "tcp://127.0.0.1:50051");
  EXPECT_EQ(a->GrpcTarget(), "dns:///127.0.0.1:50051");

  auto plain = ParseAddress("sandbox.local:7000");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "sandbox.local");
  EXPECT_EQ(plain->text, "tcp://sandbox.local:7000");

  auto v6 = ParseAddress("tcp://[::1]:9");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->text, "tcp://[::1]:9");
  EXPECT_EQ(v6->GrpcTarget(), "ipv6:[::1]:9");
}

TEST(CliParseAddressTest, Rejects) {
  const char* bad[] = {"",
                       "unix://",
                       "unix:",
                       "unix://relative.sock",
                       "http://host:80",
                       "host",
                       "host:",
                       "host:0",
                       "host:65536",
                       "host:+80",
                       "host:80x",
                       ":80",
                       "::1:80",
                       "[::1]80",
                       "[::1:80"};
  for (const char* text : bad) {
    auto a = ParseAddress(text);
    EXPECT_FALSE(a.ok()) << "accepted \"" << text << "\"";
    if (!a.ok()) {
      EXPECT_THAT(a.status().ToString(), HasSubstr("unix:///path")) << text;
    }
  }
  std::string long_path = "unix:///" + std::string(200, 'x');
  EXPECT_THAT(ParseAddress(long_path).status().ToString(), HasSubstr("at most 107"));
}

TEST(CliResolveAddressTest, FlagThenEnvThenDefault) {
  EXPECT_EQ(ResolveAddress(std::string("a:1"), "b:2")->text, "tcp://a:1");
  EXPECT_EQ(ResolveAddress(std::nullopt, "b:2")->text, "tcp://b:2");
  EXPECT_EQ(ResolveAddress(std::nullopt, "")->text, kDefaultAddress);
  EXPECT_EQ(ResolveAddress(std::nullopt, nullptr)->text, kDefaultAddress);
  auto bad_env = ResolveAddress(std::nullopt, "nonsense");
  EXPECT_THAT(std::string(bad_env.status().message()), StartsWith("$SAGEWAI_RUNNER_ADDR"));
}

TEST(CliLoadTokenTest, FileWinsOverEnvironment) {
  TempDir dir;
  std::string f = dir.File("token", "from-file\n", 0600);
  auto t = LoadToken(f, "from-env");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->value, "from-file");
  EXPECT_EQ(t->source, "--token-file " + f);
  EXPECT_THAT(t->warnings, IsEmpty());
}

TEST(CliLoadTokenTest, EnvironmentAndNone) {
  auto t = LoadToken(std::nullopt, "  abc123  ");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->value, "abc123");
  EXPECT_EQ(t->source, "$SAGEWAI_RUNNER_TOKEN");
  auto none = LoadToken(std::nullopt, nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->value, "");
  auto empty_env = LoadToken(std::nullopt, "");
  ASSERT_TRUE(empty_env.ok());
  EXPECT_EQ(empty_env->value, "");
}

TEST(CliLoadTokenTest, WarnsAboutWorldReadableFile) {
  TempDir dir;
  std::string f = dir.File("token", "tok", 0644);
  auto t = LoadToken(f, nullptr);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->warnings.size(), 1u);
  EXPECT_THAT(t->warnings[0], HasSubstr("readable by every user"));
  EXPECT_THAT(t->warnings[0], HasSubstr("chmod 600 " + f));
  EXPECT_THAT(t->warnings[0], HasSubstr("0644"));
  std::string g = dir.File("token2", "tok", 0640);
  EXPECT_THAT(LoadToken(g, nullptr)->warnings, IsEmpty());
}

TEST(CliLoadTokenTest, Errors) {
  TempDir dir;
  auto missing = LoadToken(dir.path() + "/nope", nullptr);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().ToString(), HasSubstr("nope"));
  EXPECT_THAT(missing.status().ToString(), HasSubstr("SESSION_TOKEN"));

  auto empty = LoadToken(dir.File("empty", " \n", 0600), nullptr);
  EXPECT_THAT(empty.status().ToString(), HasSubstr("is empty"));

  auto two_lines = LoadToken(dir.File("two", "a\nb\n", 0600), nullptr);
  EXPECT_THAT(two_lines.status().ToString(), HasSubstr("gRPC header"));

  auto spaced_env = LoadToken(std::nullopt, "a b");
  EXPECT_THAT(spaced_env.status().ToString(), HasSubstr("$SAGEWAI_RUNNER_TOKEN"));

  auto directory = LoadToken(dir.path(), nullptr);
  EXPECT_THAT(directory.status().ToString(), HasSubstr("directory"));

  auto huge = LoadToken(dir.File("huge", std::string(70000, 'a'), 0600), nullptr);
  EXPECT_THAT(huge.status().ToString(), HasSubstr("64 KiB"));
}

TEST(CliProbeUnixSocketTest, ExplainsWhatIsWrong) {
  TempDir dir;
  EXPECT_THAT(ProbeUnixSocket(dir.path() + "/none.sock"), HasSubstr("does not exist"));
  EXPECT_THAT(ProbeUnixSocket(dir.File("plain", "x", 0600)), HasSubstr("not a socket"));

  std::string path = dir.path() + "/s.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  // Bound but not listening: what a socket left behind by a dead runner does.
  EXPECT_THAT(ProbeUnixSocket(path), HasSubstr("nothing is listening"));
  ASSERT_EQ(listen(fd, 1), 0);
  EXPECT_EQ(ProbeUnixSocket(path), "");
  close(fd);
}

TEST(CliExitCodeTest, RpcCodes) {
  EXPECT_EQ(ExitCodeForRpcCode(grpc::OK), 0);
  EXPECT_EQ(ExitCodeForRpcCode(grpc::UNAVAILABLE), kExitUnavailable);
  EXPECT_EQ(ExitCodeForRpcCode(grpc::UNAUTHENTICATED), kExitNoPerm);
  EXPECT_EQ(ExitCodeForRpcCode(grpc::PERMISSION_DENIED), kExitNoPerm);
  EXPECT_EQ(ExitCodeForRpcCode(grpc::UNIMPLEMENTED), kExitProtocol);
  EXPECT_EQ(ExitCodeForRpcCode(grpc::DEADLINE_EXCEEDED), kExitTempFail);
  EXPECT_EQ(ExitCodeForRpcCode(grpc::RESOURCE_EXHAUSTED), kExitTempFail);
  EXPECT_EQ(ExitCodeForRpcCode(grpc::INVALID_ARGUMENT), kExitDataErr);
  EXPECT_EQ(ExitCodeForRpcCode(grpc::INTERNAL), kExitSoftware);
  EXPECT_EQ(ExitCodeForRpcCode(grpc::UNKNOWN), kExitSoftware);
  // All distinct from each other and from the codes a command's signal gives.
  EXPECT_EQ(kExitUsage, 2);
  EXPECT_EQ(kExitUnavailable, 69);
  EXPECT_EQ(kExitNoPerm, 77);
}

TEST(CliDescribeRpcErrorTest, OneActionableLinePerCase) {
  Address unix_addr = *ParseAddress("unix:///run/x.sock");
  RpcErrorContext c;
  c.address = &unix_addr;
  c.method = "Bash.Stream";

  c.socket_probe = "/run/x.sock does not exist";
  CliError e = DescribeRpcError(grpc::Status(grpc::UNAVAILABLE, "failed to connect"), c);
  EXPECT_EQ(e.exit_code, kExitUnavailable);
  EXPECT_EQ(e.message,
            "cannot reach the runner at unix:///run/x.sock: /run/x.sock does not exist — is the "
            "sandbox running? is the socket path right?");
  c.socket_probe.clear();
  EXPECT_THAT(DescribeRpcError(grpc::Status(grpc::UNAVAILABLE, "failed\nto connect"), c).message,
              HasSubstr(": failed to connect — "));

  c.token_source = "--token-file /t";
  e = DescribeRpcError(grpc::Status(grpc::UNAUTHENTICATED, "bad token"), c);
  EXPECT_EQ(e.exit_code, kExitNoPerm);
  EXPECT_THAT(e.message, StartsWith("the runner rejected the token from --token-file /t"));
  c.token_source.clear();
  e = DescribeRpcError(grpc::Status(grpc::UNAUTHENTICATED, "missing"), c);
  EXPECT_THAT(e.message, HasSubstr("needs a token and none was given"));

  c.server_version = "0.0.3";
  e = DescribeRpcError(grpc::Status(grpc::UNIMPLEMENTED, ""), c);
  EXPECT_EQ(e.exit_code, kExitProtocol);
  EXPECT_THAT(e.message, HasSubstr("does not support Bash.Stream (server too old: version 0.0.3)"));

  c.deadline = absl::Seconds(40);
  e = DescribeRpcError(grpc::Status(grpc::DEADLINE_EXCEEDED, "Deadline Exceeded"), c);
  EXPECT_EQ(e.exit_code, kExitTempFail);
  EXPECT_THAT(e.message, HasSubstr("did not answer Bash.Stream within 40 s"));

  e = DescribeRpcError(grpc::Status(grpc::INTERNAL, "boom"), c);
  EXPECT_EQ(e.exit_code, kExitSoftware);
  EXPECT_THAT(e.message, HasSubstr("INTERNAL: boom"));
  // The code's name for every code without a sentence of its own.
  EXPECT_EQ(DescribeRpcError(grpc::Status(grpc::DATA_LOSS, "torn"), c).message,
            "Bash.Stream failed at unix:///run/x.sock: DATA_LOSS: torn");
  EXPECT_THAT(DescribeRpcError(grpc::Status(grpc::ABORTED, ""), c).message,
              HasSubstr(": ABORTED: no details"));
  EXPECT_THAT(
      // A code no enumerator names, yet inside the enum's range (a cast past
      // it would be undefined behaviour, and UBSan says so).
      DescribeRpcError(grpc::Status(static_cast<grpc::StatusCode>(30), "odd"), c).message,
      HasSubstr(": UNKNOWN_CODE: odd"));

  Address tcp = *ParseAddress("tcp://h:1");
  c.address = &tcp;
  EXPECT_THAT(DescribeRpcError(grpc::Status(grpc::UNAVAILABLE, "x"), c).message,
              HasSubstr("is the address right?"));
  for (grpc::StatusCode code : {grpc::UNAVAILABLE, grpc::UNAUTHENTICATED, grpc::UNIMPLEMENTED,
                                grpc::DEADLINE_EXCEEDED, grpc::INTERNAL}) {
    EXPECT_EQ(DescribeRpcError(grpc::Status(code, "a\nb"), c).message.find('\n'),
              std::string::npos);
  }
}

// A runner stand-in too old for Auth.Challenge: GetInfo answers only to
// "Bearer good"; Bash is not served at all.
class FakeRunner final : public sagewai::sandbox::v1::Runner::Service {
  grpc::Status GetInfo(grpc::ServerContext* context, const sagewai::sandbox::v1::GetInfoRequest*,
                       sagewai::sandbox::v1::GetInfoResponse* response) override {
    auto it = context->client_metadata().find("authorization");
    if (it == context->client_metadata().end() || it->second != "Bearer good") {
      return grpc::Status(grpc::UNAUTHENTICATED, "bad token");
    }
    response->set_version("0.0.9");
    return grpc::Status::OK;
  }
};

class CliConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    socket_ = dir_.path() + "/runner.sock";
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix://" + socket_, grpc::InsecureServerCredentials());
    builder.RegisterService(&runner_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  Connection Make(const std::string& token, bool allow_bearer = false) {
    ConnectionPolicy policy;
    policy.allow_bearer = allow_bearer;
    return Connection(*ParseAddress("unix://" + socket_), Token{token, "--token-file t", {}},
                      policy);
  }

  TempDir dir_;
  std::string socket_;
  FakeRunner runner_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(CliConnectionTest, AnOldRunnerGetsTheTokenOnlyWithAllowBearer) {
  Connection refused = Make("good");
  std::optional<CliError> e = refused.Establish();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->exit_code, kExitNoPerm);
  EXPECT_THAT(e->message, HasSubstr("has no Auth.Challenge"));
  EXPECT_THAT(e->message, HasSubstr("--allow-bearer"));
  EXPECT_EQ(refused.FetchServerVersion(absl::Seconds(5)), "");

  Connection good = Make("good", /*allow_bearer=*/true);
  EXPECT_TRUE(good.WaitForConnection(absl::Seconds(5)));
  EXPECT_EQ(good.FetchServerVersion(absl::Seconds(5)), "0.0.9");
  Connection bad = Make("bad", true);
  EXPECT_EQ(bad.FetchServerVersion(absl::Seconds(5)), "");
  Connection none = Make("", true);
  EXPECT_EQ(none.FetchServerVersion(absl::Seconds(5)), "");
}

TEST_F(CliConnectionTest, DescribeAsksTheVersionOfATooOldRunner) {
  Connection good = Make("good", /*allow_bearer=*/true);
  auto stub = sagewai::sandbox::v1::Bash::NewStub(good.channel());
  auto context = good.NewContext(absl::Seconds(5));
  sagewai::sandbox::v1::BashResult result;
  grpc::Status status = stub->Run(context.get(), {}, &result);
  ASSERT_EQ(status.error_code(), grpc::UNIMPLEMENTED);
  CliError e = good.Describe(status, "Bash.Run");
  EXPECT_EQ(e.exit_code, kExitProtocol);
  EXPECT_EQ(e.message,
            "the runner at unix://" + socket_ +
                " does not support Bash.Run (server too old: version 0.0.9) — use an image whose "
                "sagewai-tool-runner is recent enough");
}

TEST_F(CliConnectionTest, DescribeProbesAMissingSocket) {
  Connection gone(*ParseAddress("unix://" + dir_.path() + "/gone.sock"), Token{});
  auto stub = sagewai::sandbox::v1::Runner::NewStub(gone.channel());
  auto context = gone.NewContext(absl::Seconds(5));
  sagewai::sandbox::v1::GetInfoResponse info;
  grpc::Status status = stub->GetInfo(context.get(), {}, &info);
  ASSERT_EQ(status.error_code(), grpc::UNAVAILABLE);
  CliError e = gone.Describe(status, "Runner.GetInfo");
  EXPECT_EQ(e.exit_code, kExitUnavailable);
  EXPECT_THAT(e.message, HasSubstr("gone.sock does not exist — is the sandbox running?"));
}

// A current runner stand-in: Auth.Challenge with a proof made from
// `proof_token`, and GetInfo recording the authorization of each call.
class FakeAuthRunner final : public sagewai::sandbox::v1::Auth::Service,
                             public sagewai::sandbox::v1::Runner::Service {
 public:
  explicit FakeAuthRunner(std::string proof_token) : proof_token_(std::move(proof_token)) {}
  grpc::Status Challenge(grpc::ServerContext*,
                         const sagewai::sandbox::v1::ChallengeRequest* request,
                         sagewai::sandbox::v1::ChallengeResponse* response) override {
    ++challenges;
    const sagewai::session_auth::Digest proof = sagewai::session_auth::ServerProof(
        sagewai::session_auth::DeriveSessionKey(proof_token_), request->client_nonce(), nonce);
    response->set_scheme("sagewai-hmac-sha256-v1");
    response->set_server_nonce(nonce);
    response->set_server_proof(proof.data(), proof.size());
    return grpc::Status::OK;
  }
  grpc::Status GetInfo(grpc::ServerContext* context, const sagewai::sandbox::v1::GetInfoRequest*,
                       sagewai::sandbox::v1::GetInfoResponse* response) override {
    auto it = context->client_metadata().find("authorization");
    if (it != context->client_metadata().end())
      headers.emplace_back(it->second.data(), it->second.size());
    response->set_version("0.1.9");
    return grpc::Status::OK;
  }
  std::atomic<int> challenges{0};
  std::vector<std::string> headers;
  const std::string nonce = std::string(32, 'n');

 private:
  std::string proof_token_;
};

class CliAuthConnectionTest : public ::testing::Test {
 protected:
  void Start(const std::string& proof_token) {
    fake_ = std::make_unique<FakeAuthRunner>(proof_token);
    socket_ = dir_.path() + "/runner.sock";
    grpc::ServerBuilder builder;
    builder.AddListeningPort("unix://" + socket_, grpc::InsecureServerCredentials());
    builder.RegisterService(static_cast<sagewai::sandbox::v1::Auth::Service*>(fake_.get()));
    builder.RegisterService(static_cast<sagewai::sandbox::v1::Runner::Service*>(fake_.get()));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  Connection Make(ConnectionPolicy policy = {}) {
    return Connection(*ParseAddress("unix://" + socket_), Token{"tok", "--token-file t", {}},
                      policy);
  }

  TempDir dir_;
  std::string socket_;
  std::unique_ptr<FakeAuthRunner> fake_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(CliAuthConnectionTest, VerifiedRunnerGetsSignedCallsOverTheCheckedSocket) {
  Start("tok");
  Connection c = Make();
  ASSERT_FALSE(c.Establish().has_value()) << c.Establish()->message;
  EXPECT_TRUE(c.WaitForConnection(absl::Seconds(5)));
  EXPECT_EQ(c.FetchServerVersion(absl::Seconds(5)), "0.1.9");
  EXPECT_EQ(c.FetchServerVersion(absl::Seconds(5)), "0.1.9");
  ASSERT_EQ(fake_->headers.size(), 2u);
  EXPECT_THAT(fake_->headers[0], StartsWith("Sagewai-HMAC-SHA256 nonce=6e6e"));
  EXPECT_THAT(fake_->headers[0], HasSubstr(", seq=1, mac="));
  EXPECT_THAT(fake_->headers[1], HasSubstr(", seq=2, mac="));
  EXPECT_EQ(fake_->challenges.load(), 1);
}

TEST_F(CliAuthConnectionTest, AnImpostorsProofIsRefusedAndGetsNoCall) {
  Start("the-impostor-does-not-know-it");
  Connection c = Make();
  std::optional<CliError> e = c.Establish();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->exit_code, kExitNoPerm);
  EXPECT_THAT(e->message, HasSubstr("unix://" + socket_));
  EXPECT_THAT(e->message, HasSubstr("not this sandbox's runner"));
  EXPECT_THAT(e->message, HasSubstr("nothing secret was sent"));
  EXPECT_EQ(c.FetchServerVersion(absl::Seconds(5)), "");
  auto stub = sagewai::sandbox::v1::Runner::NewStub(c.channel());
  auto context = c.NewContext(absl::Seconds(5));
  sagewai::sandbox::v1::GetInfoResponse info;
  grpc::Status status = stub->GetInfo(context.get(), {}, &info);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(c.Describe(status, "Runner.GetInfo").message, e->message);
  EXPECT_TRUE(fake_->headers.empty()) << "a call reached the impostor";
}

TEST_F(CliAuthConnectionTest, AnUnexpectedPeerGetsNothingAtAll) {
  Start("tok");
  ConnectionPolicy policy;
  policy.peer.uid = geteuid() + 1;
  Connection c = Make(policy);
  std::optional<CliError> e = c.Establish();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->exit_code, kExitNoPerm);
  EXPECT_THAT(e->message, HasSubstr("is not the runner"));
  EXPECT_THAT(e->message, HasSubstr("nothing was sent"));
  EXPECT_EQ(fake_->challenges.load(), 0) << "not even the challenge may be sent";
}

}  // namespace
}  // namespace sagewai::cli
