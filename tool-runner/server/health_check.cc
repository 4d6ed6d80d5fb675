#include "tool-runner/server/health_check.h"

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tool-runner/server/listen_address.h"

namespace sagewai {

absl::Status CheckHealth(const std::string& addr, std::chrono::milliseconds timeout) {
  auto parsed = ParseListenAddress(addr);
  if (!parsed.ok()) return parsed.status();
  auto channel = grpc::CreateChannel(parsed->GrpcTarget(), grpc::InsecureChannelCredentials());
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    return absl::UnavailableError(
        absl::StrCat(parsed->ToString(), ": ", status.error_message()));
  }
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::UnavailableError(absl::StrCat(
        parsed->ToString(), " is not serving (status ",
        grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status()), ")"));
  }
  return absl::OkStatus();
}

}  // namespace sagewai
