#include "tool-runner/server/auth_service.h"

#include "tool-runner/core/grpc_status.h"

namespace sagewai {

grpc::ServerUnaryReactor* AuthService::Challenge(
    grpc::CallbackServerContext* context, const sagewai::sandbox::v1::ChallengeRequest* request,
    sagewai::sandbox::v1::ChallengeResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<TokenAuth::Challenge> challenge = auth_.NewChallenge(request->client_nonce());
  if (!challenge.ok()) {
    reactor->Finish(ToGrpcStatus(challenge.status()));
    return reactor;
  }
  response->set_scheme(std::string(session_auth::kScheme));
  response->set_server_nonce(challenge->server_nonce);
  response->set_server_proof(challenge->server_proof.data(), challenge->server_proof.size());
  response->set_idle_expiry_ms(static_cast<uint64_t>(challenge->idle_expiry.count()));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace sagewai
