// Listen addresses: `unix:///path` or `tcp://host:port`.
#ifndef SAGEWAI_TOOL_RUNNER_SERVER_LISTEN_ADDRESS_H_
#define SAGEWAI_TOOL_RUNNER_SERVER_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sagewai {

struct ListenAddress {
  enum class Kind { kUnix, kTcp };
  Kind kind;
  std::string path;  // unix
  std::string host;  // tcp
  int port = 0;      // tcp; 0 picks a free port

  // The form gRPC's AddListeningPort / CreateChannel take.
  std::string GrpcTarget() const;
  std::string ToString() const;
};

// Accepts unix:///abs/path, unix:/abs/path, a bare /abs/path, tcp://host:port
// and tcp://[v6]:port. Anything else is INVALID_ARGUMENT with the accepted
// forms in the message.
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view text);

inline constexpr absl::string_view kDefaultSocketPath = "/run/sagewai/tool-runner.sock";
inline constexpr absl::string_view kFallbackSocketPath = "/tmp/sagewai/tool-runner.sock";

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SERVER_LISTEN_ADDRESS_H_
