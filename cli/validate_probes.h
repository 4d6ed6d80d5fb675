// The probes of `validate`: each runs something in the started container (a
// tool over the runner's gRPC, `docker exec`, `docker stop`), judges the
// output with validate_checks.h and reports one line through CheckReport.
#ifndef SAGEWAI_CLI_VALIDATE_PROBES_H_
#define SAGEWAI_CLI_VALIDATE_PROBES_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "cli/docker.h"
#include "cli/validate_container.h"
#include "cli/validate_report.h"

namespace sagewai::cli {

class ImageProbes {
 public:
  // Everything given outlives this object; `container` has been Start()ed.
  ImageProbes(const ValidateOptions& options, const Docker& docker, ValidateContainer& container,
              CheckReport& report, const std::atomic<bool>* interrupted)
      : options_(options),
        docker_(docker),
        container_(container),
        report_(report),
        interrupted_(interrupted) {}

  // Every check in order, stopping early once `interrupted` is set.
  void RunAll();

 private:
  void CheckVersion();
  void CheckEcho();
  void CheckWorkspace();
  void CheckEnvScrub();
  void CheckPid1();
  void CheckUnprivileged();
  void CheckSharedUid();
  void CheckSignalRunner();
  void CheckSocketReplace();
  void CheckStdio();
  void CheckStop();

  const ValidateOptions& options_;
  const Docker& docker_;
  ValidateContainer& container_;
  CheckReport& report_;
  const std::atomic<bool>* interrupted_;
  // From GetInfo (CheckSharedUid), 0 when it could not be had.
  int64_t runner_pid_ = 0;
  std::string get_info_error_;
};

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_VALIDATE_PROBES_H_
