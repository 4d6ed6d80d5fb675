// `sagewai-sandbox validate` under a real Docker engine, against images built
// here from the freshly built binaries: one made like sandbox-base (all
// checks pass) and broken ones (each failure names its remedy).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cli/exit_codes.h"
#include "cli/subprocess.h"
#include "cli/validate_checks.h"

namespace sagewai::cli {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::string kBinDir = SAGEWAI_BIN_DIR;
const std::string kSourceDir = SAGEWAI_SOURCE_DIR;
const std::string kCli = kBinDir + "/sagewai-sandbox";

ProcessResult Exec(const std::vector<std::string>& argv,
                   absl::Duration timeout = absl::Minutes(5)) {
  RunOptions options;
  options.timeout = timeout;
  auto r = RunProcess(argv, options);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : ProcessResult{};
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

std::string BaseImage() {
  const char* b = getenv("BASE_IMAGE");
  return b != nullptr && *b != '\0' ? b : "debian:bookworm-slim";
}

// Runs `sagewai-sandbox validate ARGS...` with its own TMPDIR; `leftovers`
// lists what it left behind: containers of `image` and scratch directories.
struct ValidateRun {
  ProcessResult result;
  std::string leftovers;
};

ValidateRun Validate(const std::vector<std::string>& args, const std::string& image) {
  char tmpl[] = "/tmp/sagewai-cli-validate-tmp-XXXXXX";
  const std::string tmpdir = mkdtemp(tmpl);
  std::vector<std::string> argv = {kCli, "validate"};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions options;
  options.timeout = absl::Minutes(5);
  options.spawn.set_env = {"TMPDIR=" + tmpdir};
  auto r = RunProcess(argv, options);
  EXPECT_TRUE(r.ok()) << r.status();
  ValidateRun run;
  if (r.ok()) run.result = *r;
  run.leftovers = Exec({"docker", "ps", "-aq", "--filter", "label=org.sagewai.validate=1",
                        "--filter", "ancestor=" + image})
                      .out;
  for (const auto& e : std::filesystem::directory_iterator(tmpdir)) {
    run.leftovers += e.path().string() + "\n";
  }
  std::filesystem::remove_all(tmpdir);
  return run;
}

class CliValidateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
#ifdef SAGEWAI_SANITIZED
    // The images are made of the built binaries, which must be static.
    skip_ = new std::string("a sanitizer build has no static binaries to put in an image");
    return;
#endif
    ProcessResult docker =
        Exec({"bash", kSourceDir + "/scripts/ensure-docker.sh"}, absl::Minutes(10));
    if (docker.exit_code == 77) {
      skip_ = new std::string(absl::StrCat("no Docker engine here: ", docker.err));
      return;
    }
    if (docker.exit_code != 0) {
      error_ = new std::string(absl::StrCat("scripts/ensure-docker.sh failed: ", docker.err));
      return;
    }
    ProcessResult base =
        Exec({"bash", kSourceDir + "/scripts/ensure-base-image.sh"}, absl::Minutes(30));
    if (base.exit_code != 0) {
      error_ = new std::string(absl::StrCat("scripts/ensure-base-image.sh failed: ", base.err));
      return;
    }
    char tmpl[] = "/tmp/sagewai-cli-images-XXXXXX";
    context_ = new std::string(mkdtemp(tmpl));
    const std::string suffix = RandomHex(4);
    good_ = new std::string("sagewai-cli-test:good-" + suffix);
    no_runner_ = new std::string("sagewai-cli-test:no-runner-" + suffix);
    same_uid_ = new std::string("sagewai-cli-test:same-uid-" + suffix);
    for (const char* bin : {"sagewai-entrypoint", "sagewai-tool-runner"}) {
      std::filesystem::copy_file(kBinDir + "/" + bin, *context_ + "/" + bin);
    }
    // Like dockerfiles/base, minus the toolbox.
    // The label makes this process's images distinct from those of tests
    // running in parallel, so that containers are told apart by image.
    const std::string common = absl::StrCat(
        "FROM ", BaseImage(), "\nLABEL org.sagewai.test-run=", suffix, "\n",
        "RUN groupadd --gid 1000 agent && useradd --uid 1000 --gid 1000 --create-home agent "
        "&& groupadd --system --gid 900 sagewai && useradd --system --uid 900 --gid 900 "
        "--no-create-home --shell /usr/sbin/nologin sagewai "
        "&& install -d -o 1000 -g 0 -m 0775 /workspace && install -d -o 900 -g 0 -m 0770 "
        "/run/sagewai\n",
        "WORKDIR /workspace\nENTRYPOINT [\"/usr/local/bin/sagewai-entrypoint\"]\n");
    std::ofstream(*context_ + "/Dockerfile.good")
        << common
        << "COPY sagewai-entrypoint sagewai-tool-runner /usr/local/bin/\n"
           "CMD [\"sagewai-tool-runner\", \"serve\"]\n";
    // The seed's most common mistake: the runner is not in PATH.
    std::ofstream(*context_ + "/Dockerfile.no-runner")
        << common << "COPY sagewai-entrypoint /usr/local/bin/\nCMD [\"sleep\", \"infinity\"]\n";
    // A runner user that is the agent's uid (900 for both, the socket
    // directory's owner): the runner serves, and its tools may signal it
    // and replace its socket. The agent works in its home (uid 900 cannot
    // enter the scratch /workspace validate mounts).
    std::ofstream(*context_ + "/Dockerfile.same-uid")
        << "FROM " << BaseImage() << "\nLABEL org.sagewai.test-run=" << suffix << "\n"
        << "RUN groupadd --gid 900 agent && useradd --uid 900 --gid 900 --create-home agent "
           "&& useradd --non-unique --uid 900 --gid 900 --no-create-home --shell "
           "/usr/sbin/nologin sagewai && install -d -o 900 -g 0 -m 0770 /workspace /run/sagewai\n"
           "ENV AGENT_WORKDIR=/home/agent\nWORKDIR /workspace\n"
           "COPY sagewai-entrypoint sagewai-tool-runner /usr/local/bin/\n"
           "ENTRYPOINT [\"/usr/local/bin/sagewai-entrypoint\"]\n"
           "CMD [\"sagewai-tool-runner\", \"serve\"]\n";
    for (const auto& [tag, file] :
         {std::pair{*good_, "Dockerfile.good"}, std::pair{*no_runner_, "Dockerfile.no-runner"},
          std::pair{*same_uid_, "Dockerfile.same-uid"}}) {
      ProcessResult build =
          Exec({"docker", "build", "-q", "-t", tag, "-f", *context_ + "/" + file, *context_});
      if (build.exit_code != 0) {
        error_ = new std::string(absl::StrCat("docker build ", tag, " failed: ", build.err));
        return;
      }
    }
  }

  static void TearDownTestSuite() {
    if (good_ != nullptr) Exec({"docker", "rmi", "-f", *good_, *no_runner_, *same_uid_});
    if (context_ != nullptr) std::filesystem::remove_all(*context_);
  }

  void SetUp() override {
    if (skip_ != nullptr) GTEST_SKIP() << *skip_;
    ASSERT_EQ(error_, nullptr) << *error_;
  }

  static std::string* skip_;
  static std::string* error_;
  static std::string* context_;
  static std::string* good_;
  static std::string* no_runner_;
  static std::string* same_uid_;
};

std::string* CliValidateTest::skip_ = nullptr;
std::string* CliValidateTest::error_ = nullptr;
std::string* CliValidateTest::context_ = nullptr;
std::string* CliValidateTest::good_ = nullptr;
std::string* CliValidateTest::no_runner_ = nullptr;
std::string* CliValidateTest::same_uid_ = nullptr;

TEST_F(CliValidateTest, AnImageBuiltLikeSandboxBasePasses) {
  ValidateRun run = Validate({*good_}, *good_);
  const ProcessResult& r = run.result;
  const std::vector<std::string> expected = {
      R"(✓ image pulled \(image id sha256:[0-9a-f]{64}\))",
      R"(✓ container starts)",
      R"(✓ sagewai-tool-runner --version → 0\.1\.[0-9]+ \(compatible\))",
      R"(✓ bash echo round-trip → [0-9.]+ ms)",
      R"(✓ /workspace writable)",
      R"(✓ env scrub: HOST_SECRET not visible)",
      R"(✓ PID 1 is sagewai-entrypoint)",
      R"(✓ tools run unprivileged \(uid 1000, CapEff 0, NoNewPrivs 1\))",
      R"(✓ a tool cannot signal the runner \(kill -0 → EPERM\))",
      R"(✓ a tool cannot replace the runner's socket \(unlink, rename → refused\))",
      R"(✓ stdio protocol \(docker exec -i … sagewai-tool-runner\) → ok in [0-9]+ ms)",
      R"(✓ docker stop → [0-9.]+ s)",
      R"(PASS — image is compatible with this SDK)",
  };
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), expected.size()) << r.out << r.err;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_TRUE(std::regex_match(lines[i], std::regex(expected[i])))
        << "line " << i << ": " << lines[i] << "\nexpected: " << expected[i];
  }
  EXPECT_EQ(r.exit_code, kExitOk) << r.out << r.err;
  EXPECT_EQ(run.leftovers, "");
}

TEST_F(CliValidateTest, RunnerNotInPathNamesTheRemedy) {
  ValidateRun run = Validate({*no_runner_, "--start-timeout", "2"}, *no_runner_);
  const ProcessResult& r = run.result;
  EXPECT_EQ(r.exit_code, kExitCheckFailed) << r.out << r.err;
  std::vector<std::string> lines = Lines(r.out);
  EXPECT_THAT(lines, Contains("✓ container starts"));
  EXPECT_THAT(lines, Contains("✗ sagewai-tool-runner not found in PATH"));
  EXPECT_THAT(r.out, HasSubstr("re-inherit from ghcr.io/sagewai/sandbox-base and retry"));
  EXPECT_THAT(lines, Contains(StartsWith("✗ bash echo round-trip: the runner is not serving")));
  ASSERT_FALSE(lines.empty());
  EXPECT_THAT(lines.back(), StartsWith("FAIL — "));
  EXPECT_EQ(run.leftovers, "");
}

TEST_F(CliValidateTest, ARunnerSharingTheToolsUidFailsTheIsolationChecks) {
  ValidateRun run = Validate({*same_uid_}, *same_uid_);
  const ProcessResult& r = run.result;
  EXPECT_EQ(r.exit_code, kExitCheckFailed) << r.out << r.err;
  std::vector<std::string> lines = Lines(r.out);
  EXPECT_THAT(lines, Contains("✓ tools run unprivileged (uid 900, CapEff 0, NoNewPrivs 1)"));
  // A warning, then the two checks with their remedy.
  EXPECT_THAT(lines, Contains(StartsWith("⚠ tools share the runner's uid (the runner user "
                                         "\"sagewai\" has the agent's uid")));
  EXPECT_THAT(lines,
              Contains(::testing::MatchesRegex(
                  "✗ a tool cannot signal the runner \\(pid [0-9]+\\): kill -0 succeeded, so a "
                  "tool can kill it")));
  EXPECT_THAT(lines, Contains("✗ a tool cannot replace the runner's socket: a tool removed it; a "
                              "tool renamed over it — a tool could listen in its place and "
                              "receive the host's calls"));
  EXPECT_THAT(r.out, HasSubstr("→ the runner must not share the tools' uid: the image must create "
                               "the system user `sagewai` (uid 900, gid 900)"));
  // The checks after it still run.
  EXPECT_THAT(lines, Contains(StartsWith("✓ stdio protocol")));
  EXPECT_THAT(lines, Contains(StartsWith("✓ docker stop")));
  EXPECT_EQ(run.leftovers, "");
}

TEST_F(CliValidateTest, AnImageThatCannotBePulled) {
  ProcessResult r = Exec({kCli, "validate", "registry.invalid/sagewai/absent:1"});
  EXPECT_EQ(r.exit_code, kExitCheckFailed);
  EXPECT_THAT(r.out, StartsWith("✗ image pull failed: "));
  EXPECT_THAT(r.out, HasSubstr("docker login"));
}

TEST_F(CliValidateTest, KeepLeavesTheContainerRunning) {
  ProcessResult r = Exec({kCli, "validate", *good_, "--keep"});
  EXPECT_THAT(r.out, HasSubstr("- docker stop: skipped (--keep leaves the container running)"));
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(r.err, m, std::regex("kept: container ([0-9a-f]+), directory (\\S+)")))
      << r.err;
  ProcessResult state = Exec({"docker", "inspect", "-f", "{{.State.Running}}", m[1].str()});
  EXPECT_EQ(state.out, "true\n");
  EXPECT_TRUE(std::filesystem::exists(m[2].str() + "/run/tool-runner.sock"));
  Exec({"docker", "rm", "-f", m[1].str()});
  std::filesystem::remove_all(m[2].str());
}

// The real image, when scripts/build-images.sh has built it on this host.
TEST_F(CliValidateTest, SandboxBaseImagePasses) {
  const std::string image = "sandbox-base:" SAGEWAI_VERSION;
  if (Exec({"docker", "image", "inspect", image}).exit_code != 0) {
    GTEST_SKIP() << image << " is not built here (scripts/build-images.sh builds it)";
  }
  ProcessResult r = Exec({kCli, "validate", image});
  EXPECT_EQ(r.exit_code, kExitOk) << r.out << r.err;
  EXPECT_THAT(Lines(r.out), Contains("PASS — image is compatible with this SDK"));
}

}  // namespace
}  // namespace sagewai::cli
