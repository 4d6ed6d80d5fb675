// What the `make bench` programs (runner_bench, lifecycle_bench,
// code_eval_bench) share: their common flags, the authenticated channel to a
// runner, percentiles, failures counted by gRPC status code and the markdown
// tables they print. The programs report; nothing here asserts a timing.
#ifndef SAGEWAI_TESTS_BENCH_BENCH_UTIL_H_
#define SAGEWAI_TESTS_BENCH_BENCH_UTIL_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/flag_parser.h"

namespace sagewai::bench {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d);

// The p-quantile (0 ≤ p ≤ 1) of `samples` by nearest rank; 0 when empty.
double Percentile(std::vector<double> samples, double p);

// `value` with `decimals` digits after the point ("4.913").
std::string Fixed(double value, int decimals);

// The parsed command line: --addr and --token-file (both required) and the
// program's own value flags.
struct Options {
  std::string addr;
  std::string token_file;
  flags::ParsedArgs args;

  // The last value of --`name`, or `fallback`; a value that is not a whole
  // number also gives `fallback`.
  int Int(const std::string& name, int fallback) const;
  std::string Str(const std::string& name, const std::string& fallback) const;
};

// Parses argv[1..]. `extra` names the program's own value flags (without
// "--"). On a bad command line prints the error and `usage` to stderr and
// returns nullopt.
std::optional<Options> ParseOptions(int argc, char** argv, const std::vector<std::string>& extra,
                                    const std::string& usage);

// Reads --token-file and runs the session handshake with the runner at
// --addr: every stub on the channel is signed (common/grpc_client_auth.h).
absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const Options& options);

// Spawns `argv` (looked up in PATH) with stdout on /dev/null and waits: the
// milliseconds from spawn to reap, or -1 unless it exited 0.
double SpawnAndWait(const std::vector<std::string>& argv);

// Failed calls by kind: a gRPC status code ("RESOURCE_EXHAUSTED") or a
// result the caller did not expect ("exit 1"). Not thread-safe: one per
// thread, merged after join.
class Failures {
 public:
  void Add(const grpc::Status& status);
  void AddKind(const std::string& kind, const std::string& example);
  void Merge(const Failures& other);

  int total() const { return total_; }
  // "0", or the kinds by count, largest first: "12 RESOURCE_EXHAUSTED, 1 exit 1".
  std::string Summary() const;
  // The first message seen of each kind: "RESOURCE_EXHAUSTED: fork: ...".
  std::vector<std::string> Examples() const;

 private:
  struct Kind {
    int count = 0;
    std::string example;
  };
  std::map<std::string, Kind> kinds_;
  int total_ = 0;
};

// A markdown table, rendered once every row is in.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  // The header, the separator and the rows, each line ending in '\n'.
  std::string Render() const;
  // Render() and a blank line on stdout.
  void Print() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace sagewai::bench

#endif  // SAGEWAI_TESTS_BENCH_BENCH_UTIL_H_
