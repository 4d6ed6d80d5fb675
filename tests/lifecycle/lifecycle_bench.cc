// `make bench` (scripts/bench-docker.sh): the `echo` round trip into one
// running sandbox, over gRPC on its unix socket and over the existing
// worker's path — `docker exec -i CID sagewai-tool-runner` with one JSON-RPC
// line — interleaved on the same container in the same run. Prints a
// markdown table; reports, never asserts.
//
//   lifecycle_bench --addr unix:///…/tool-runner.sock --token-file F
//                   --container CID [--rounds N] [--docker PATH]
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
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

// One JSON-RPC `exec` of `echo x` through `docker exec -i`: the time until
// the response line is read and the process reaped, or -1 on failure.
double DockerExecEcho(const std::string& docker, const std::string& container) {
  static const std::string kRequest =
      R"({"jsonrpc":"2.0","id":1,"method":"exec","params":{"tool":"bash","args":{"command":"echo x"},"call_id":"b","timeout_s":30}})"
      "\n";
  int in[2];
  int out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  const char* argv[] = {docker.c_str(),        "exec", "-i", container.c_str(),
                        "sagewai-tool-runner", nullptr};
  const auto start = Clock::now();
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(in[0]);
  close(out[1]);
  if (rc != 0) {
    close(in[1]);
    close(out[0]);
    return -1;
  }
  ssize_t ignored = write(in[1], kRequest.data(), kRequest.size());
  (void)ignored;
  close(in[1]);
  std::string response;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) response.append(buf, static_cast<size_t>(n));
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  const double ms = Ms(Clock::now() - start);
  const bool ok = response.find("\"ok\":true") != std::string::npos &&
                  response.find("\"stdout\":\"x\\n\"") != std::string::npos;
  return ok ? ms : -1;
}

// fork/exec/wait of `bash -c 'echo x'` on the host: what any path has to pay
// for the command itself.
double LocalBashEcho() {
  const char* argv[] = {"/bin/bash", "-c", "echo x >/dev/null", nullptr};
  const auto start = Clock::now();
  pid_t pid;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    return -1;
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return Ms(Clock::now() - start);
}

}  // namespace

int main(int argc, char** argv) {
  std::string addr, token, container, docker = "docker";
  int rounds = 40;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--addr") addr = argv[i + 1];
    if (a == "--token-file") std::ifstream(argv[i + 1]) >> token;
    if (a == "--container") container = argv[i + 1];
    if (a == "--rounds") rounds = std::stoi(argv[i + 1]);
    if (a == "--docker") docker = argv[i + 1];
  }
  if (addr.empty() || container.empty()) {
    std::fprintf(
        stderr, "usage: lifecycle_bench --addr ADDR --token-file F --container CID [--rounds N]\n");
    return 2;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      sagewai::NewAuthenticatedChannel(addr, grpc::ChannelArguments(), token, {});
  if (!channel.ok()) {
    std::fprintf(stderr, "%s\n", std::string(channel.status().message()).c_str());
    return 1;
  }
  auto stub = v1::Bash::NewStub(*channel);
  auto grpc_echo = [&]() -> double {
    grpc::ClientContext ctx;
    v1::BashRequest req;
    req.set_command("echo x");
    v1::BashResult res;
    const auto start = Clock::now();
    grpc::Status status = stub->Run(&ctx, req, &res);
    const double ms = Ms(Clock::now() - start);
    return status.ok() && res.exit_code() == 0 && res.stdout() == "x\n" ? ms : -1;
  };
  for (int i = 0; i < 10; ++i) grpc_echo();
  DockerExecEcho(docker, container);

  // Interleaved so both see the same machine load; gRPC gets several calls
  // per docker exec so that its p99 rests on enough samples.
  constexpr int kGrpcPerRound = 5;
  std::vector<double> grpc_ms, exec_ms, local_ms;
  int failures = 0;
  for (int r = 0; r < rounds; ++r) {
    for (int k = 0; k < kGrpcPerRound; ++k) {
      local_ms.push_back(LocalBashEcho());
      double ms = grpc_echo();
      if (ms < 0) {
        ++failures;
      } else {
        grpc_ms.push_back(ms);
      }
    }
    double ms = DockerExecEcho(docker, container);
    if (ms < 0) {
      ++failures;
    } else {
      exec_ms.push_back(ms);
    }
  }
  std::printf("| path (same container, same run) | calls | p50 ms | p99 ms |\n|---|---|---|---|\n");
  std::printf("| gRPC `Bash.Run` over the sandbox's unix socket | %zu | %.3f | %.3f |\n",
              grpc_ms.size(), Percentile(grpc_ms, .5), Percentile(grpc_ms, .99));
  std::printf(
      "| (for scale) local `bash -c echo` fork/exec/wait on the host | %zu | %.3f | %.3f |\n",
      local_ms.size(), Percentile(local_ms, .5), Percentile(local_ms, .99));
  std::printf(
      "| worker path: `docker exec -i CID sagewai-tool-runner`, one JSON-RPC line | %zu | %.1f | "
      "%.1f |\n",
      exec_ms.size(), Percentile(exec_ms, .5), Percentile(exec_ms, .99));
  const double ratio =
      Percentile(grpc_ms, .5) > 0 ? Percentile(exec_ms, .5) / Percentile(grpc_ms, .5) : 0;
  std::printf("\ngRPC is **%.0fx** faster at p50 (target ≥ 30x)%s\n\n", ratio,
              failures > 0 ? " — some calls failed, see the counts" : "");
  return 0;
}
