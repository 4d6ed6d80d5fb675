#include "tests/bench/bench_util.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sagewai::bench {
namespace {

using ::testing::ElementsAre;

TEST(PercentileTest, NearestRankOfUnsortedSamples) {
  const std::vector<double> samples = {5, 1, 4, 2, 3};
  EXPECT_EQ(Percentile(samples, 0), 1);
  EXPECT_EQ(Percentile(samples, .5), 3);
  EXPECT_EQ(Percentile(samples, .99), 5);
  EXPECT_EQ(Percentile(samples, 1), 5);
}

TEST(PercentileTest, NoSamplesIsZero) { EXPECT_EQ(Percentile({}, .5), 0); }

TEST(FixedTest, Digits) {
  EXPECT_EQ(Fixed(4.91349, 3), "4.913");
  EXPECT_EQ(Fixed(77.06, 1), "77.1");
}

std::optional<Options> Parse(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParseOptions(static_cast<int>(argv.size()), argv.data(), {"rounds", "container"},
                      "bench --addr A --token-file F");
}

TEST(ParseOptionsTest, CommonAndOwnFlags) {
  std::optional<Options> options = Parse(
      {"bench", "--addr", "unix:///s.sock", "--token-file=/t", "--rounds", "7", "--rounds", "9"});
  ASSERT_TRUE(options.has_value());
  EXPECT_EQ(options->addr, "unix:///s.sock");
  EXPECT_EQ(options->token_file, "/t");
  EXPECT_EQ(options->Int("rounds", 1), 9);
  EXPECT_EQ(options->Str("container", "none"), "none");
}

TEST(ParseOptionsTest, NotANumberGivesTheFallback) {
  std::optional<Options> options =
      Parse({"bench", "--addr", "a", "--token-file", "t", "--rounds", "7x"});
  ASSERT_TRUE(options.has_value());
  EXPECT_EQ(options->Int("rounds", 3), 3);
}

TEST(ParseOptionsTest, RefusesMissingOrUnknownFlags) {
  EXPECT_FALSE(Parse({"bench", "--addr", "a"}).has_value());
  EXPECT_FALSE(Parse({"bench", "--addr", "a", "--token-file", "t", "--pid", "1"}).has_value());
  EXPECT_FALSE(Parse({"bench", "--addr", "a", "--token-file", "t", "extra"}).has_value());
}

TEST(SpawnAndWaitTest, TimesSuccessAndRefusesFailure) {
  EXPECT_GE(SpawnAndWait({"true"}), 0);
  EXPECT_EQ(SpawnAndWait({"false"}), -1);
  EXPECT_EQ(SpawnAndWait({"/nonexistent/program"}), -1);
}

TEST(FailuresTest, CountsByStatusCodeLargestFirst) {
  Failures a;
  EXPECT_EQ(a.Summary(), "0");
  a.Add(grpc::Status(grpc::StatusCode::UNAVAILABLE, "gone"));
  Failures b;
  b.Add(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "pids limit"));
  b.Add(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "pids limit again"));
  b.AddKind("exit 1", "stderr");
  a.Merge(b);
  EXPECT_EQ(a.total(), 4);
  EXPECT_EQ(a.Summary(), "2 RESOURCE_EXHAUSTED, 1 UNAVAILABLE, 1 exit 1");
  EXPECT_THAT(a.Examples(),
              ElementsAre("RESOURCE_EXHAUSTED: pids limit", "UNAVAILABLE: gone", "exit 1: stderr"));
}

TEST(TableTest, RendersMarkdown) {
  Table table({"path", "p50 ms"});
  table.AddRow({"gRPC", "4.900"});
  EXPECT_EQ(table.Render(), "| path | p50 ms |\n| --- | --- |\n| gRPC | 4.900 |\n");
}

}  // namespace
}  // namespace sagewai::bench
