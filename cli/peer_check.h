// The host's check of who is listening on a runner's unix socket, before a
// single byte of a call is sent (layer 2 of the isolation design; README,
// "Authentication and the host's peer check"). The CLI connects the socket
// itself, reads SO_PEERCRED, and only then runs gRPC over that same fd, so
// nothing can swap the socket in between.
#ifndef SAGEWAI_CLI_PEER_CHECK_H_
#define SAGEWAI_CLI_PEER_CHECK_H_

#include <sys/types.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace sagewai::cli {

// The runner user's uid in every image (DESIGN.md, Identities).
inline constexpr uid_t kRunnerUid = 900;

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Who the peer must be. Fields left empty fall back to the default rule:
// uid kRunnerUid, 0 (root) or the CLI's own euid.
struct PeerExpectation {
  std::optional<pid_t> pid;
  std::optional<uid_t> uid;
  // Where `pid` came from, for the refusal ("the runner of sandbox ab12").
  std::string pid_source;
};

// OK when `peer` is acceptable; otherwise PermissionDenied naming what was
// found, what was expected, that nothing was sent, and what to do.
absl::Status CheckPeer(const PeerCredentials& peer, const PeerExpectation& expected,
                       const std::string& address_text, uid_t own_euid);

// SO_PEERCRED of a connected unix socket.
absl::StatusOr<PeerCredentials> ReadPeerCredentials(int fd);

// A blocking connect to the socket at `path` (SOCK_CLOEXEC). Errors keep the
// errno's code (NotFound, PermissionDenied, Unavailable for ECONNREFUSED)
// and name the path.
absl::StatusOr<UniqueFd> ConnectUnixSocket(const std::string& path);

// ConnectUnixSocket, then CheckPeer: the fd to hand to gRPC.
absl::StatusOr<UniqueFd> ConnectCheckedPeer(const std::string& path,
                                            const std::string& address_text,
                                            const PeerExpectation& expected);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_PEER_CHECK_H_
