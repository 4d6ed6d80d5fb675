// absl::Status → grpc::Status (the codes share their numbers).
#ifndef SAGEWAI_TOOL_RUNNER_CORE_GRPC_STATUS_H_
#define SAGEWAI_TOOL_RUNNER_CORE_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"

namespace sagewai {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_CORE_GRPC_STATUS_H_
