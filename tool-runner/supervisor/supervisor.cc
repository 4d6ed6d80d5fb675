#include "tool-runner/supervisor/supervisor.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <future>

#include "common/errno_status.h"
#include "common/fd_io.h"
#include "common/log.h"
#include "tool-runner/supervisor/oom_counter.h"
#include "tool-runner/supervisor/output_buffer.h"
#include "tool-runner/supervisor/supervisor_command.h"
#include "tool-runner/supervisor/tool_credentials.h"

namespace sagewai {

using Clock = EventLoop::Clock;

namespace {

// After the command exits, what is still in its pipes is read at most up to
// this much per stream (a background child that keeps writing must not hold
// the call open).
constexpr size_t kFinalDrainLimit = 4 << 20;
constexpr size_t kReadPerWakeup = 1 << 20;
// How long to wait for a killed call's processes to disappear (e.g. stuck
// in uninterruptible sleep) before the result goes out anyway.
constexpr auto kConfirmLimit = std::chrono::seconds(1);

}  // namespace

absl::StatusOr<std::unique_ptr<Supervisor>> Supervisor::Start(SupervisorOptions options) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) return ErrnoStatus("pthread_sigmask");
  UniqueFd sigchld(signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigchld) return ErrnoStatus("signalfd(SIGCHLD)");
  if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    // Older gVisor releases lack the option (EINVAL): orphans then go to the
    // namespace's PID 1, which reaps them (the entrypoint does; so does any
    // init). Calls still end through their process groups and /proc.
    if (errno != EINVAL) return ErrnoStatus("prctl(PR_SET_CHILD_SUBREAPER)");
    log::Info("no child subreaper here (EINVAL); PID 1 reaps the orphans of tools");
  }
  auto loop = EventLoop::Create();
  if (!loop.ok()) return loop.status();
  if (options.ops == nullptr) options.ops = SystemProcessOps(options.call_cgroups);
  std::unique_ptr<Supervisor> sup(new Supervisor(options, std::move(*loop), std::move(sigchld)));
  Supervisor* raw = sup.get();
  auto watched =
      raw->loop_->Watch(raw->sigchld_.get(), EPOLLIN, [raw](uint32_t) { raw->OnSigchld(); });
  if (!watched.ok()) return watched;
  if (std::optional<std::string> file = FindOomCounterFile()) {
    raw->oom_counter_file_ = *std::move(file);
    log::Debug("OOM kills counted from", {{"file", raw->oom_counter_file_}});
  } else {
    log::Info(
        "results cannot say oom_killed: no cgroup memory.events or memory.oom_control "
        "with an oom_kill count is readable here");
  }
  raw->thread_ = std::thread([raw] { raw->loop_->Run(); });
  return sup;
}

Supervisor::Supervisor(SupervisorOptions options, std::unique_ptr<EventLoop> loop, UniqueFd sigchld)
    : options_(options), loop_(std::move(loop)), sigchld_(std::move(sigchld)) {}

Supervisor::~Supervisor() {
  if (thread_.joinable()) Shutdown(std::chrono::milliseconds(0));
}

std::shared_ptr<CommandHandle> Supervisor::Launch(CommandSpec spec,
                                                  std::shared_ptr<CommandObserver> observer) {
  const uint64_t id = next_id_.fetch_add(1);
  ++running_;
  std::shared_ptr<CommandObserver> keep = observer;
  if (!loop_->Post([this, id, spec = std::move(spec), observer = std::move(observer),
                    launched = Clock::now()]() mutable {
        StartCommand(id, std::move(spec), std::move(observer), launched);
      })) {
    --running_;
    keep->OnStartFailed(absl::UnavailableError("the tool-runner is shutting down"));
  }
  return std::shared_ptr<CommandHandle>(new CommandHandle(this, id));
}

Supervisor::Command* Supervisor::Find(uint64_t id) {
  auto it = commands_.find(id);
  return it == commands_.end() ? nullptr : it->second.get();
}

std::optional<uint64_t> Supervisor::OomKillCount() const {
  if (oom_counter_file_.empty()) return std::nullopt;
  return ReadOomKillCount(oom_counter_file_);
}

void Supervisor::StartCommand(uint64_t id, CommandSpec spec,
                              std::shared_ptr<CommandObserver> observer,
                              Clock::time_point launched) {
  const Clock::time_point loop_start = Clock::now();
  if (shutting_down_) {
    --running_;
    observer->OnStartFailed(absl::UnavailableError("the tool-runner is shutting down"));
    return;
  }
  // Before the spawn: a command killed at once must see the count rise.
  std::optional<uint64_t> oom_kills_before = OomKillCount();
  auto spawned = ops().Spawn(id, spec.process);
  if (!spawned.ok()) {
    --running_;
    observer->OnStartFailed(spawned.status());
    return;
  }
  auto cmd = std::make_unique<Command>(spec.max_output_bytes);
  Command& c = *cmd;
  c.id = id;
  c.pid = spawned->pid;
  c.stream = spec.stream_output;
  c.observer = std::move(observer);
  c.started = Clock::now();
  c.oom_kills_before = oom_kills_before;
  c.timeline.launched = launched;
  c.timeline.loop_start = loop_start;
  c.timeline.spawned = c.started;
  c.stdin_fd = std::move(spawned->stdin_fd);
  c.fds[0] = std::move(spawned->stdout_fd);
  c.fds[1] = std::move(spawned->stderr_fd);
  c.stdin_pending = std::move(spec.stdin_data);
  c.stdin_close_requested = spec.close_stdin;
  commands_[id] = std::move(cmd);
  by_pid_[c.pid] = id;

  SetReading(c, OutputStream::kStdout, true);
  SetReading(c, OutputStream::kStderr, true);
  PumpStdin(c);
  if (spec.timeout.count() > 0) {
    c.deadline = loop_->AddTimer(spec.timeout, [this, id] {
      if (Command* cmd = Find(id)) {
        cmd->deadline = kNoTimer;
        BeginKill(*cmd, /*timed_out=*/true, /*cancelled=*/false, options_.kill_grace);
      }
    });
  }
  c.observer->OnStarted(c.pid);
}

void Supervisor::SetReading(Command& c, OutputStream stream, bool on) {
  const int i = stream == OutputStream::kStdout ? 0 : 1;
  if (!c.fds[i] || c.reading[i] == on) return;
  if (on) {
    const uint64_t id = c.id;
    auto st = loop_->Watch(c.fds[i].get(), EPOLLIN, [this, id, stream](uint32_t) {
      if (Command* cmd = Find(id)) OnReadable(*cmd, stream);
    });
    if (!st.ok()) {
      log::Error("cannot watch a command's output", {{"error", std::string(st.message())}});
      return;
    }
  } else {
    loop_->Unwatch(c.fds[i].get());
  }
  c.reading[i] = on;
}

Supervisor::PipeRead Supervisor::ReadPipe(Command& c, int i, size_t limit, bool stop_on_pause) {
  const OutputStream stream = i == 0 ? OutputStream::kStdout : OutputStream::kStderr;
  PipeRead result;
  char buf[64 * 1024];
  for (size_t got = 0; c.fds[i] && got < limit;) {
    const long n = ReadSome(c.fds[i].get(), buf, sizeof buf);
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {  // a read error counts as the end of the stream
      result.ended = true;
      break;
    }
    got += n;
    c.bytes[i] += n;
    const std::string_view data(buf, n);
    if (!c.stream) {
      (i == 0 ? c.out : c.err).Append(data);
    } else if (!c.observer->OnOutput(stream, data)) {
      result.paused = true;
      if (stop_on_pause) break;
    }
  }
  return result;
}

void Supervisor::OnReadable(Command& c, OutputStream stream) {
  const int i = stream == OutputStream::kStdout ? 0 : 1;
  // A bounded amount per wake-up keeps one noisy command from starving the
  // others; level-triggered epoll brings us back.
  const PipeRead r = ReadPipe(c, i, kReadPerWakeup, /*stop_on_pause=*/true);
  if (r.ended) {
    SetReading(c, stream, false);
    c.fds[i].reset();
  } else if (r.paused) {
    SetReading(c, stream, false);
  }
}

void Supervisor::PumpStdin(Command& c) {
  if (!c.stdin_fd) return;
  while (c.stdin_offset < c.stdin_pending.size()) {
    ssize_t n = write(c.stdin_fd.get(), c.stdin_pending.data() + c.stdin_offset,
                      c.stdin_pending.size() - c.stdin_offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      // EPIPE: the command stopped reading; what it did not take is dropped.
      c.stdin_offset = c.stdin_pending.size();
      c.stdin_close_requested = true;
      break;
    }
    c.stdin_offset += n;
  }
  // Tell writers whose data has gone into the pipe (or was dropped).
  for (auto it = c.stdin_waiters.begin(); it != c.stdin_waiters.end();) {
    if (it->first <= c.stdin_offset) {
      auto fn = std::move(it->second);
      it = c.stdin_waiters.erase(it);
      fn();
    } else {
      ++it;
    }
  }
  if (c.stdin_offset == c.stdin_pending.size()) {
    c.stdin_pending.clear();
    c.stdin_offset = 0;
    if (c.stdin_watched) {
      loop_->Unwatch(c.stdin_fd.get());
      c.stdin_watched = false;
    }
    if (c.stdin_close_requested) c.stdin_fd.reset();
    return;
  }
  if (!c.stdin_watched) {
    const uint64_t id = c.id;
    if (loop_
            ->Watch(c.stdin_fd.get(), EPOLLOUT,
                    [this, id](uint32_t) {
                      if (Command* cmd = Find(id)) PumpStdin(*cmd);
                    })
            .ok()) {
      c.stdin_watched = true;
    }
  }
}

void Supervisor::CloseStdinOf(Command& c) {
  c.stdin_close_requested = true;
  PumpStdin(c);
}

void Supervisor::BeginKill(Command& c, bool timed_out, bool cancelled,
                           std::chrono::milliseconds grace) {
  c.timed_out |= timed_out;
  c.cancelled |= cancelled;
  if (c.exited) return;
  if (c.killing) {
    // A second, more urgent request (shutdown) shortens the grace.
    if (grace.count() == 0) {
      ops().SignalCall(c.id, c.pid, c.pid, SIGKILL, &c.outside);
    }
    return;
  }
  c.killing = true;
  if (c.deadline != kNoTimer) {
    loop_->CancelTimer(c.deadline);
    c.deadline = kNoTimer;
  }
  if (grace.count() == 0) {
    ops().SignalCall(c.id, c.pid, c.pid, SIGKILL, &c.outside);
    return;
  }
  ops().SignalCall(c.id, c.pid, c.pid, SIGTERM, &c.outside);
  // Stopped processes must see the SIGTERM.
  ops().SignalCall(c.id, c.pid, c.pid, SIGCONT, &c.outside);
  const uint64_t id = c.id;
  c.grace = loop_->AddTimer(grace, [this, id] {
    if (Command* cmd = Find(id)) {
      cmd->grace = kNoTimer;
      ops().SignalCall(cmd->id, cmd->pid, cmd->pid, SIGKILL, &cmd->outside);
    }
  });
}

void Supervisor::OnSigchld() {
  signalfd_siginfo info;
  while (read(sigchld_.get(), &info, sizeof info) == sizeof info) {
  }
  for (;;) {
    int status;
    pid_t pid = ops().WaitAny(&status);
    if (pid <= 0) break;
    auto it = by_pid_.find(pid);
    if (it == by_pid_.end()) continue;  // an orphan of some tool: reaped, nothing to report
    const uint64_t id = it->second;
    by_pid_.erase(it);
    if (Command* c = Find(id)) {
      c->exited = true;
      c->timeline.exited = Clock::now();
      c->wait_status = status;
      MaybeFinish(id);
    }
  }
  // Killed calls whose last processes were zombies: reaped now, maybe.
  std::vector<uint64_t> waiting;
  for (auto& [id, cmd] : commands_) {
    if (cmd->awaiting_reap) waiting.push_back(id);
  }
  for (uint64_t id : waiting) {
    if (Command* c = Find(id)) {
      c->awaiting_reap = false;
      MaybeFinish(id);
    }
  }
}

void Supervisor::WatchDying(Command& c) {
  const uint64_t id = c.id;
  if (c.confirm_limit == kNoTimer) {
    c.confirm_limit = loop_->AddTimer(kConfirmLimit, [this, id] {
      if (Command* cmd = Find(id)) {
        cmd->confirm_limit = kNoTimer;
        cmd->confirm_given_up = true;
        StopWatchingDying(*cmd);
        MaybeFinish(id);
      }
    });
  }
  for (const UniqueFd& fd : c.dying) {
    const int raw = fd.get();
    auto st = loop_->Watch(raw, EPOLLIN | EPOLLPRI, [this, id, raw](uint32_t) {
      Command* cmd = Find(id);
      if (cmd == nullptr) return;
      // One of them ended: once all have, look again (a process may have
      // forked before the SIGKILL landed).
      loop_->Unwatch(raw);
      auto& dying = cmd->dying;
      dying.erase(std::remove_if(dying.begin(), dying.end(),
                                 [raw](const UniqueFd& d) { return d.get() == raw; }),
                  dying.end());
      if (dying.empty()) MaybeFinish(id);
    });
    if (!st.ok()) {
      log::Error("cannot watch a killed call's processes", {{"error", std::string(st.message())}});
    }
  }
}

void Supervisor::StopWatchingDying(Command& c) {
  for (const UniqueFd& fd : c.dying) loop_->Unwatch(fd.get());
  c.dying.clear();
}

void Supervisor::MaybeFinish(uint64_t id) {
  Command* cp = Find(id);
  if (cp == nullptr || !cp->exited) return;
  Command& c = *cp;
  if (c.killing && !c.dying.empty()) return;  // not all of them have ended yet
  if (c.killing && !c.confirm_given_up) {
    // The leader is gone (and reaped: no root any more); nothing of its
    // group, nor what left the group, may outlive the call.
    ops().SignalCall(id, c.pid, 0, SIGKILL, &c.outside);
    c.dying = ops().WatchCall(id, c.pid, &c.outside);
    if (!c.dying.empty()) {
      WatchDying(c);
      return;
    }
    // Nothing of it runs, but zombies of its group (reparented to us) wait
    // for the SIGCHLD that reaps them: no group may outlive the call.
    if (ops().CallAlive(id, c.pid, c.outside)) {
      c.awaiting_reap = true;
      WatchDying(c);  // arms the limit
      return;
    }
  }
  // What the command wrote before it exited is in the pipes now.
  for (int i = 0; i < 2; ++i) {
    ReadPipe(c, i, kFinalDrainLimit, /*stop_on_pause=*/false);
    SetReading(c, i == 0 ? OutputStream::kStdout : OutputStream::kStderr, false);
    c.fds[i].reset();
  }
  if (c.stdin_watched) loop_->Unwatch(c.stdin_fd.get());
  c.stdin_fd.reset();
  for (auto& waiter : c.stdin_waiters) waiter.second();
  c.stdin_waiters.clear();
  if (c.deadline != kNoTimer) loop_->CancelTimer(c.deadline);
  if (c.grace != kNoTimer) loop_->CancelTimer(c.grace);
  if (c.confirm_limit != kNoTimer) loop_->CancelTimer(c.confirm_limit);

  CommandResult r;
  r.pid = c.pid;
  if (WIFEXITED(c.wait_status)) {
    r.exit_code = WEXITSTATUS(c.wait_status);
  } else if (WIFSIGNALED(c.wait_status)) {
    r.signal = WTERMSIG(c.wait_status);
    r.exit_code = 128 + r.signal;
  }
  r.stdout_bytes = c.bytes[0];
  r.stderr_bytes = c.bytes[1];
  if (!c.stream) {
    TakenOutput out = c.out.Take();
    TakenOutput err = c.err.Take();
    r.stdout_data = std::move(out.data);
    r.stdout_truncated = out.truncated;
    r.stderr_data = std::move(err.data);
    r.stderr_truncated = err.truncated;
  }
  r.timed_out = c.timed_out;
  r.cancelled = c.cancelled;
  // The cgroup's count, not the process: with several calls at once one OOM
  // kill may be credited to any call that died of a SIGKILL meanwhile.
  if (c.oom_kills_before && (r.signal == SIGKILL || r.exit_code == 128 + SIGKILL)) {
    r.oom_killed = KilledByOomKiller({.signal = r.signal,
                                      .exit_code = r.exit_code,
                                      .runner_sent_sigkill = c.killing || c.sigkill_sent,
                                      .count_before = c.oom_kills_before,
                                      .count_after = ReadOomKillCount(oom_counter_file_)});
  }
  r.timeline = c.timeline;
  r.timeline.finished = Clock::now();
  r.duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(r.timeline.finished - c.started);
  std::shared_ptr<CommandObserver> observer = std::move(c.observer);
  commands_.erase(id);
  ops().ReleaseCall(id);
  --running_;
  observer->OnExit(std::move(r));
  if (shutting_down_ && commands_.empty()) loop_->Stop();
}

void Supervisor::DrainNow(Command& c) {
  if (!c.stream) return;
  for (int i = 0; i < 2; ++i) {
    const OutputStream stream = i == 0 ? OutputStream::kStdout : OutputStream::kStderr;
    const PipeRead r = ReadPipe(c, i, kFinalDrainLimit, /*stop_on_pause=*/false);
    if (r.ended) {
      SetReading(c, stream, false);
      c.fds[i].reset();
    } else if (r.paused) {
      SetReading(c, stream, false);
    }
  }
}

absl::StatusOr<CommandResult> Supervisor::RunToCompletion(CommandSpec spec) {
  class Waiter : public CommandObserver {
   public:
    void OnStartFailed(const absl::Status& status) override { promise.set_value(status); }
    void OnExit(CommandResult result) override { promise.set_value(std::move(result)); }
    std::promise<absl::StatusOr<CommandResult>> promise;
  };
  auto waiter = std::make_shared<Waiter>();
  auto future = waiter->promise.get_future();
  spec.stream_output = false;
  Launch(std::move(spec), waiter);
  return future.get();
}

void Supervisor::Shutdown(std::chrono::milliseconds grace) {
  if (!thread_.joinable()) return;
  loop_->Post([this, grace] {
    shutting_down_ = true;
    if (commands_.empty()) {
      loop_->Stop();
      return;
    }
    for (auto& [id, cmd] : commands_) BeginKill(*cmd, false, true, grace);
    // Bound the wait even if a process refuses to die (e.g. stuck in D state).
    loop_->AddTimer(grace + std::chrono::seconds(1), [this] { loop_->Stop(); });
  });
  thread_.join();
}

}  // namespace sagewai
