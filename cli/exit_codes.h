// Exit codes of sagewai-sandbox. `exec` passes the remote command's own exit
// code through (0-255), so a script tells the two apart by the one-line
// message on stderr: the CLI only writes there when it failed itself.
#ifndef SAGEWAI_CLI_EXIT_CODES_H_
#define SAGEWAI_CLI_EXIT_CODES_H_

namespace sagewai::cli {

inline constexpr int kExitOk = 0;
// `validate`: the image failed at least one check.
inline constexpr int kExitCheckFailed = 1;
// Bad command line (unknown flag, missing value, malformed address).
inline constexpr int kExitUsage = 2;
// The runner refused the request as malformed (INVALID_ARGUMENT and kin).
inline constexpr int kExitDataErr = 65;
// Nothing answered at the address (UNAVAILABLE), or Docker is not available.
inline constexpr int kExitUnavailable = 69;
// Anything unexpected (INTERNAL, UNKNOWN, a stream that ended early).
inline constexpr int kExitSoftware = 70;
// A local I/O failure (cannot create temp dirs, cannot write stdout).
inline constexpr int kExitIoErr = 74;
// The runner did not answer in time (DEADLINE_EXCEEDED) or is busy
// (RESOURCE_EXHAUSTED): retrying later may help.
inline constexpr int kExitTempFail = 75;
// The runner is too old for the call (UNIMPLEMENTED).
inline constexpr int kExitProtocol = 76;
// The runner rejected the token (UNAUTHENTICATED, PERMISSION_DENIED).
inline constexpr int kExitNoPerm = 77;
// The token file is missing, unreadable, empty or malformed.
inline constexpr int kExitConfig = 78;
// `exec`: the command hit its --timeout (as coreutils timeout(1) does).
inline constexpr int kExitTimedOut = 124;
// `exec`: the command died of signal N -> 128 + N.
inline constexpr int kExitSignalBase = 128;

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_EXIT_CODES_H_
