#include "cli/peer_check.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errno_status.h"

namespace sagewai::cli {
namespace {

std::string Found(const PeerCredentials& peer) {
  return absl::StrCat("pid ", peer.pid, ", uid ", peer.uid);
}

absl::Status Refuse(const std::string& address_text, const PeerCredentials& peer,
                    const std::string& expected, const std::string& remedy) {
  return absl::PermissionDeniedError(
      absl::StrCat("refusing to talk to ", address_text, ": the process listening there (",
                   Found(peer), ") is not the runner — expected ", expected,
                   "; nothing was sent. Another process may have replaced the socket: ", remedy));
}

}  // namespace

absl::Status CheckPeer(const PeerCredentials& peer, const PeerExpectation& expected,
                       const std::string& address_text, uid_t own_euid) {
  if (expected.pid && peer.pid != *expected.pid) {
    return Refuse(
        address_text, peer,
        absl::StrCat(
            "pid ", *expected.pid,
            expected.pid_source.empty() ? "" : absl::StrCat(" (", expected.pid_source, ")")),
        "restart the sandbox (`sagewai-sandbox stop` and `start`), or pass --peer-pid N "
        "if the runner's pid is known to be another");
  }
  if (expected.uid) {
    if (peer.uid != *expected.uid) {
      return Refuse(address_text, peer, absl::StrCat("uid ", *expected.uid, " (--peer-uid)"),
                    "check the address and --peer-uid");
    }
    return absl::OkStatus();
  }
  if (expected.pid) return absl::OkStatus();
  std::vector<std::string> allowed = {absl::StrCat(kRunnerUid, " (the runner user)"), "0 (root)"};
  if (own_euid != kRunnerUid && own_euid != 0) {
    allowed.push_back(absl::StrCat(own_euid, " (yours)"));
  }
  if (peer.uid == kRunnerUid || peer.uid == 0 || peer.uid == own_euid) return absl::OkStatus();
  return Refuse(address_text, peer, absl::StrCat("uid ", absl::StrJoin(allowed, ", ")),
                "use --sandbox ID for a sandbox made by `sagewai-sandbox start` (it checks the "
                "runner's pid), or --peer-uid N / --peer-pid N when the runner is known to run "
                "as another user");
}

absl::StatusOr<PeerCredentials> ReadPeerCredentials(int fd) {
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return ErrnoStatus("getsockopt SO_PEERCRED");
  }
  return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

absl::StatusOr<UniqueFd> ConnectUnixSocket(const std::string& path) {
  sockaddr_un sa{};
  if (path.empty() || path.size() >= sizeof sa.sun_path) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the socket path ", path, " is empty or longer than ", sizeof sa.sun_path - 1, " bytes"));
  }
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoStatus("socket AF_UNIX");
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.data(), path.size());
  int rc;
  do {
    rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const int err = errno;
    if (err == ECONNREFUSED) {
      return absl::UnavailableError(
          absl::StrCat("nothing is listening on ", path, " (a stale socket: the runner exited)"));
    }
    return ErrnoStatus(absl::StrCat("connect ", path), err);
  }
  return fd;
}

absl::StatusOr<UniqueFd> ConnectCheckedPeer(const std::string& path,
                                            const std::string& address_text,
                                            const PeerExpectation& expected) {
  absl::StatusOr<UniqueFd> fd = ConnectUnixSocket(path);
  if (!fd.ok()) return fd.status();
  absl::StatusOr<PeerCredentials> peer = ReadPeerCredentials(fd->get());
  if (!peer.ok()) return peer.status();
  if (absl::Status st = CheckPeer(*peer, expected, address_text, ::geteuid()); !st.ok()) return st;
  return fd;
}

}  // namespace sagewai::cli
