#include "cli/docker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sagewai::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsSubsetOf;
using ::testing::Not;

// The flag pairs of `args` as "flag value" strings, for order-free checks.
std::vector<std::string> Pairs(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i].rfind("--", 0) == 0) out.push_back(args[i] + " " + args[i + 1]);
  }
  return out;
}

TEST(CliBuildRunArgsTest, ProductionHardening) {
  ContainerSpec spec;
  spec.image = "ghcr.io/x/sandbox:1.0";
  spec.name = "sagewai-validate-ab";
  spec.workspace_dir = "/tmp/v/workspace";
  spec.socket_dir = "/tmp/v/run";
  spec.env_names = {"SESSION_TOKEN"};
  spec.labels = {"org.sagewai.validate=1"};
  std::vector<std::string> args = BuildRunArgs(spec);
  EXPECT_EQ(args[0], "run");
  EXPECT_EQ(args.back(), "ghcr.io/x/sandbox:1.0");
  std::vector<std::string> expected = {
      "--cap-drop ALL",
      "--cap-add SETUID",
      "--cap-add SETGID",
      "--cap-add SETPCAP",
      "--security-opt no-new-privileges",
      "--tmpfs /tmp:rw,noexec,nosuid,size=64m",
      "--network none",
      "--pids-limit 256",
      "--memory 1g",
      "--cpus 1",
      "--name sagewai-validate-ab",
      "--label org.sagewai.validate=1",
      "--mount type=bind,source=/tmp/v/workspace,target=/workspace",
      "--mount type=bind,source=/tmp/v/run,target=/run/sagewai",
      // The value comes from docker's environment, never from argv.
      "--env SESSION_TOKEN",
  };
  EXPECT_THAT(expected, IsSubsetOf(Pairs(args)));
  EXPECT_THAT(args, ::testing::Contains("--read-only"));
  EXPECT_THAT(args, ::testing::Contains("--detach"));
  EXPECT_THAT(args, Not(::testing::Contains("--runtime")));
  spec.runtime = "runsc";
  EXPECT_THAT(Pairs(BuildRunArgs(spec)), ::testing::Contains("--runtime runsc"));
}

TEST(CliImageIdentityTest, ParseAndDescribe) {
  ImageIdentity local = ParseImageInspect("sha256:aaa\n");
  EXPECT_EQ(local.id, "sha256:aaa");
  EXPECT_EQ(DescribeImageIdentity(local, "sandbox-base:dev"), "image id sha256:aaa");

  ImageIdentity pulled =
      ParseImageInspect("sha256:aaa other/repo@sha256:ooo ghcr.io/x/y@sha256:bbb\n");
  EXPECT_THAT(pulled.repo_digests, ElementsAre("other/repo@sha256:ooo", "ghcr.io/x/y@sha256:bbb"));
  EXPECT_EQ(DescribeImageIdentity(pulled, "ghcr.io/x/y:1.0"), "digest sha256:bbb");
  EXPECT_EQ(DescribeImageIdentity(pulled, "unrelated:1"), "digest sha256:ooo");

  ImageIdentity hub = ParseImageInspect("sha256:aaa debian@sha256:ddd");
  EXPECT_EQ(DescribeImageIdentity(hub, "docker.io/library/debian:bookworm-slim"),
            "digest sha256:ddd");
  ImageIdentity registry_port = ParseImageInspect("sha256:aaa localhost:5000/y@sha256:eee");
  EXPECT_EQ(DescribeImageIdentity(registry_port, "localhost:5000/y"), "digest sha256:eee");
}

TEST(CliDockerErrorLineTest, SkipsHelpHints) {
  EXPECT_EQ(DockerErrorLine("docker: Error response from daemon: Unknown runtime specified runsc\n"
                            "\nRun 'docker run --help' for more information\n"),
            "docker: Error response from daemon: Unknown runtime specified runsc");
  EXPECT_EQ(DockerErrorLine("x\nSee 'docker run --help'.\n"), "x");
}

TEST(CliLastLineTest, SkipsBlankLines) {
  EXPECT_EQ(LastLine("a\nb\n\n  \n"), "b");
  EXPECT_EQ(LastLine(""), "");
}

// A fake docker (a shell script) proves the arguments reach it as argv and
// the secrets as environment only.
TEST(CliDockerTest, PassesArgvAndEnvironment) {
  char dir_template[] = "/tmp/sagewai-docker-test-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  std::string fake = dir + "/docker";
  FILE* f = fopen(fake.c_str(), "w");
  fputs(
      "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done\necho\necho "
      "\"tok=$SESSION_TOKEN\"\n",
      f);
  fclose(f);
  chmod(fake.c_str(), 0755);
  Docker docker(fake);
  auto r = docker.Run({"run", "a b", "--env", "SESSION_TOKEN"}, absl::Seconds(10), std::nullopt,
                      {"SESSION_TOKEN=s3cret"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "[run][a b][--env][SESSION_TOKEN]\ntok=s3cret\n");
  std::system(("rm -rf " + dir).c_str());
}

TEST(CliDockerTest, ServerVersionReportsAnUnreachableDaemon) {
  char dir_template[] = "/tmp/sagewai-docker-test-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  std::string fake = dir + "/docker";
  FILE* f = fopen(fake.c_str(), "w");
  fputs(
      "#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2\n"
      "exit 1\n",
      f);
  fclose(f);
  chmod(fake.c_str(), 0755);
  auto v = Docker(fake).ServerVersion();
  EXPECT_EQ(v.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(v.status().ToString(), HasSubstr("Cannot connect to the Docker daemon"));
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace sagewai::cli
