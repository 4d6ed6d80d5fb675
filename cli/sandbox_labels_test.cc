#include "cli/sandbox_labels.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_join.h"

namespace sagewai::cli {
namespace {

using ::testing::Contains;

TEST(SandboxLabelsTest, TheWorkersLabelsAndOurs) {
  SandboxLabelValues v;
  v.sandbox_id = "sbx-1";
  v.run_id = "run-7";
  v.project_id = "proj";
  v.image = "sandbox-base:0.1.0";
  v.lifetime = "per_run";
  v.started_at = absl::FromUnixSeconds(1700000000);
  v.state_dir = "/var/lib/sagewai-sandbox/sbx-1";
  std::vector<std::string> labels = SandboxLabels(v);
  for (const char* expected :
       {"sagewai.sandbox_id=sbx-1", "sagewai.run_id=run-7", "sagewai.project_id=proj",
        "sagewai.image=sandbox-base:0.1.0", "sagewai.lifetime=per_run",
        "sagewai.started_at=2023-11-14T22:13:20Z", "sagewai.managed_by=sagewai-sandbox",
        "sagewai.state_dir=/var/lib/sagewai-sandbox/sbx-1"}) {
    EXPECT_THAT(labels, Contains(expected));
  }
}

TEST(SandboxLabelsTest, StartedAtInTheFormsOthersWrite) {
  const absl::Time t = absl::FromUnixSeconds(1700000000);
  EXPECT_EQ(ParseStartedAt("2023-11-14T22:13:20Z"), t);
  EXPECT_EQ(ParseStartedAt("2023-11-14T23:13:20+01:00"), t);
  EXPECT_EQ(ParseStartedAt("2023-11-14T22:13:20.000000Z"), t);
  EXPECT_EQ(ParseStartedAt("1700000000"), t);
  EXPECT_EQ(ParseStartedAt("1700000000.5"), t + absl::Milliseconds(500));
  EXPECT_EQ(ParseStartedAt(""), std::nullopt);
  EXPECT_EQ(ParseStartedAt("yesterday"), std::nullopt);
  EXPECT_EQ(ParseStartedAt("-5"), std::nullopt);
}

TEST(SandboxLabelsTest, ParsesDockerPsLines) {
  const std::vector<std::string> ours = {"c1",       "sagewai-sbx-1",
                                         "running",  "2023-11-14 22:13:20 +0000 UTC",
                                         "sbx-1",    "run-7",
                                         "proj",     "img:1",
                                         "per_run",  "2023-11-14T22:13:20Z",
                                         "/s/sbx-1", "sagewai-sandbox"};
  // The worker's: no state dir, no started_at of a known form: the
  // container's creation time is the age.
  const std::vector<std::string> workers = {
      "c2",   "w", "exited", "2023-11-14 22:00:00 +0000 UTC", "w-1", "", "", "", "per_tool",
      "soon", "",  ""};
  std::string out = absl::StrJoin(ours, "\t") + "\n" + absl::StrJoin(workers, "\t") + "\nshort\n";
  std::vector<SandboxListing> list = ParseListing(out);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].container_id, "c1");
  EXPECT_EQ(list[0].sandbox_id, "sbx-1");
  EXPECT_EQ(list[0].state, "running");
  EXPECT_EQ(list[0].state_dir, "/s/sbx-1");
  EXPECT_EQ(list[0].managed_by, "sagewai-sandbox");
  EXPECT_EQ(list[0].started_at, absl::FromUnixSeconds(1700000000));
  EXPECT_EQ(list[1].sandbox_id, "w-1");
  EXPECT_EQ(list[1].started_at, absl::FromUnixSeconds(1700000000 - 800));
  // The list asks for every sandbox container, running or not.
  std::vector<std::string> args = ListArgs();
  EXPECT_THAT(args, Contains("--all"));
  EXPECT_THAT(args, Contains("label=sagewai.sandbox_id"));
}

TEST(SandboxLabelsTest, Ages) {
  EXPECT_EQ(FormatAge(absl::Seconds(45)), "45s");
  EXPECT_EQ(FormatAge(absl::Minutes(12) + absl::Seconds(3)), "12m");
  EXPECT_EQ(FormatAge(absl::Hours(3)), "3h");
  EXPECT_EQ(FormatAge(absl::Hours(3) + absl::Minutes(5)), "3h5m");
  EXPECT_EQ(FormatAge(absl::Hours(52)), "2d4h");
  EXPECT_EQ(FormatAge(-absl::Seconds(3)), "0s");
  EXPECT_EQ(*ParseAge("10m"), absl::Minutes(10));
  EXPECT_EQ(*ParseAge("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseAge("2d"), absl::Hours(48));
  EXPECT_EQ(*ParseAge("90"), absl::Seconds(90));
  EXPECT_EQ(*ParseAge("0s"), absl::ZeroDuration());
  for (const char* bad : {"", "m", "10x", "-5m", "1.5h", "ten"}) {
    EXPECT_FALSE(ParseAge(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace sagewai::cli
