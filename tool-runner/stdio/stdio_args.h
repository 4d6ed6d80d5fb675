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

}  // namespace sagewai::stdio

#endif  // SAGEWAI_TOOL_RUNNER_STDIO_STDIO_ARGS_H_
