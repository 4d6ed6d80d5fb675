// Removes the control-plane variables from this process's environment and
// overwrites their bytes in the initial environment block, which is what
// /proc/PID/environ shows (unsetenv alone leaves the bytes there).
#ifndef SAGEWAI_COMMON_ENVIRON_SCRUB_H_
#define SAGEWAI_COMMON_ENVIRON_SCRUB_H_

#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace sagewai {

inline constexpr const char* kControlPlaneVars[] = {"SESSION_TOKEN", "CONTROL_PLANE_URL",
                                                    "SESSION_ID"};

bool IsControlPlaneVar(absl::string_view name);

// Values of the control-plane variables. Never log them. The destructor and
// Wipe() overwrite the bytes before the memory is released.
struct ControlPlaneSecrets {
  std::string session_token, control_plane_url, session_id;

  ControlPlaneSecrets() = default;
  ControlPlaneSecrets(const ControlPlaneSecrets&) = default;
  ControlPlaneSecrets(ControlPlaneSecrets&&) = default;
  ControlPlaneSecrets& operator=(const ControlPlaneSecrets&) = default;
  ControlPlaneSecrets& operator=(ControlPlaneSecrets&&) = default;
  ~ControlPlaneSecrets() { Wipe(); }

  // True when none of the three is set (or all are empty).
  bool empty() const;
  void Wipe();
};

// Overwrites the whole buffer of `s` (up to its capacity), then empties it.
void WipeString(std::string& s);

// Removes the three variables from environ and overwrites their bytes in place
// in the process's environment memory; returns their values. Strings that lie
// outside the initial environment block (set later with setenv) are removed
// but not overwritten: their memory is owned by libc.
// Not thread-safe (environ is not); call it first thing in main.
ControlPlaneSecrets ScrubControlPlaneEnv();

// The initial environment block [*begin, *end) of this process, from
// /proc/self/stat (env_start, env_end). False when it cannot be read.
bool InitialEnvironmentBlock(char** begin, char** end);

}  // namespace sagewai

#endif  // SAGEWAI_COMMON_ENVIRON_SCRUB_H_
