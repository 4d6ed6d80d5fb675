// Bearer-token check for gRPC calls.
#ifndef SAGEWAI_TOOL_RUNNER_AUTH_H_
#define SAGEWAI_TOOL_RUNNER_AUTH_H_

#include <string>

#include "absl/strings/string_view.h"
#include "grpcpp/grpcpp.h"

namespace sagewai {

// Compares in time that depends only on the lengths, never on where the
// first difference is.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

class TokenAuth {
 public:
  // An empty token turns the check off (unix sockets only; see server.cc).
  explicit TokenAuth(std::string token) : token_(std::move(token)) {}

  bool enabled() const { return !token_.empty(); }
  // OK, or UNAUTHENTICATED naming what was wrong (never what was sent).
  grpc::Status Check(const grpc::CallbackServerContext& context) const;

 private:
  std::string token_;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_AUTH_H_
