// `sagewai-tool-runner serve`: the gRPC server's set-up, run and shutdown.
#ifndef SAGEWAI_TOOL_RUNNER_SERVER_SERVER_H_
#define SAGEWAI_TOOL_RUNNER_SERVER_SERVER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tool-runner/code_eval/code_eval_manager.h"
#include "tool-runner/core/runner_context.h"

namespace sagewai {

struct ServeOptions {
  // Empty: the default socket (or its /tmp fallback).
  std::vector<std::string> listen;
  RunnerLimits limits;
  code_eval::CodeEvalOptions code_eval;
  std::string workdir;
  std::vector<std::string> pass_env;
  // Also accept `authorization: Bearer <token>` (old clients; see auth.h).
  bool allow_bearer = false;
  // Shorter than the call grace: `docker stop` must return well inside 1 s.
  std::chrono::milliseconds shutdown_grace{200};
};

// Serves until SIGTERM or SIGINT, then stops accepting, ends every running
// call (process groups killed) and returns OK. An empty token serves unix
// sockets only. Must be called before any other thread exists: it blocks the
// signals it waits for, and SIGCHLD, for the whole process.
absl::Status Serve(const ServeOptions& options, std::string token);

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SERVER_SERVER_H_
