// Hands the control-plane secrets from the entrypoint to the tool-runner out
// of band: a sealed memfd (a pipe where memfd is unavailable) inherited across
// exec, whose number the child finds in SAGEWAI_SECRETS_FD. The environment
// never carries the values.
#ifndef SAGEWAI_COMMON_SECRET_HANDOFF_H_
#define SAGEWAI_COMMON_SECRET_HANDOFF_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/environ_scrub.h"
#include "common/unique_fd.h"

namespace sagewai {

inline constexpr char kSecretsFdEnv[] = "SAGEWAI_SECRETS_FD";

// The same as the Status functions below, without Abseil (for the static
// entrypoint). CreateSecretsFd returns the fd (the caller owns it) or -1 with
// *error set. TakeInheritedSecretsFd returns false with *error set.
int CreateSecretsFd(const ControlPlaneSecrets& secrets, std::string* error);
bool TakeInheritedSecretsFd(ControlPlaneSecrets* secrets, std::string* error);
// Reads and decodes `fd` (from offset 0 when it is seekable); does not close it.
bool ReadSecretsFd(int fd, ControlPlaneSecrets* secrets, std::string* error);

// Inline so that only callers link absl::Status (the static entrypoint cannot
// afford it: Debian's absl::Status pulls in iostream and locale, ~1 MB).

// An fd (NOT close-on-exec) holding the secrets, for the child to inherit.
inline absl::StatusOr<UniqueFd> SealSecrets(const ControlPlaneSecrets& secrets) {
  std::string error;
  const int fd = CreateSecretsFd(secrets, &error);
  if (fd < 0) return absl::InternalError("cannot hand over the secrets: " + error);
  return UniqueFd(fd);
}

// Reads the secrets from the fd named by SAGEWAI_SECRETS_FD, closes it, unsets the variable.
// No variable: returns empty secrets. A bad fd/format: error status.
inline absl::StatusOr<ControlPlaneSecrets> TakeInheritedSecrets() {
  ControlPlaneSecrets secrets;
  std::string error;
  if (!TakeInheritedSecretsFd(&secrets, &error)) return absl::InvalidArgumentError(error);
  return secrets;
}

// The wire format: "sagewai-secrets/1\0" then "NAME=value\0" per set
// variable. Unknown names are ignored, so later versions can add some.
std::string EncodeSecrets(const ControlPlaneSecrets& secrets);
bool DecodeSecrets(std::string_view data, ControlPlaneSecrets* secrets, std::string* error);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_SECRET_HANDOFF_H_
