#include "cli/sandbox_start.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include "cli/docker.h"

namespace sagewai::cli {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

absl::StatusOr<StartOptions> Options(const std::vector<std::string>& args) {
  absl::StatusOr<ParsedArgs> parsed =
      ParseArgs(args, StartFlagSpecs(), PositionalMode::kInterleaved);
  if (!parsed.ok()) return parsed.status();
  return StartOptionsFromFlags(*parsed);
}

TEST(SandboxStartTest, Sizes) {
  EXPECT_EQ(*ParseSize("1048576"), 1048576);
  EXPECT_EQ(*ParseSize("512m"), 512LL << 20);
  EXPECT_EQ(*ParseSize("10g"), 10LL << 30);
  EXPECT_EQ(*ParseSize("10G"), 10LL << 30);
  EXPECT_EQ(*ParseSize("10GiB"), 10LL << 30);
  EXPECT_EQ(*ParseSize("64MB"), 64LL << 20);
  EXPECT_EQ(*ParseSize("1.5g"), 3LL << 29);
  EXPECT_EQ(*ParseSize("4k"), 4096);
  for (const char* bad : {"", "g", "-1g", "0", "1x", "1.2.3m", "abc", "1e400"}) {
    EXPECT_FALSE(ParseSize(bad).ok()) << bad;
  }
  EXPECT_EQ(FormatSize(1LL << 30), "1 GiB");
  EXPECT_EQ(FormatSize(1536), "1.5 KiB");
  EXPECT_EQ(FormatSize(100), "100 bytes");
}

TEST(SandboxStartTest, DefaultsAreProductions) {
  absl::StatusOr<StartOptions> o = Options({});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->image, std::string("sandbox-base:") + SAGEWAI_VERSION);
  EXPECT_EQ(o->network, "none");
  EXPECT_EQ(o->cpus, "1");
  EXPECT_EQ(o->memory_bytes, 1LL << 30);
  EXPECT_EQ(o->pids, 256);
  EXPECT_FALSE(o->disk_bytes);
  EXPECT_EQ(o->lifetime, "per_run");
}

TEST(SandboxStartTest, GVisorGetsRoomForItsOwnThreads) {
  EXPECT_EQ(Options({"--runtime", "runsc"})->pids, kDefaultPidsGVisor);
  EXPECT_EQ(Options({"--runtime", "runsc-kvm"})->pids, kDefaultPidsGVisor);
  EXPECT_EQ(Options({"--runtime", "runc"})->pids, kDefaultPids);
  // An explicit limit is kept under every runtime.
  EXPECT_EQ(Options({"--runtime", "runsc", "--pids", "300"})->pids, 300);
}

TEST(SandboxStartTest, OptionsAreChecked) {
  absl::StatusOr<StartOptions> o =
      Options({"--image", "img:1",  "--network", "bridge", "--cpu", "0.5",       "--mem",
               "2g",      "--pids", "64",        "--disk", "100m",  "--project", "p",
               "--run",   "r",      "--env",     "A=1",    "--env", "B=x=y"});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->network, "bridge");
  EXPECT_EQ(o->cpus, "0.5");
  EXPECT_EQ(o->memory_bytes, 2LL << 30);
  EXPECT_EQ(o->pids, 64);
  EXPECT_EQ(o->disk_bytes, 100LL << 20);
  ASSERT_EQ(o->env.size(), 2u);
  EXPECT_EQ(o->env[1].second, "x=y");

  EXPECT_THAT(Options({"--network", "host"}).status().message(), HasSubstr("none"));
  EXPECT_FALSE(Options({"--cpu", "0"}).ok());
  EXPECT_FALSE(Options({"--mem", "1k"}).ok());
  EXPECT_FALSE(Options({"--pids", "two"}).ok());
  EXPECT_FALSE(Options({"--image", "-x"}).ok());
  EXPECT_FALSE(Options({"--env", "1A=2"}).ok());
  EXPECT_THAT(Options({"--env", "SESSION_TOKEN=x"}).status().message(), HasSubstr("fresh token"));
  unsetenv("SAGEWAI_TEST_UNSET");
  EXPECT_FALSE(Options({"--env", "SAGEWAI_TEST_UNSET"}).ok());
  setenv("SAGEWAI_TEST_SET", "v", 1);
  EXPECT_EQ(Options({"--env", "SAGEWAI_TEST_SET"})->env[0].second, "v");
  EXPECT_THAT(Options({"--workspace", "/nonexistent/dir"}).status().message(),
              HasSubstr("not an existing directory"));
}

// --disk is enforced or refused, never ignored.
TEST(SandboxStartTest, DiskWithAHostWorkspaceIsRefused) {
  absl::StatusOr<StartOptions> o = Options({"--disk", "1g", "--workspace", "/tmp"});
  ASSERT_FALSE(o.ok());
  EXPECT_THAT(o.status().message(), HasSubstr("--disk cannot be enforced on --workspace"));
}

TEST(SandboxStartTest, DiskBecomesASizedWorkspaceTmpfs) {
  ContainerSpec spec;
  spec.image = "img";
  spec.name = "n";
  spec.workspace_tmpfs_bytes = 100 << 20;
  spec.network = "bridge";
  spec.cpus = "2";
  spec.memory = "4294967296";
  spec.pids_limit = 64;
  spec.no_pull = true;
  std::vector<std::string> args = BuildRunArgs(spec);
  EXPECT_THAT(args, Contains("/workspace:rw,exec,nosuid,nodev,size=104857600,uid=1000,gid=1000,"
                             "mode=0770"));
  EXPECT_THAT(args, Contains("bridge"));
  EXPECT_THAT(args, Contains("4294967296"));
  EXPECT_THAT(args, Contains("64"));
  EXPECT_THAT(args, Contains("never"));
  // A host workspace wins (start never combines the two).
  spec.workspace_dir = "/w";
  EXPECT_THAT(BuildRunArgs(spec), Not(Contains(HasSubstr("/workspace:rw"))));
}

}  // namespace
}  // namespace sagewai::cli
