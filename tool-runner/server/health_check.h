// Client side of grpc.health.v1: used by `sagewai-tool-runner health`.
#ifndef SAGEWAI_TOOL_RUNNER_SERVER_HEALTH_CHECK_H_
#define SAGEWAI_TOOL_RUNNER_SERVER_HEALTH_CHECK_H_

#include <chrono>
#include <string>

#include "absl/status/status.h"

namespace sagewai {

// OK when the server at `addr` (unix:///path or tcp://host:port) answers
// SERVING for the overall service within `timeout`.
absl::Status CheckHealth(const std::string& addr, std::chrono::milliseconds timeout);

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SERVER_HEALTH_CHECK_H_
