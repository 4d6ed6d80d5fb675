// Whom sagewai-sandbox accepts at the other end of a connection, as the
// command line says: --peer-uid, --peer-pid, --allow-bearer (and
// $SAGEWAI_ALLOW_BEARER), taken out of any runner command's options.
#ifndef SAGEWAI_CLI_CONNECTION_POLICY_H_
#define SAGEWAI_CLI_CONNECTION_POLICY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cli/peer_check.h"

namespace sagewai::cli {

// "1": like --allow-bearer.
inline constexpr char kAllowBearerEnv[] = "SAGEWAI_ALLOW_BEARER";

// Whom the CLI accepts at the other end: --peer-uid / --peer-pid (or, for
// --sandbox, the runner's host pid), and --allow-bearer / $SAGEWAI_ALLOW_BEARER
// for an old runner without Auth.Challenge.
struct ConnectionPolicy {
  PeerExpectation peer;
  bool allow_bearer = false;
};

// Takes --peer-uid N, --peer-pid N and --allow-bearer (also as --name=N) out
// of the options in `args` for ConnectFromFlags, like ExtractSandboxFlag
// (same `stop_at_positional` and `value_flags`). InvalidArgument for a value
// that is not a uid or pid.
absl::Status ExtractConnectionFlags(std::vector<std::string>* args, bool stop_at_positional = false,
                                    const std::vector<std::string>& value_flags = {});
// What ExtractConnectionFlags recorded, with $SAGEWAI_ALLOW_BEARER applied.
ConnectionPolicy FlagConnectionPolicy();
// Replaces what ExtractConnectionFlags recorded (for callers that build
// their own command lines, and tests).
void SetConnectionFlags(ConnectionPolicy policy);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_CONNECTION_POLICY_H_
