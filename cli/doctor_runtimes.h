// `sagewai-sandbox doctor`'s runtime lines: the OCI runtimes the engine has
// registered (`docker info`'s Runtimes) and what a real
// `docker run --rm --runtime NAME IMAGE true` in each of them answered, for
// runc and gVisor (runsc) alike. Pure: the Docker calls are the doctor's.
#ifndef SAGEWAI_CLI_DOCTOR_RUNTIMES_H_
#define SAGEWAI_CLI_DOCTOR_RUNTIMES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sagewai::cli {

struct RuntimeEntry {
  std::string name;
  std::string path;
  std::vector<std::string> args;  // runtimeArgs
};

// The entries of `docker info --format '{{json .Runtimes}}'`, e.g.
// {"runc":{"path":"runc"},"runsc":{"path":"/usr/bin/runsc","runtimeArgs":[…]}},
// sorted by name. InvalidArgument for anything but an object of objects.
absl::StatusOr<std::vector<RuntimeEntry>> ParseRuntimes(const std::string& json);

// True for gVisor: the runtime's program is runsc.
bool IsGVisor(const RuntimeEntry& runtime);

// What one `docker run --rm --runtime NAME …` did.
struct RuntimeProbe {
  int exit_code = -1;
  bool timed_out = false;
  std::string error;  // the engine's or the runtime's message, one line
  absl::Duration took;
};

struct DoctorLine {
  enum class Kind { kPass, kNote, kFail };
  Kind kind = Kind::kPass;
  std::string text;
  std::string remedy;  // for kFail
};

// The lines for `runtime`: a pass when `probe` (`true` in the image) exited 0,
// else a failure when the runtime is `required` (the default one, or the one
// --runtime names) and a note otherwise; no probe (the image is missing) is
// a note on the registration alone. For gVisor also whether the host can
// reach the runner's unix socket (--host-uds) and, from `stat_probe`
// (`stat /` in the image), whether this release breaks coreutils' stat.
std::vector<DoctorLine> RuntimeLines(const RuntimeEntry& runtime, bool required,
                                     const std::optional<RuntimeProbe>& probe,
                                     const std::optional<RuntimeProbe>& stat_probe);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_DOCTOR_RUNTIMES_H_
