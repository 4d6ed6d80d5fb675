// CommandHandle: every call is handed to the supervisor's loop thread.
#include <signal.h>

#include <string>
#include <utility>

#include "tool-runner/supervisor/supervisor.h"
#include "tool-runner/supervisor/supervisor_command.h"

namespace sagewai {

void CommandHandle::WriteStdin(std::string data, std::function<void()> on_written) {
  Supervisor* s = supervisor_;
  const uint64_t id = id_;
  s->loop_->Post([s, id, data = std::move(data), on_written = std::move(on_written)]() mutable {
    Supervisor::Command* c = s->Find(id);
    // A command that is gone has told (or will tell) its observer; whoever
    // waits for `on_written` must not be woken after that.
    if (c == nullptr) return;
    if (!c->stdin_fd || c->stdin_close_requested) {
      if (on_written) on_written();
      return;
    }
    c->stdin_pending.append(data);
    if (on_written) c->stdin_waiters.emplace_back(c->stdin_pending.size(), std::move(on_written));
    s->PumpStdin(*c);
  });
}

void CommandHandle::CloseStdin() {
  Supervisor* s = supervisor_;
  const uint64_t id = id_;
  s->loop_->Post([s, id] {
    if (Supervisor::Command* c = s->Find(id)) s->CloseStdinOf(*c);
  });
}

void CommandHandle::Signal(int sig) {
  Supervisor* s = supervisor_;
  const uint64_t id = id_;
  s->loop_->Post([s, id, sig] {
    if (Supervisor::Command* c = s->Find(id); c != nullptr && !c->exited) {
      c->sigkill_sent |= sig == SIGKILL;
      s->ops().Signal(-c->pid, sig);
    }
  });
}

void CommandHandle::Cancel() {
  Supervisor* s = supervisor_;
  const uint64_t id = id_;
  s->loop_->Post([s, id] {
    if (Supervisor::Command* c = s->Find(id)) {
      s->BeginKill(*c, /*timed_out=*/false, /*cancelled=*/true, s->options_.kill_grace);
    }
  });
}

void CommandHandle::Kill() {
  Supervisor* s = supervisor_;
  const uint64_t id = id_;
  s->loop_->Post([s, id] {
    if (Supervisor::Command* c = s->Find(id)) {
      s->BeginKill(*c, /*timed_out=*/false, /*cancelled=*/true, std::chrono::milliseconds(0));
    }
  });
}

void CommandHandle::DrainOutput() {
  if (Supervisor::Command* c = supervisor_->Find(id_)) supervisor_->DrainNow(*c);
}

void CommandHandle::ResumeOutput() {
  Supervisor* s = supervisor_;
  const uint64_t id = id_;
  s->loop_->Post([s, id] {
    if (Supervisor::Command* c = s->Find(id)) {
      s->SetReading(*c, OutputStream::kStdout, true);
      s->SetReading(*c, OutputStream::kStderr, true);
    }
  });
}

}  // namespace sagewai
