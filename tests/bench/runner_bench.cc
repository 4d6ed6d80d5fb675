// `make bench`: latency and throughput of Bash.Run over the unix socket,
// measured side by side with a local `bash -c echo` in the same run. Failed
// calls are counted by gRPC status code. Reports, never asserts.
//
//   runner_bench --addr unix:///path.sock --token-file F [--rounds N] [--pid PID]
//                [--calls N]
//   --rounds 0 prints the throughput table alone; --pid samples that
//   process's RSS during it; --calls is the number of calls per row.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tests/bench/bench_util.h"

namespace v1 = ::sagewai::sandbox::v1;
namespace bench = ::sagewai::bench;
using bench::Clock;
using bench::Fixed;
using bench::Percentile;

namespace {

long RssKb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// One `echo x` through Bash.Run; a failure lands in `failures`.
bool Echo(v1::Bash::Stub& stub, bench::Failures& failures) {
  grpc::ClientContext ctx;
  v1::BashRequest req;
  req.set_command("echo x");
  v1::BashResult res;
  grpc::Status status = stub.Run(&ctx, req, &res);
  if (!status.ok()) {
    failures.Add(status);
    return false;
  }
  if (res.exit_code() != 0 || res.stdout() != "x\n") {
    failures.AddKind("exit " + std::to_string(res.exit_code()), res.stderr());
    return false;
  }
  return true;
}

void PrintExamples(const bench::Failures& failures) {
  for (const std::string& example : failures.Examples()) {
    std::printf("- first failure of its kind: %s\n", example.c_str());
  }
  if (failures.total() > 0) std::printf("\n");
}

void Latency(v1::Bash::Stub& stub, int rounds) {
  // Interleaved so both see the same machine load.
  std::vector<double> local, grpc_ms;
  bench::Failures local_failures, grpc_failures;
  for (int i = 0; i < rounds; ++i) {
    const double ms = bench::SpawnAndWait({"/bin/bash", "-c", "echo x"});
    if (ms < 0) {
      local_failures.AddKind("spawn or exit", "");
    } else {
      local.push_back(ms);
    }
    const Clock::time_point start = Clock::now();
    if (Echo(stub, grpc_failures)) grpc_ms.push_back(bench::Ms(Clock::now() - start));
  }
  std::printf("### bash `echo` round trip (%d rounds, interleaved)\n\n", rounds);
  bench::Table table({"path", "calls", "p50 ms", "p99 ms", "failures"});
  table.AddRow({"local `bash -c echo` (posix_spawn/wait)", std::to_string(local.size()),
                Fixed(Percentile(local, .5), 3), Fixed(Percentile(local, .99), 3),
                local_failures.Summary()});
  table.AddRow({"Bash.Run over the unix socket", std::to_string(grpc_ms.size()),
                Fixed(Percentile(grpc_ms, .5), 3), Fixed(Percentile(grpc_ms, .99), 3),
                grpc_failures.Summary()});
  table.Print();
  PrintExamples(grpc_failures);
  const double local_p50 = Percentile(local, .5);
  std::printf("Bash.Run / local `bash -c echo` at p50: **%sx** (target ≤ 2x)\n\n",
              local_p50 > 0 ? Fixed(Percentile(grpc_ms, .5) / local_p50, 2).c_str() : "?");
}

void Throughput(v1::Bash::Stub& stub, int calls, int pid) {
  std::printf("### throughput of `echo x` calls (about %d calls per row)\n\n", calls);
  bench::Table table({"concurrent callers", "calls", "calls/s", "failures", "runner RSS (KiB)"});
  bench::Failures all;
  for (int callers : {1, 16, 256}) {
    const int per_caller = std::max(4, (calls + callers - 1) / callers);
    std::atomic<long> peak_rss{0};
    std::atomic<bool> done{false};
    std::thread sampler([&] {
      while (!done && pid > 0) {
        const long r = RssKb(pid);
        if (r > peak_rss) peak_rss = r;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
    std::vector<bench::Failures> failures(static_cast<size_t>(callers));
    const Clock::time_point start = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < callers; ++c) {
      threads.emplace_back([&, c] {
        for (int k = 0; k < per_caller; ++k) Echo(stub, failures[static_cast<size_t>(c)]);
      });
    }
    for (std::thread& t : threads) t.join();
    const double secs = bench::Ms(Clock::now() - start) / 1000.0;
    done = true;
    sampler.join();
    bench::Failures row;
    for (const bench::Failures& f : failures) row.Merge(f);
    all.Merge(row);
    table.AddRow({std::to_string(callers), std::to_string(callers * per_caller),
                  Fixed(callers * per_caller / secs, 0), row.Summary(),
                  pid > 0 ? std::to_string(peak_rss.load()) : "-"});
  }
  table.Print();
  PrintExamples(all);
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<bench::Options> options = bench::ParseOptions(
      argc, argv, {"rounds", "pid", "calls"},
      "runner_bench --addr ADDR --token-file F [--rounds N] [--pid PID] [--calls N]");
  if (!options) return 2;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = bench::Connect(*options);
  if (!channel.ok()) {
    std::fprintf(stderr, "runner_bench: %s\n", channel.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<v1::Bash::Stub> stub = v1::Bash::NewStub(*channel);
  bench::Failures warmup;
  for (int i = 0; i < 20; ++i) Echo(*stub, warmup);

  const int rounds = options->Int("rounds", 300);
  if (rounds > 0) Latency(*stub, rounds);
  // --calls 0: the latency rounds alone (scripts/bench-profile.sh).
  const int calls = options->Int("calls", 2000);
  if (calls > 0) Throughput(*stub, calls, options->Int("pid", 0));
  return 0;
}
