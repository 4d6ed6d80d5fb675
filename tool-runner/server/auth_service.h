// sagewai.sandbox.v1.Auth: the open challenge that starts a session (see
// TokenAuth). Needs no authorization: it reveals nothing an impostor could
// use, and the client needs it before it may send anything else.
#ifndef SAGEWAI_TOOL_RUNNER_SERVER_AUTH_SERVICE_H_
#define SAGEWAI_TOOL_RUNNER_SERVER_AUTH_SERVICE_H_

#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "tool-runner/core/auth.h"

namespace sagewai {

class AuthService final : public sagewai::sandbox::v1::Auth::CallbackService {
 public:
  explicit AuthService(const TokenAuth& auth) : auth_(auth) {}

  grpc::ServerUnaryReactor* Challenge(grpc::CallbackServerContext* context,
                                      const sagewai::sandbox::v1::ChallengeRequest* request,
                                      sagewai::sandbox::v1::ChallengeResponse* response) override;

 private:
  const TokenAuth& auth_;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SERVER_AUTH_SERVICE_H_
