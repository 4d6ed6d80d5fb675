// The members of a stdio tool call's `args` object, checked as the worker's
// contract words them ("args.cwd must be a string"): a bad one is
// INVALID_ARGUMENT, which the dispatcher answers with -32602. An absent or
// null member takes its default. The tools turn args into the gRPC request
// messages with these, then run what the gRPC handlers run.
#ifndef SAGEWAI_TOOL_RUNNER_STDIO_STDIO_ARGS_H_
#define SAGEWAI_TOOL_RUNNER_STDIO_STDIO_ARGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/json_reader.h"

namespace sagewai::stdio {

// A string; absent with `required`: "args.<key> is required".
absl::StatusOr<std::string> StringArg(const json::Value& args, absl::string_view key,
                                      bool required = false, std::string fallback = "");
absl::StatusOr<bool> BoolArg(const json::Value& args, absl::string_view key, bool fallback);
// An integer >= 0.
absl::StatusOr<uint64_t> UintArg(const json::Value& args, absl::string_view key, uint64_t fallback);
// args.env: an object whose values are strings.
absl::StatusOr<std::map<std::string, std::string>> EnvArg(const json::Value& args);

// Reads args member by member into a request and keeps the first error, so
// that a tool's parser is one line per member:
//   ArgReader args(json);
//   request.set_cwd(args.String("cwd"));
//   return args.Finish(std::move(request));
class ArgReader {
 public:
  explicit ArgReader(const json::Value& args) : args_(args) {}

  const json::Value& args() const { return args_; }
  std::string String(absl::string_view key, bool required = false, std::string fallback = "") {
    return Take(StringArg(args_, key, required, std::move(fallback)));
  }
  bool Bool(absl::string_view key, bool fallback) { return Take(BoolArg(args_, key, fallback)); }
  uint64_t Uint(absl::string_view key, uint64_t fallback) {
    return Take(UintArg(args_, key, fallback));
  }
  std::map<std::string, std::string> Env() { return Take(EnvArg(args_)); }

  // The value, or T{} once it or an earlier member was bad.
  template <typename T>
  T Take(absl::StatusOr<T> value) {
    if (!status_.ok()) return T{};
    if (!value.ok()) {
      status_ = value.status();
      return T{};
    }
    return *std::move(value);
  }
  // Records an error of the tool's own checks (the first one counts).
  void Fail(absl::Status status) {
    if (status_.ok()) status_ = std::move(status);
  }
  bool ok() const { return status_.ok(); }
  // `request`, or the first bad member's error.
  template <typename T>
  absl::StatusOr<T> Finish(T request) const {
    if (!status_.ok()) return status_;
    return request;
  }

 private:
  const json::Value& args_;
  absl::Status status_;
};

}  // namespace sagewai::stdio

#endif  // SAGEWAI_TOOL_RUNNER_STDIO_STDIO_ARGS_H_
