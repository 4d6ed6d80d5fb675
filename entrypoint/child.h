// Starting the one child of PID 1. Everything the child needs is laid out
// before fork: between fork and exec it allocates nothing and makes only
// async-signal-safe calls; an exec failure comes back through a CLOEXEC pipe.
#ifndef SAGEWAI_ENTRYPOINT_CHILD_H_
#define SAGEWAI_ENTRYPOINT_CHILD_H_

#include <signal.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "entrypoint/step_status.h"

namespace sagewai::entrypoint {

// Finds `name` like a shell does: as a path when it holds a '/', else in the
// colon-separated `path_var` (an empty entry is the current directory). Fails
// with kExitNotFound when nothing of that name exists, kExitNotExecutable when
// only files that cannot be executed (or directories) do.
StepStatus ResolveExecutable(const std::string& name, const std::string& path_var,
                             std::string* resolved);

// The search path a child will use: PATH from `env`, or the usual default.
std::string SearchPath(const std::vector<std::string>& env);

// argv and envp for execve, owned here so the child only reads them.
class PreparedCommand {
 public:
  PreparedCommand(std::string path, std::vector<std::string> argv, std::vector<std::string> env);
  PreparedCommand(PreparedCommand&&) = default;
  PreparedCommand& operator=(PreparedCommand&&) = default;

  const std::string& path() const { return path_; }
  const std::vector<std::string>& args() const { return argv_; }
  char* const* argv() const { return argv_ptrs_.data(); }
  char* const* envp() const { return env_ptrs_.data(); }

 private:
  std::string path_;
  std::vector<std::string> argv_;
  std::vector<std::string> env_;
  std::vector<char*> argv_ptrs_;
  std::vector<char*> env_ptrs_;
};

// Forks and execs `command`. The child gets its own process group (and the
// terminal's foreground when stdin is a terminal), default signal
// dispositions and `mask`. If exec fails, the child is reaped here and the
// status carries 127 (not found) or 126 (anything else) and the reason.
StepStatus SpawnChild(const PreparedCommand& command, const sigset_t& mask, pid_t* pid);

}  // namespace sagewai::entrypoint

#endif  // SAGEWAI_ENTRYPOINT_CHILD_H_
