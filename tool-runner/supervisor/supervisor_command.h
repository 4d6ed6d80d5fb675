// The supervisor's record of one running command (loop thread only), shared
// by supervisor.cc and command_handle.cc.
#ifndef SAGEWAI_TOOL_RUNNER_SUPERVISOR_SUPERVISOR_COMMAND_H_
#define SAGEWAI_TOOL_RUNNER_SUPERVISOR_SUPERVISOR_COMMAND_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/unique_fd.h"
#include "tool-runner/supervisor/output_buffer.h"
#include "tool-runner/supervisor/supervisor.h"

namespace sagewai {

inline constexpr EventLoop::TimerId kNoTimer = 0;

struct Supervisor::Command {
  explicit Command(size_t cap) : out(cap), err(cap) {}
  uint64_t id = 0;
  pid_t pid = -1;
  bool stream = false;
  std::shared_ptr<CommandObserver> observer;
  EventLoop::Clock::time_point started;
  CommandTimeline timeline;

  UniqueFd stdin_fd;
  std::string stdin_pending;
  size_t stdin_offset = 0;
  bool stdin_close_requested = false;
  bool stdin_watched = false;
  std::vector<std::pair<size_t, std::function<void()>>> stdin_waiters;  // (end offset, callback)

  UniqueFd fds[2];  // stdout, stderr
  bool reading[2] = {false, false};
  OutputBuffer out, err;
  uint64_t bytes[2] = {0, 0};

  bool exited = false;
  int wait_status = 0;
  bool killing = false;
  bool timed_out = false;
  bool cancelled = false;
  // The cgroup's OOM-kill count before the spawn (nullopt: none readable).
  std::optional<uint64_t> oom_kills_before;
  // A client sent SIGKILL itself (CommandHandle::Signal): not the OOM killer.
  bool sigkill_sent = false;
  // While a killed call's processes die: what reports their end, and the
  // limit of that wait.
  std::vector<UniqueFd> dying;
  EventLoop::TimerId confirm_limit = kNoTimer;
  bool confirm_given_up = false;
  bool awaiting_reap = false;
  // Descendants that left the process group, found when the kill began.
  std::vector<ProcessRef> outside;
  EventLoop::TimerId deadline = kNoTimer;
  EventLoop::TimerId grace = kNoTimer;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_SUPERVISOR_SUPERVISOR_COMMAND_H_
