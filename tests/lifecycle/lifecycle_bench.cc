// `make bench` (scripts/bench-docker.sh): the `echo` round trip into one
// running sandbox, interleaved in one run on the same container, by three
// paths and one reference:
//   - gRPC Bash.Run over the sandbox's unix socket;
//   - the reference: `bash -c 'echo x'` forked by a bash inside the same
//     container, as the runner's tool user under the same limits, timed
//     there with $EPOCHREALTIME (the timing loop is one Bash.Run, untimed);
//   - the existing worker's path, `docker exec -i CID sagewai-tool-runner`
//     with one JSON-RPC line;
//   - for scale, `bash -c echo` spawned on the host.
// Prints a markdown table and the two ratios of issue 10; reports, never
// asserts.
//
//   lifecycle_bench --addr unix:///…/tool-runner.sock --token-file F
//                   --container CID [--rounds N] [--docker PATH]
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tests/bench/bench_util.h"

namespace v1 = ::sagewai::sandbox::v1;
namespace bench = ::sagewai::bench;
using bench::Clock;
using bench::Fixed;
using bench::Percentile;

extern char** environ;

namespace {

// gRPC calls (and in-container and host references) per docker exec: the
// gRPC p99 then rests on enough samples.
constexpr int kPerRound = 5;

// One JSON-RPC `exec` of `echo x` through `docker exec -i`: the time until
// the response line is read and the process reaped, or -1 on failure.
double DockerExecEcho(const std::string& docker, const std::string& container) {
  static const std::string kRequest =
      R"({"jsonrpc":"2.0","id":1,"method":"exec","params":{"tool":"bash","args":{"command":"echo x"},"call_id":"b","timeout_s":30}})"
      "\n";
  int in[2];
  int out[2];
  if (pipe2(in, O_CLOEXEC) != 0) return -1;
  sagewai::UniqueFd in_read(in[0]), in_write(in[1]);
  if (pipe2(out, O_CLOEXEC) != 0) return -1;
  sagewai::UniqueFd out_read(out[0]), out_write(out[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  const char* argv[] = {docker.c_str(),        "exec", "-i", container.c_str(),
                        "sagewai-tool-runner", nullptr};
  const Clock::time_point start = Clock::now();
  pid_t pid;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  in_read.reset();
  out_write.reset();
  if (rc != 0) return -1;
  const bool sent = write(in_write.get(), kRequest.data(), kRequest.size()) ==
                    static_cast<ssize_t>(kRequest.size());
  in_write.reset();
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = read(out_read.get(), buf, sizeof buf)) > 0) {
    response.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  const double ms = bench::Ms(Clock::now() - start);
  const bool ok = sent && response.find("\"ok\":true") != std::string::npos &&
                  response.find("\"stdout\":\"x\\n\"") != std::string::npos;
  return ok ? ms : -1;
}

class Sandbox {
 public:
  explicit Sandbox(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::Bash::NewStub(std::move(channel))) {}

  // One Bash.Run of `echo x`: milliseconds, or -1 (counted in `failures`).
  double Echo(bench::Failures& failures) {
    v1::BashResult res;
    const Clock::time_point start = Clock::now();
    grpc::Status status = Run("echo x", &res);
    const double ms = bench::Ms(Clock::now() - start);
    if (!status.ok()) {
      failures.Add(status);
      return -1;
    }
    if (res.exit_code() != 0 || res.stdout() != "x\n") {
      failures.AddKind("exit " + std::to_string(res.exit_code()), res.stderr());
      return -1;
    }
    return ms;
  }

  // `count` × `bash -c 'echo x'` forked by one bash inside the sandbox, each
  // timed there from just before the fork to just after the reap; appends
  // milliseconds to `out`.
  void InsideBashEcho(int count, std::vector<double>& out, bench::Failures& failures) {
    const std::string loop =
        "for ((i = 0; i < " + std::to_string(count) +
        "; i++)); do t0=${EPOCHREALTIME//[!0-9]/}; /bin/bash -c 'echo x' >/dev/null || exit 1;"
        " t1=${EPOCHREALTIME//[!0-9]/}; echo $((t1 - t0)); done";
    v1::BashResult res;
    grpc::Status status = Run(loop, &res);
    if (!status.ok()) {
      failures.Add(status);
      return;
    }
    if (res.exit_code() != 0) {
      failures.AddKind("exit " + std::to_string(res.exit_code()), res.stderr());
      return;
    }
    std::istringstream lines(res.stdout());
    long us;
    while (lines >> us) out.push_back(static_cast<double>(us) / 1000.0);
  }

 private:
  grpc::Status Run(const std::string& command, v1::BashResult* res) {
    grpc::ClientContext ctx;
    v1::BashRequest req;
    req.set_command(command);
    return stub_->Run(&ctx, req, res);
  }

  std::unique_ptr<v1::Bash::Stub> stub_;
};

std::vector<std::string> Row(const std::string& path, const std::vector<double>& ms, int decimals) {
  return {path, std::to_string(ms.size()), Fixed(Percentile(ms, .5), decimals),
          Fixed(Percentile(ms, .99), decimals)};
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<bench::Options> options = bench::ParseOptions(
      argc, argv, {"container", "rounds", "docker"},
      "lifecycle_bench --addr ADDR --token-file F --container CID [--rounds N] [--docker PATH]");
  if (!options) return 2;
  const std::string container = options->Str("container", "");
  const std::string docker = options->Str("docker", "docker");
  const int rounds = std::max(1, options->Int("rounds", 40));
  if (container.empty()) {
    std::fprintf(stderr, "lifecycle_bench: --container CID is needed\n");
    return 2;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = bench::Connect(*options);
  if (!channel.ok()) {
    std::fprintf(stderr, "lifecycle_bench: %s\n", channel.status().ToString().c_str());
    return 1;
  }
  Sandbox sandbox(*channel);
  bench::Failures failures;
  std::vector<double> grpc_ms, inside_ms, host_ms, exec_ms;
  for (int i = 0; i < 10; ++i) sandbox.Echo(failures);
  sandbox.InsideBashEcho(kPerRound, inside_ms, failures);
  DockerExecEcho(docker, container);
  inside_ms.clear();
  failures = bench::Failures();

  // Interleaved so that every path sees the same machine load.
  for (int r = 0; r < rounds; ++r) {
    for (int k = 0; k < kPerRound; ++k) {
      const double host = bench::SpawnAndWait({"/bin/bash", "-c", "echo x"});
      if (host >= 0) host_ms.push_back(host);
      const double ms = sandbox.Echo(failures);
      if (ms >= 0) grpc_ms.push_back(ms);
    }
    sandbox.InsideBashEcho(kPerRound, inside_ms, failures);
    const double ms = DockerExecEcho(docker, container);
    if (ms < 0) {
      failures.AddKind("docker exec", "no ok result line");
    } else {
      exec_ms.push_back(ms);
    }
  }

  bench::Table table({"path (same container, same run)", "calls", "p50 ms", "p99 ms"});
  table.AddRow(Row("gRPC `Bash.Run` over the sandbox's unix socket", grpc_ms, 3));
  table.AddRow(
      Row("reference: `bash -c 'echo x'` forked by bash inside the container", inside_ms, 3));
  table.AddRow(Row("(for scale) `bash -c echo` spawned on the host", host_ms, 3));
  table.AddRow(
      Row("worker path: `docker exec -i CID sagewai-tool-runner`, one JSON-RPC line", exec_ms, 1));
  table.Print();
  if (failures.total() > 0) {
    std::printf("Failures: %s.\n\n", failures.Summary().c_str());
    for (const std::string& example : failures.Examples()) {
      std::printf("- %s\n", example.c_str());
    }
    std::printf("\n");
  }

  const double grpc_p50 = Percentile(grpc_ms, .5);
  const double inside_p50 = Percentile(inside_ms, .5);
  const double exec_p50 = Percentile(exec_ms, .5);
  auto ratio = [](double a, double b, int decimals) {
    return b > 0 ? Fixed(a / b, decimals) + "x" : std::string("?");
  };
  std::printf("- docker-exec path / gRPC at p50: **%s** (target ≥ 30x)\n",
              ratio(exec_p50, grpc_p50, 1).c_str());
  std::printf(
      "- gRPC / `bash -c echo` inside the same container at p50: **%s** (target ≤ 1.3x); "
      "the runner adds %s ms per call\n\n",
      ratio(grpc_p50, inside_p50, 2).c_str(), Fixed(grpc_p50 - inside_p50, 2).c_str());
  return 0;
}
