// The runner is a child subreaper that reaps with waitpid(-1): under a storm
// of orphans reparented to it, every Bash.Run call and every one-shot
// interpreter must still get its own true exit status (the one reaper routes
// each pid's status to its owner; nothing else may wait for a child).
#include <dirent.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tests/runner/runner_process.h"
#include "tests/runner/wait_for.h"

namespace sagewai::testing {
namespace {

namespace v1 = ::sagewai::sandbox::v1;
using std::chrono::milliseconds;
using ::testing::HasSubstr;

constexpr int kBashCalls = 2000;
constexpr int kEvalCalls = 120;
constexpr int kClientThreads = 6;

// Signals a tool may die of without a core dump being written.
constexpr int kDeathSignals[] = {SIGKILL, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE};

// About 100 orphans a second until `stop` appears, half of them already
// exited (zombies with a status of their own), half still sleeping a few
// milliseconds; prints how many it made.
std::string OrphanStorm(const std::string& stop) {
  return "n=0; while [ ! -e '" + stop +
         "' ]; do"
         " for i in 1 2 3 4 5; do"
         "  ( sleep 0.00$((RANDOM % 10)) & ); ( (exit $((RANDOM % 256))) & );"
         " done; n=$((n + 10)); sleep 0.1;"
         " done; echo $n";
}

// What one call asks for and what its result must say.
struct Expected {
  std::string command;
  int exit_code = 0;
  int signal = 0;
};

// A call that ends with `code` or dies of a signal, after leaving an orphan
// of its own group that exits with another code at about the same moment.
Expected RandomBashCall(std::mt19937& rng) {
  Expected e;
  const int code = static_cast<int>(rng() % 256);
  const std::string decoy = "( (exit " + std::to_string((code + 1) % 256) + ") & ); ";
  switch (rng() % 10) {
    case 0: {
      e.signal = kDeathSignals[rng() % std::size(kDeathSignals)];
      e.exit_code = 128 + e.signal;
      e.command = decoy + "kill -" + std::to_string(e.signal) + " $$";
      break;
    }
    case 1:  // the leader is replaced by another program
      e.exit_code = code;
      e.command = decoy + "exec /bin/sh -c 'exit " + std::to_string(code) + "'";
      break;
    default:
      e.exit_code = code;
      e.command = decoy + "exit " + std::to_string(code);
  }
  return e;
}

// Zombies whose parent is `parent`, from /proc/PID/stat.
int ZombieChildren(pid_t parent) {
  int zombies = 0;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return -1;
  while (dirent* e = readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // pid (comm) state ppid ...: comm may hold spaces and parentheses.
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == parent &&
        state == 'Z') {
      ++zombies;
    }
  }
  closedir(proc);
  return zombies;
}

class ReapStressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runner_ = std::make_unique<RunnerProcess>();
    ASSERT_TRUE(runner_->started()) << runner_->ReadLog();
    bash_ = v1::Bash::NewStub(runner_->channel());
    eval_ = v1::CodeEval::NewStub(runner_->channel());
  }

  std::unique_ptr<RunnerProcess> runner_;
  std::unique_ptr<v1::Bash::Stub> bash_;
  std::unique_ptr<v1::CodeEval::Stub> eval_;
};

TEST_F(ReapStressTest, EveryCallAndInterpreterGetsItsOwnExitStatusAmidOrphans) {
  const std::string stop = runner_->dir() + "/stop-orphans";
  v1::BashResult storm_result;
  grpc::Status storm_status;
  std::thread storm([&] {
    v1::BashRequest req;
    req.set_command(OrphanStorm(stop));
    req.set_timeout_ms(120000);
    auto ctx = runner_->Context(milliseconds(150000));
    storm_status = bash_->Run(ctx.get(), req, &storm_result);
  });
  const bool python = access("/usr/bin/python3", X_OK) == 0;

  std::atomic<int> next{0}, bash_done{0}, eval_done{0}, failed{0};
  std::mutex mu;
  std::vector<std::string> failures;
  auto fail = [&](std::string what) {
    ++failed;
    std::lock_guard<std::mutex> lock(mu);
    if (failures.size() < 20) failures.push_back(std::move(what));
  };
  auto client = [&](unsigned seed) {
    std::mt19937 rng(seed);
    // A stolen status hangs its call until the deadline: a few are proof
    // enough, and the rest would only make the run long.
    for (int i = next++; i < kBashCalls + kEvalCalls && failed < 10; i = next++) {
      // Every (kBashCalls / kEvalCalls)-th call is an eval, spread over the run.
      if (python && i % (kBashCalls / kEvalCalls + 1) == 0) {
        const int code = static_cast<int>(rng() % 256);
        const bool killed = rng() % 4 == 0;
        v1::EvalRequest req;
        req.set_code(killed ? "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
                            : "import os\nos._exit(" + std::to_string(code) + ")");
        req.set_timeout_ms(10000);
        v1::EvalResult r;
        auto ctx = runner_->Context(milliseconds(20000));
        grpc::Status st = eval_->Eval(ctx.get(), req, &r);
        const std::string want =
            killed ? "was killed by signal 9" : "exited with status " + std::to_string(code);
        if (!st.ok()) {
          fail("eval " + req.code() + ": " + st.error_message());
        } else if (!r.context_dead() || r.error().message().find(want) == std::string::npos) {
          fail("eval " + req.code() + ": wanted \"" + want + "\", got \"" + r.error().message() +
               "\"");
        }
        ++eval_done;
        continue;
      }
      const Expected e = RandomBashCall(rng);
      v1::BashRequest req;
      req.set_command(e.command);
      req.set_timeout_ms(10000);
      v1::BashResult r;
      auto ctx = runner_->Context(milliseconds(20000));
      grpc::Status st = bash_->Run(ctx.get(), req, &r);
      if (!st.ok()) {
        fail(e.command + ": " + st.error_message());
      } else if (r.exit_code() != e.exit_code || r.signal() != e.signal || r.timed_out()) {
        fail(e.command + ": wanted exit_code " + std::to_string(e.exit_code) + " signal " +
             std::to_string(e.signal) + ", got " + std::to_string(r.exit_code()) + " signal " +
             std::to_string(r.signal()) + (r.timed_out() ? " (timed out)" : ""));
      }
      ++bash_done;
    }
  };
  std::vector<std::thread> clients;
  std::random_device seeds;
  for (int t = 0; t < kClientThreads; ++t) clients.emplace_back(client, seeds());
  for (auto& c : clients) c.join();

  std::ofstream(stop).close();
  storm.join();
  for (const std::string& f : failures) ADD_FAILURE() << f;
  EXPECT_EQ(failed.load(), 0);
  if (failed == 0) EXPECT_EQ(bash_done.load() + eval_done.load(), kBashCalls + kEvalCalls);
  if (!python) GTEST_LOG_(INFO) << "no /usr/bin/python3: the interpreter half did not run";
  ASSERT_TRUE(storm_status.ok()) << storm_status.error_message();
  EXPECT_EQ(storm_result.exit_code(), 0) << storm_result.stderr();
  const int orphans = std::atoi(storm_result.stdout().c_str());
  EXPECT_GT(orphans, 0) << "the storm made no orphans: " << storm_result.stdout();
  GTEST_LOG_(INFO) << bash_done.load() << " calls and " << eval_done.load() << " evals beside "
                   << orphans << " orphans of the storm";

  // The runner reaped every orphan: none is left a zombie once the last
  // sleeper has ended (no event says so; polled).
  EXPECT_TRUE(WaitUntil([&] { return ZombieChildren(runner_->pid()) == 0; }, milliseconds(10000)))
      << ZombieChildren(runner_->pid()) << " zombies left under the runner";
}

}  // namespace
}  // namespace sagewai::testing
