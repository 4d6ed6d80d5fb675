// sagewai-sandbox exec/info against a real `sagewai-tool-runner serve` on a
// temporary unix socket with a token file.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/connection.h"
#include "cli/exit_codes.h"
#include "cli/subprocess.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace sagewai::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

const std::string kBinDir = SAGEWAI_BIN_DIR;
const std::string kCli = kBinDir + "/sagewai-sandbox";
const std::string kRunner = kBinDir + "/sagewai-tool-runner";
constexpr char kToken[] = "integration-token-0123456789abcdef";

// A TCP port nobody listens on right now (the kernel's pick for port 0).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    port = ntohs(sa.sin_port);
  }
  close(fd);
  return port;
}

void WriteFile(const std::string& path, const std::string& content, mode_t mode) {
  std::ofstream(path) << content;
  chmod(path.c_str(), mode);
}

// One runner for the whole suite: starting it costs more than the tests.
class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access(kRunner.c_str(), X_OK) != 0) return;
    char tmpl[] = "/tmp/sagewai-cli-it-XXXXXX";
    dir_ = new std::string(mkdtemp(tmpl));
    socket_ = new std::string(*dir_ + "/runner.sock");
    workdir_ = new std::string(*dir_ + "/work");
    std::filesystem::create_directories(*workdir_);
    WriteFile(*dir_ + "/token", std::string(kToken) + "\n", 0600);
    WriteFile(*dir_ + "/wrong-token", "not-the-token\n", 0600);
    SpawnOptions options;
    options.stdout_mode = Stdio::kInherit;
    options.stderr_mode = Stdio::kInherit;
    options.set_env = {"SAGEWAI_LOG_LEVEL=warn"};
    port_ = FreePort();
    auto runner = ChildProcess::Spawn({kRunner, "serve", "--keep-identity", "--listen",
                                       "unix://" + *socket_,
                                       "--listen", absl::StrCat("tcp://127.0.0.1:", port_),
                                       "--token-file", *dir_ + "/token", "--workdir", *workdir_},
                                      options);
    if (!runner.ok()) {
      start_error_ = new std::string(runner.status().ToString());
      return;
    }
    runner_ = new ChildProcess(*std::move(runner));
    // Health is open: a plain channel, which reconnects while the runner
    // starts (a Connection checks its peer once and keeps that fd).
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
    auto health = grpc::health::v1::Health::NewStub(
        grpc::CreateCustomChannel("unix://" + *socket_, grpc::InsecureChannelCredentials(), args));
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (absl::Now() < deadline) {
      // Each try waits for the connection (gRPC retries it) rather than
      // failing at once; a runner that exited ends the wait.
      grpc::ClientContext context;
      context.set_wait_for_ready(true);
      context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
      grpc::health::v1::HealthCheckResponse response;
      const grpc::Status status = health->Check(&context, {}, &response);
      if (status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
        return;
      }
      if (runner_->TryWait()) break;
      if (status.ok() || (status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED &&
                          status.error_code() != grpc::StatusCode::UNAVAILABLE)) {
        break;
      }
    }
    start_error_ = new std::string("the runner did not become SERVING within 20 s");
  }

  static void TearDownTestSuite() {
    if (runner_ != nullptr) {
      runner_->Kill(SIGTERM);
      if (!runner_->WaitFor(absl::Seconds(5))) runner_->Kill(SIGKILL);
      delete runner_;
      runner_ = nullptr;
    }
    if (dir_ != nullptr) std::filesystem::remove_all(*dir_);
  }

  void SetUp() override {
    if (access(kRunner.c_str(), X_OK) != 0) {
      GTEST_SKIP() << kRunner << " is not built (cmake --build <dir> --target sagewai-tool-runner)";
    }
    ASSERT_EQ(start_error_, nullptr) << *start_error_;
  }

  // Runs the CLI with the runner's address and token in its environment
  // unless `env` says otherwise.
  ProcessResult Cli(std::vector<std::string> args, std::optional<std::string> stdin_data = "",
                    std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {kCli};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions options;
    options.timeout = absl::Seconds(60);
    options.stdin_data = std::move(stdin_data);
    options.spawn.set_env = {"SAGEWAI_RUNNER_ADDR=unix://" + *socket_,
                             absl::StrCat("SAGEWAI_RUNNER_TOKEN=", kToken)};
    options.spawn.set_env.insert(options.spawn.set_env.end(), env.begin(), env.end());
    auto r = RunProcess(argv, options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ProcessResult{};
  }

  static std::string* dir_;
  static std::string* socket_;
  static std::string* workdir_;
  static std::string* start_error_;
  static ChildProcess* runner_;
  static int port_;
};

std::string* CliTest::dir_ = nullptr;
std::string* CliTest::socket_ = nullptr;
std::string* CliTest::workdir_ = nullptr;
std::string* CliTest::start_error_ = nullptr;
ChildProcess* CliTest::runner_ = nullptr;
int CliTest::port_ = 0;

TEST_F(CliTest, Echo) {
  ProcessResult r = Cli({"exec", "--", "echo", "hello", "world"});
  EXPECT_EQ(r.out, "hello world\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.exit_code, 0);
}

TEST_F(CliTest, ExitCodesPassThrough) {
  for (int code : {0, 3, 255}) {
    ProcessResult r = Cli({"exec", "--", absl::StrCat("exit ", code)});
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_EQ(r.err, "");
  }
}

TEST_F(CliTest, TimeoutIs124) {
  const absl::Time start = absl::Now();
  ProcessResult r = Cli({"exec", "--timeout", "0.5", "--", "sleep 30"});
  EXPECT_EQ(r.exit_code, kExitTimedOut) << r.err;
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST_F(CliTest, SignalDeathIs128PlusSignal) {
  EXPECT_EQ(Cli({"exec", "--", "kill -KILL $$"}).exit_code, 128 + SIGKILL);
  EXPECT_EQ(Cli({"exec", "--", "kill -TERM $$"}).exit_code, 128 + SIGTERM);
}

TEST_F(CliTest, StdinIsForwardedThenClosed) {
  ProcessResult r = Cli({"exec", "--", "wc -l"}, "one\ntwo\nthree\n");
  EXPECT_EQ(r.out, "3\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;

  std::string big;
  for (int i = 0; i < 300000; ++i) big += static_cast<char>('a' + i % 26);
  big += std::string("\0\xff binary", 9);
  ProcessResult echo = Cli({"exec", "--", "cat"}, big);
  EXPECT_EQ(echo.out.size(), big.size());
  EXPECT_TRUE(echo.out == big);
}

TEST_F(CliTest, NoStdinClosesItAtOnce) {
  ProcessResult r = Cli({"exec", "--no-stdin", "--", "cat; echo done"}, "ignored");
  EXPECT_EQ(r.out, "done\n");
}

TEST_F(CliTest, EnvAndCwd) {
  ProcessResult r = Cli({"exec", "--env", "FOO=bar baz", "--env", "EMPTY=", "--cwd", "/tmp", "--",
                         "echo \"$FOO|${EMPTY-unset}\"; pwd"});
  EXPECT_EQ(r.out, "bar baz|\n/tmp\n");
  ProcessResult copied =
      Cli({"exec", "--env", "LOCAL_VAR", "--", "echo $LOCAL_VAR"}, "", {"LOCAL_VAR=copied"});
  EXPECT_EQ(copied.out, "copied\n");
  ProcessResult def = Cli({"exec", "--", "pwd"});
  EXPECT_EQ(def.out, *workdir_ + "\n");
}

TEST_F(CliTest, WordsAreQuotedOneByOne) {
  ProcessResult r = Cli({"exec", "--", "printf", "[%s]", "a b", "$HOME", "it's"});
  EXPECT_EQ(r.out, "[a b][$HOME][it's]");
}

TEST_F(CliTest, StdoutAndStderrStaySeparate) {
  ProcessResult r = Cli({"exec", "--", "echo out; echo err >&2; echo out2"});
  EXPECT_EQ(r.out, "out\nout2\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST_F(CliTest, SignalsAreForwarded) {
  for (int sig : {SIGINT, SIGTERM}) {
    SpawnOptions options;
    options.set_env = {"SAGEWAI_RUNNER_ADDR=unix://" + *socket_,
                       absl::StrCat("SAGEWAI_RUNNER_TOKEN=", kToken)};
    options.stdin_mode = Stdio::kNull;
    auto cli = ChildProcess::Spawn(
        {kCli, "exec", "--",
         "trap 'echo got signal; exit 7' INT TERM; echo ready; while :; do sleep 0.05; done"},
        options);
    ASSERT_TRUE(cli.ok()) << cli.status();
    std::string out;
    char buf[256];
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (out.find("ready\n") == std::string::npos && absl::Now() < deadline) {
      ssize_t n = read(cli->stdout_fd().get(), buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    ASSERT_EQ(out, "ready\n");
    kill(cli->pid(), sig);
    std::optional<int> code = cli->WaitFor(absl::Seconds(10));
    ASSERT_TRUE(code.has_value()) << "the CLI did not exit after signal " << sig;
    EXPECT_EQ(*code, 7) << "signal " << sig;
    ssize_t n = read(cli->stdout_fd().get(), buf, sizeof buf);
    EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "got signal\n");
  }
}

TEST_F(CliTest, WrongTokenIsAnAuthError) {
  ProcessResult r = Cli({"exec", "--token-file", *dir_ + "/wrong-token", "--", "echo hi"});
  EXPECT_EQ(r.exit_code, kExitNoPerm);
  EXPECT_EQ(r.out, "");
  // The runner's proof does not verify with the wrong token: the CLI stops
  // before it sends a call (mutual authentication, README).
  EXPECT_THAT(r.err, StartsWith("the peer at unix://" + *socket_ +
                                " could not prove it holds the session key"));
  EXPECT_THAT(r.err, HasSubstr("--token-file " + *dir_ + "/wrong-token"));
  EXPECT_THAT(r.err, HasSubstr("nothing secret was sent"));
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;

  ProcessResult none = Cli({"info"}, "", {"SAGEWAI_RUNNER_TOKEN="});
  EXPECT_EQ(none.exit_code, kExitNoPerm);
  EXPECT_THAT(none.err, HasSubstr("needs a token and none was given"));

  ProcessResult env = Cli({"exec", "--", "true"}, "", {"SAGEWAI_RUNNER_TOKEN=wrong"});
  EXPECT_EQ(env.exit_code, kExitNoPerm);
  EXPECT_THAT(env.err, HasSubstr("$SAGEWAI_RUNNER_TOKEN"));
}

TEST_F(CliTest, TokenFileWinsOverTheVariable) {
  ProcessResult r = Cli({"exec", "--token-file", *dir_ + "/token", "--", "echo ok"}, "",
                        {"SAGEWAI_RUNNER_TOKEN=wrong"});
  EXPECT_EQ(r.out, "ok\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliTest, WorldReadableTokenFileWarns) {
  const std::string open_token = *dir_ + "/open-token";
  WriteFile(open_token, kToken, 0644);
  ProcessResult r = Cli({"exec", "--token-file", open_token, "--", "echo ok"});
  EXPECT_EQ(r.out, "ok\n");
  EXPECT_THAT(r.err, HasSubstr("readable by every user"));
  EXPECT_THAT(r.err, HasSubstr("chmod 600"));
}

TEST_F(CliTest, UnreachableSocket) {
  const std::string missing = *dir_ + "/missing.sock";
  ProcessResult r = Cli({"exec", "--addr", "unix://" + missing, "--", "echo hi"});
  EXPECT_EQ(r.exit_code, kExitUnavailable);
  EXPECT_EQ(r.err, "cannot reach the runner at unix://" + missing + ": " + missing +
                       " does not exist — is the sandbox running? is the socket path right?\n");
  ProcessResult info = Cli({"info"}, "", {"SAGEWAI_RUNNER_ADDR=unix://" + missing});
  EXPECT_EQ(info.exit_code, kExitUnavailable);
  EXPECT_THAT(info.err, StartsWith("cannot reach the runner at unix://" + missing));
}

TEST_F(CliTest, BadTokenFileAndUsage) {
  ProcessResult r = Cli({"exec", "--token-file", *dir_ + "/none", "--", "true"});
  EXPECT_EQ(r.exit_code, kExitConfig);
  EXPECT_THAT(r.err, HasSubstr("cannot read the token file"));
  EXPECT_EQ(Cli({"exec"}).exit_code, kExitUsage);
  EXPECT_EQ(Cli({"exec", "--addr", "nonsense", "--", "true"}).exit_code, kExitUsage);
  EXPECT_EQ(Cli({"bogus"}).exit_code, kExitUsage);
}

TEST_F(CliTest, Info) {
  ProcessResult text = Cli({"info"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_THAT(text.out, MatchesRegex("(.|\n)*version: +0\\.1\\.[0-9]+\n(.|\n)*"));
  EXPECT_THAT(text.out, HasSubstr("workdir:                 " + *workdir_ + "\n"));
  EXPECT_THAT(text.out, HasSubstr("bash"));

  ProcessResult json = Cli({"info", "--json"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &parsed).ok()) << json.out;
  const auto& f = parsed.fields();
  EXPECT_THAT(f.at("version").string_value(), StartsWith("0.1."));
  EXPECT_EQ(f.at("uid").number_value(), getuid());
  EXPECT_EQ(f.at("pid").number_value(), runner_->pid());
  EXPECT_EQ(f.at("address").string_value(), "unix://" + *socket_);
  EXPECT_GT(f.at("limits").struct_value().fields().at("max_output_bytes").number_value(), 0);
}

TEST_F(CliTest, OverTcp) {
  for (const std::string& addr :
       {absl::StrCat("tcp://127.0.0.1:", port_), absl::StrCat("localhost:", port_)}) {
    ProcessResult r = Cli({"exec", "--addr", addr, "--", "echo over tcp"});
    EXPECT_EQ(r.out, "over tcp\n") << addr << ": " << r.err;
    EXPECT_EQ(r.exit_code, 0) << addr << ": " << r.err;
  }
  ProcessResult refused = Cli({"info", "--addr", absl::StrCat("127.0.0.1:", FreePort())});
  EXPECT_EQ(refused.exit_code, kExitUnavailable);
  EXPECT_THAT(refused.err, HasSubstr("is the address right?"));
}

TEST_F(CliTest, VersionAndHelp) {
  ProcessResult v = Cli({"--version"});
  EXPECT_EQ(v.out, "0.1.0\n");
  for (const char* command : {"exec", "info", "validate"}) {
    ProcessResult h = Cli({command, "--help"});
    EXPECT_EQ(h.exit_code, 0);
    EXPECT_THAT(h.out, StartsWith(absl::StrCat("usage: sagewai-sandbox ", command)));
  }
}

}  // namespace
}  // namespace sagewai::cli
