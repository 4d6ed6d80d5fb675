// PID 1 reaps with waitpid(-1): while orphans of every kind are reparented
// to it (already exited, still running, one producer that outlives the
// child), the entrypoint must still end with its own child's exit status.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <random>
#include <string>
#include <vector>

#include "tests/entrypoint/entrypoint_fixture.h"

namespace sagewai::entrypoint_test {
namespace {

constexpr int kRounds = 40;
// Orphans each round leaves before its child ends.
constexpr int kOrphansPerRound = 60;
constexpr int kDeathSignals[] = {SIGKILL, SIGTERM, SIGHUP, SIGUSR1, SIGALRM};

// A child that leaves orphans (exited with codes of their own, and sleeping
// a few milliseconds), starts a producer that keeps leaving them after the
// child is gone, and then ends as `end` says.
std::string StormThen(const std::string& end) {
  return "for i in $(seq " + std::to_string(kOrphansPerRound / 2) +
         "); do"
         " ( (exit $((RANDOM % 256))) & ); ( sleep 0.00$((RANDOM % 5)) & );"
         " done;"
         " ( while :; do ( (exit $((RANDOM % 256))) & ); done & );"
         " " +
         end;
}

class ReapStressTest : public Fixture {};

TEST_F(ReapStressTest, Pid1EndsWithItsChildsStatusAmidOrphans) {
  REQUIRE_PID1();
  std::mt19937 rng(std::random_device{}());
  int orphans_reaped = 0;
  for (int round = 0; round < kRounds; ++round) {
    int want;
    std::string end;
    if (round % 5 == 4) {
      const int sig = kDeathSignals[rng() % std::size(kDeathSignals)];
      want = 128 + sig;
      end = "kill -" + std::to_string(sig) + " $$";
    } else {
      // The edges first, then any code.
      const int edges[] = {0, 1, 255, 128};
      want = round < 4 ? edges[round] : static_cast<int>(rng() % 256);
      end = "exit " + std::to_string(want);
    }
    Result r = RunToEnd(AsPid1({"/bin/bash", "-c", StormThen(end)}),
                        AgentEnv("root", {"SAGEWAI_LOG_LEVEL=debug"}));
    EXPECT_EQ(r.code, want) << "round " << round << " (" << end << "): " << r.err;
    orphans_reaped += CountOccurrences(r.err, "reaped an orphan");
  }
  // Proof that the storm reached PID 1 (the entrypoint logs each orphan at
  // debug level).
  EXPECT_GT(orphans_reaped, kRounds) << "orphans never reached PID 1";
  GTEST_LOG_(INFO) << kRounds << " children, " << orphans_reaped << " orphans reaped by PID 1";
}

}  // namespace
}  // namespace sagewai::entrypoint_test
