#include "tests/bench/bench_util.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/grpc_client_auth.h"
#include "common/token_file.h"

extern char** environ;

namespace sagewai::bench {

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t i = static_cast<size_t>(p * static_cast<double>(samples.size() - 1) + 0.5);
  return samples[std::min(i, samples.size() - 1)];
}

std::string Fixed(double value, int decimals) { return absl::StrFormat("%.*f", decimals, value); }

int Options::Int(const std::string& name, int fallback) const {
  std::optional<std::string> value = args.Last(name);
  if (!value || value->empty()) return fallback;
  char* end = nullptr;
  const long parsed = std::strtol(value->c_str(), &end, 10);
  return *end == '\0' ? static_cast<int>(parsed) : fallback;
}

std::string Options::Str(const std::string& name, const std::string& fallback) const {
  return args.Last(name).value_or(fallback);
}

std::optional<Options> ParseOptions(int argc, char** argv, const std::vector<std::string>& extra,
                                    const std::string& usage) {
  std::vector<flags::FlagSpec> specs = {{"addr", true}, {"token-file", true}};
  for (const std::string& name : extra) specs.push_back({name, true});
  Options options;
  std::string error;
  if (!flags::ParseFlags(std::vector<std::string>(argv + 1, argv + argc), specs,
                         flags::PositionalMode::kInterleaved, &options.args, &error) ||
      !options.args.positionals.empty() || !options.args.Has("addr") ||
      !options.args.Has("token-file")) {
    if (error.empty()) error = "--addr and --token-file are needed, and nothing else";
    std::fprintf(stderr, "%s\nusage: %s\n", error.c_str(), usage.c_str());
    return std::nullopt;
  }
  options.addr = *options.args.Last("addr");
  options.token_file = *options.args.Last("token-file");
  return options;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const Options& options) {
  absl::StatusOr<TokenFromFile> token = ReadTokenFile(options.token_file);
  if (!token.ok()) return token.status();
  for (const std::string& warning : token->warnings) std::fprintf(stderr, "%s\n", warning.c_str());
  ClientAuthOptions auth;
  auth.peer = options.addr;
  auth.token_source = "--token-file " + options.token_file;
  return NewAuthenticatedChannel(options.addr, grpc::ChannelArguments(), token->token, auth);
}

double SpawnAndWait(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  const Clock::time_point start = Clock::now();
  pid_t pid;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  const double ms = Ms(Clock::now() - start);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ms : -1;
}

void Failures::Add(const grpc::Status& status) {
  // gRPC's codes are absl's, number for number.
  AddKind(absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code())),
          status.error_message());
}

void Failures::AddKind(const std::string& kind, const std::string& example) {
  Kind& k = kinds_[kind];
  if (k.count++ == 0) k.example = example;
  ++total_;
}

void Failures::Merge(const Failures& other) {
  for (const auto& [name, kind] : other.kinds_) {
    Kind& k = kinds_[name];
    if (k.count == 0) k.example = kind.example;
    k.count += kind.count;
  }
  total_ += other.total_;
}

std::string Failures::Summary() const {
  if (total_ == 0) return "0";
  std::vector<std::pair<int, std::string>> by_count;
  for (const auto& [name, kind] : kinds_) by_count.emplace_back(-kind.count, name);
  std::sort(by_count.begin(), by_count.end());
  std::vector<std::string> parts;
  for (const auto& [count, name] : by_count) parts.push_back(absl::StrCat(-count, " ", name));
  return absl::StrJoin(parts, ", ");
}

std::vector<std::string> Failures::Examples() const {
  std::vector<std::string> out;
  for (const auto& [name, kind] : kinds_) out.push_back(absl::StrCat(name, ": ", kind.example));
  return out;
}

std::string Table::Render() const {
  auto line = [](const std::vector<std::string>& cells) {
    return absl::StrCat("| ", absl::StrJoin(cells, " | "), " |\n");
  };
  std::string out = line(header_);
  out += line(std::vector<std::string>(header_.size(), "---"));
  for (const std::vector<std::string>& row : rows_) out += line(row);
  return out;
}

void Table::Print() const { std::printf("%s\n", Render().c_str()); }

}  // namespace sagewai::bench
