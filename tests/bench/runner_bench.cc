// `make bench`: latency and throughput of Bash.Run over the unix socket,
// measured side by side with a local `bash -c echo` in the same run. Reports,
// never asserts.
//
//   runner_bench --addr unix:///path.sock --token-file F [--rounds N] [--pid PID]
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/grpc_client_auth.h"
#include "grpcpp/grpcpp.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace v1 = ::sagewai::sandbox::v1;
using Clock = std::chrono::steady_clock;

extern char** environ;

namespace {

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * (v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// fork/exec/wait of `bash -c 'echo x'` with output to /dev/null.
double LocalBashEcho() {
  const char* argv[] = {"/bin/bash", "-c", "echo x >/dev/null", nullptr};
  auto start = Clock::now();
  pid_t pid;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, const_cast<char**>(argv), environ) != 0) return -1;
  int status;
  waitpid(pid, &status, 0);
  return Ms(Clock::now() - start);
}

long RssKb(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string addr, token;
  int rounds = 300;
  int pid = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--addr") addr = argv[i + 1];
    if (a == "--token-file") {
      std::ifstream(argv[i + 1]) >> token;
    }
    if (a == "--rounds") rounds = std::stoi(argv[i + 1]);
    if (a == "--pid") pid = std::stoi(argv[i + 1]);
  }
  if (addr.empty()) {
    std::fprintf(stderr, "usage: runner_bench --addr ADDR --token-file F [--rounds N] [--pid PID]\n");
    return 2;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      sagewai::NewAuthenticatedChannel(addr, grpc::ChannelArguments(), token, {});
  if (!channel.ok()) {
    std::fprintf(stderr, "%s\n", std::string(channel.status().message()).c_str());
    return 1;
  }
  auto stub = v1::Bash::NewStub(*channel);
  auto call = [&](const std::string& command) {
    grpc::ClientContext ctx;
    v1::BashRequest req;
    req.set_command(command);
    v1::BashResult res;
    return stub->Run(&ctx, req, &res).ok() && res.exit_code() == 0;
  };
  for (int i = 0; i < 20; ++i) call("echo warm");

  // Interleaved so both see the same machine load.
  std::vector<double> local, grpc_ms;
  for (int i = 0; i < rounds; ++i) {
    local.push_back(LocalBashEcho());
    auto start = Clock::now();
    if (!call("echo x")) {
      std::fprintf(stderr, "runner_bench: a call failed\n");
      return 1;
    }
    grpc_ms.push_back(Ms(Clock::now() - start));
  }
  std::printf("### bash `echo` round trip (%d rounds, interleaved)\n\n", rounds);
  std::printf("| path | p50 ms | p99 ms |\n|---|---|---|\n");
  std::printf("| local `bash -c echo` (fork/exec/wait) | %.3f | %.3f |\n", Percentile(local, .5),
              Percentile(local, .99));
  std::printf("| Bash.Run over the unix socket | %.3f | %.3f |\n", Percentile(grpc_ms, .5),
              Percentile(grpc_ms, .99));
  std::printf("\nratio gRPC/local at p50: **%.2fx** (target ≤ 2x)\n\n",
              Percentile(grpc_ms, .5) / Percentile(local, .5));

  std::printf("### throughput of `echo x` calls\n\n| concurrent callers | calls/s | failures | runner RSS (KiB) |\n|---|---|---|---|\n");
  for (int callers : {1, 16, 256}) {
    const int per_caller = std::max(4, 2000 / callers);
    std::atomic<int> failures{0};
    std::atomic<long> peak_rss{0};
    std::atomic<bool> done{false};
    std::thread sampler([&] {
      while (!done && pid > 0) {
        long r = RssKb(pid);
        if (r > peak_rss) peak_rss = r;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
    auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int c = 0; c < callers; ++c) {
      threads.emplace_back([&] {
        for (int k = 0; k < per_caller; ++k) {
          if (!call("echo x")) ++failures;
        }
      });
    }
    for (auto& t : threads) t.join();
    const double secs = Ms(Clock::now() - start) / 1000.0;
    done = true;
    sampler.join();
    std::printf("| %d | %.0f | %d | %ld |\n", callers, callers * per_caller / secs, failures.load(),
                peak_rss.load());
  }
  std::printf("\n");
  return 0;
}
