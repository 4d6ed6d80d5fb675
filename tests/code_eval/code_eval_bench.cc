// `make bench` (scripts/bench-eval.sh): CodeEval round trips over the unix
// socket — a warm context per language, one-shot evals, context creation —
// beside a local fork/exec of the same interpreter. Reports, never asserts.
// One-shot evals and new contexts are served from a spare interpreter when
// one is ready, so they are measured both back to back and spaced out.
//
//   code_eval_bench --addr unix:///path.sock --token-file F [--rounds N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tests/bench/bench_util.h"

namespace v1 = ::sagewai::sandbox::v1;
namespace bench = ::sagewai::bench;
using bench::Clock;
using bench::Fixed;
using bench::Ms;
using bench::Percentile;

namespace {

class EvalClient {
 public:
  // `channel` signs every call (common/grpc_client_auth.h).
  explicit EvalClient(std::shared_ptr<grpc::Channel> channel)
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
  std::optional<bench::Options> options = bench::ParseOptions(
      argc, argv, {"rounds"}, "code_eval_bench --addr ADDR --token-file F [--rounds N]");
  if (!options) return 2;
  const int rounds = std::max(1, options->Int("rounds", 200));
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = bench::Connect(*options);
  if (!channel.ok()) {
    std::fprintf(stderr, "code_eval_bench: %s\n", channel.status().ToString().c_str());
    return 1;
  }
  EvalClient client(*channel);
  const int few = std::max(5, rounds / 10);
  std::vector<Row> rows;
  std::vector<std::string> notes;

  const std::string py = client.Create("python");
  if (py.empty()) {
    std::fprintf(stderr,
                 "code_eval_bench: cannot create a python context (is python3 installed?)\n");
    return 1;
  }
  rows.push_back(Measure("warm python context: `x = 1`", rounds, 20,
                         [&] { return client.Eval(py, "", "x = 1"); }));
  rows.push_back(Measure("warm python context: `x + 1` (a display result)", rounds, 20,
                         [&] { return client.Eval(py, "", "x + 1"); }));
  rows.push_back(Measure("one-shot python eval, back to back", few, 2,
                         [&] { return client.Eval("", "python", "1 + 1"); }));
  // Calls a moment apart, as an agent makes them: the spare interpreter the
  // runner keeps for this set-up is ready each time.
  rows.push_back(Measure("one-shot python eval, 0.3 s apart", few, 2, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return client.Eval("", "python", "1 + 1");
  }));
  rows.push_back(Measure("local `python3 -c pass` (fork/exec/wait, no runner)", few, 2, [] {
    return bench::SpawnAndWait({"python3", "-c", "pass"});
  }));
  rows.push_back(Measure("CreateContext (python), 0.3 s apart", few, 1, [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto start = Clock::now();
    std::string id = client.Create("python");
    if (id.empty()) return -1.0;
    const double ms = Ms(Clock::now() - start);
    client.Delete(id);
    return ms;
  }));
  client.Delete(py);

  for (const auto& [language, code] :
       std::vector<std::pair<std::string, std::string>>{{"bash", "true"}, {"node", "1"}}) {
    const std::string id = client.Create(language);
    if (id.empty()) {
      notes.push_back("no " + language + " context (" + language + " is not installed?)");
      continue;
    }
    rows.push_back(Measure("warm " + language + " context: `" + code + "`", rounds, 20,
                           [&, id = id, code = code] { return client.Eval(id, "", code); }));
    client.Delete(id);
  }

  std::printf("### CodeEval round trips over the unix socket\n\n");
  bench::Table table({"case", "rounds", "p50 ms", "p99 ms", "failures"});
  for (const Row& row : rows) {
    table.AddRow({row.name, std::to_string(row.ms.size()), Fixed(Percentile(row.ms, .5), 3),
                  Fixed(Percentile(row.ms, .99), 3), std::to_string(row.failures)});
  }
  std::printf("%s", table.Render().c_str());
  for (const std::string& note : notes) std::printf("\n%s\n", note.c_str());
  std::printf("\n");
  return 0;
}
