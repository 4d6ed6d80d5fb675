// gRPC failures as the CLI shows them: one actionable line and an exit code
// (exit_codes.h).
#ifndef SAGEWAI_CLI_RPC_ERROR_H_
#define SAGEWAI_CLI_RPC_ERROR_H_

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "cli/runner_address.h"

namespace sagewai::cli {

// One line for the user and the exit code (see exit_codes.h).
struct CliError {
  int exit_code = 0;
  std::string message;
  // The message already says the sandbox's runner died (RunnerDeathReport).
  bool runner_died = false;
};

struct RpcErrorContext {
  const Address* address = nullptr;
  // e.g. "Bash.Stream".
  std::string method;
  std::string token_source;
  // For UNIMPLEMENTED: the runner's version if GetInfo told it.
  std::string server_version;
  // For UNAVAILABLE on unix sockets: ProbeUnixSocket's answer.
  std::string socket_probe;
  std::optional<absl::Duration> deadline;
};

int ExitCodeForRpcCode(grpc::StatusCode code);
CliError DescribeRpcError(const grpc::Status& status, const RpcErrorContext& context);

// "10 s", "2.5 s".
std::string SecondsText(absl::Duration d);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_RPC_ERROR_H_
