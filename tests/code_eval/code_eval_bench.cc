// `make bench` (scripts/bench-eval.sh): CodeEval round trips over the unix
// socket — a warm context per language, one-shot evals, context creation —
// beside a local fork/exec of the same interpreter. Reports, never asserts.
// One-shot evals and new contexts are served from a spare interpreter when
// one is ready, so they are measured both back to back and spaced out.
//
//   code_eval_bench --addr unix:///path.sock --token-file F [--rounds N]
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
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

// fork/exec/wait of `program args...` with output to /dev/null; -1 on failure.
double LocalRun(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  const auto start = Clock::now();
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? Ms(Clock::now() - start) : -1;
}

class Bench {
 public:
  // `channel` signs every call (common/grpc_client_auth.h).
  explicit Bench(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::CodeEval::NewStub(std::move(channel))) {}

  std::string Create(const std::string& language) {
    grpc::ClientContext ctx;
    v1::CreateContextRequest req;
    req.set_language(language);
    v1::Context out;
    return stub_->CreateContext(&ctx, req, &out).ok() ? out.context_id() : "";
  }
  void Delete(const std::string& id) {
    grpc::ClientContext ctx;
    v1::DeleteContextRequest req;
    req.set_context_id(id);
    v1::DeleteContextResponse out;
    stub_->DeleteContext(&ctx, req, &out);
  }
  // Milliseconds, or -1 when the call failed or the code raised.
  double Eval(const std::string& id, const std::string& language, const std::string& code) {
    grpc::ClientContext ctx;
    v1::EvalRequest req;
    req.set_context_id(id);
    req.set_language(language);
    req.set_code(code);
    v1::EvalResult out;
    const auto start = Clock::now();
    grpc::Status st = stub_->Eval(&ctx, req, &out);
    const double ms = Ms(Clock::now() - start);
    return st.ok() && out.error().name().empty() ? ms : -1;
  }

 private:
  std::unique_ptr<v1::CodeEval::Stub> stub_;
};

struct Row {
  std::string name;
  std::vector<double> ms;
  int failures = 0;
};

// Runs `fn` `rounds` times after `warmup` unmeasured runs.
Row Measure(const std::string& name, int rounds, int warmup, const std::function<double()>& fn) {
  Row row{name, {}, 0};
  for (int i = 0; i < warmup; ++i) fn();
  for (int i = 0; i < rounds; ++i) {
    double ms = fn();
    if (ms < 0) {
      ++row.failures;
    } else {
      row.ms.push_back(ms);
    }
  }
  return row;
}

}  // namespace

int main(int argc, char** argv) {
  std::string addr, token;
  int rounds = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--addr") addr = argv[i + 1];
    if (a == "--token-file") std::ifstream(argv[i + 1]) >> token;
    if (a == "--rounds") rounds = std::max(1, std::stoi(argv[i + 1]));
  }
  if (addr.empty()) {
    std::fprintf(stderr, "usage: code_eval_bench --addr ADDR --token-file F [--rounds N]\n");
    return 2;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel =
      sagewai::NewAuthenticatedChannel(addr, grpc::ChannelArguments(), token, {});
  if (!channel.ok()) {
    std::fprintf(stderr, "%s\n", std::string(channel.status().message()).c_str());
    return 1;
  }
  Bench bench(*channel);
  const int few = std::max(5, rounds / 10);
  std::vector<Row> rows;
  std::vector<std::string> notes;

  const std::string py = bench.Create("python");
  if (py.empty()) {
    std::fprintf(stderr,
                 "code_eval_bench: cannot create a python context (is python3 installed?)\n");
    return 1;
  }
  rows.push_back(Measure("warm python context: `x = 1`", rounds, 20,
                         [&] { return bench.Eval(py, "", "x = 1"); }));
  rows.push_back(Measure("warm python context: `x + 1` (a display result)", rounds, 20,
                         [&] { return bench.Eval(py, "", "x + 1"); }));
  rows.push_back(Measure("one-shot python eval, back to back", few, 2,
                         [&] { return bench.Eval("", "python", "1 + 1"); }));
  // Calls a moment apart, as an agent makes them: the spare interpreter the
  // runner keeps for this set-up is ready each time.
  rows.push_back(Measure("one-shot python eval, 0.3 s apart", few, 2, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return bench.Eval("", "python", "1 + 1");
  }));
  rows.push_back(Measure("local `python3 -c pass` (fork/exec/wait, no runner)", few, 2, [] {
    return LocalRun({"python3", "-c", "pass"});
  }));
  rows.push_back(Measure("CreateContext (python), 0.3 s apart", few, 1, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto start = Clock::now();
    std::string id = bench.Create("python");
    if (id.empty()) return -1.0;
    const double ms = Ms(Clock::now() - start);
    bench.Delete(id);
    return ms;
  }));
  bench.Delete(py);

  for (const auto& [language, code] :
       std::vector<std::pair<std::string, std::string>>{{"bash", "true"}, {"node", "1"}}) {
    const std::string id = bench.Create(language);
    if (id.empty()) {
      notes.push_back("no " + language + " context (" + language + " is not installed?)");
      continue;
    }
    rows.push_back(Measure("warm " + language + " context: `" + code + "`", rounds, 20,
                           [&, id = id, code = code] { return bench.Eval(id, "", code); }));
    bench.Delete(id);
  }

  std::printf("### CodeEval round trips over the unix socket\n\n");
  std::printf("| case | rounds | p50 ms | p99 ms | failures |\n|---|---|---|---|---|\n");
  for (const Row& row : rows) {
    std::printf("| %s | %zu | %.3f | %.3f | %d |\n", row.name.c_str(), row.ms.size(),
                Percentile(row.ms, .5), Percentile(row.ms, .99), row.failures);
  }
  for (const std::string& note : notes) std::printf("\n%s\n", note.c_str());
  std::printf("\n");
  return 0;
}
