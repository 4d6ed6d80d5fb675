// What `eval` and `context` share: their --env K=V entries, and the
// connection to the runner (the CodeEval service), waited for.
#ifndef SAGEWAI_CLI_EVAL_COMMON_H_
#define SAGEWAI_CLI_EVAL_COMMON_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cli/connection.h"

namespace sagewai::cli {

// NAME=VALUE entries into `env`; InvalidArgument naming the bad one.
absl::Status ParseEnvEntries(const std::vector<std::string>& entries,
                             std::map<std::string, std::string>* env);

// ConnectOrReport, then a wait of up to 10 s for the channel; the line
// saying why goes to stderr and null is returned with *exit_code set.
std::unique_ptr<Connection> ConnectAndWait(const std::optional<std::string>& addr,
                                           const std::optional<std::string>& token_file,
                                           int* exit_code);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_EVAL_COMMON_H_
