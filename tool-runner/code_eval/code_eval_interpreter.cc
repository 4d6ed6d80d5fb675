#include "tool-runner/code_eval/code_eval_interpreter.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/fd_io.h"
#include "common/log.h"
#include "tool-runner/supervisor/oom_counter.h"
#include "tool-runner/supervisor/process_group.h"

namespace sagewai::code_eval {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kStartupOutputKept = 4096;
constexpr int kReadRounds = 16;
// A driver that closed its event channel but lives on is killed after this.
constexpr auto kChannelClosedGrace = std::chrono::milliseconds(500);

std::string DescribeExit(const CommandResult& r) {
  if (r.signal != 0) {
    const char* abbrev = sigabbrev_np(r.signal);
    return absl::StrCat("was killed by signal ", r.signal,
                        abbrev != nullptr ? absl::StrCat(" (SIG", abbrev, ")") : "");
  }
  return absl::StrCat("exited with status ", r.exit_code);
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

// ------------------------------------------------------------ CollectingSink

bool CollectingSink::OnOutput(OutputStream stream, absl::string_view data) {
  (stream == OutputStream::kStdout ? out_ : err_)
      .Append(std::string_view(data.data(), data.size()));
  return true;
}

void CollectingSink::OnDisplay(v1::DisplayOutput output) { outputs_.push_back(std::move(output)); }

void CollectingSink::OnResult(v1::EvalResult result) {
  TakenOutput out = out_.Take();
  TakenOutput err = err_.Take();
  result.set_stdout_truncated(out.truncated);
  result.set_stderr_truncated(err.truncated);
  result.set_stdout(std::move(out.data));
  result.set_stderr(std::move(err.data));
  for (v1::DisplayOutput& output : outputs_) *result.add_outputs() = std::move(output);
  outputs_.clear();
  Done done = std::move(done_);
  done(std::move(result));
}

void CollectingSink::OnFailed(const absl::Status& status) {
  Done done = std::move(done_);
  done(status);
}

// --------------------------------------------------------------- Interpreter

class Interpreter::Observer : public CommandObserver {
 public:
  explicit Observer(std::shared_ptr<Interpreter> interpreter)
      : interpreter_(std::move(interpreter)) {}
  void OnStartFailed(const absl::Status& status) override {
    std::shared_ptr<Interpreter> self = std::move(interpreter_);
    self->OnSpawnFailed(status);
  }
  void OnStarted(pid_t pid) override { interpreter_->OnSpawned(pid); }
  bool OnOutput(OutputStream stream, std::string_view data) override {
    return interpreter_->OnProcessOutput(stream, absl::string_view(data.data(), data.size()));
  }
  void OnExit(CommandResult result) override {
    std::shared_ptr<Interpreter> self = std::move(interpreter_);
    self->OnProcessExit(result);
  }

 private:
  // The process keeps its interpreter alive until it is gone.
  std::shared_ptr<Interpreter> interpreter_;
};

Interpreter::Interpreter(Supervisor& supervisor, InterpreterSpec spec, ReadyCallback on_ready,
                         ExitCallback on_exit)
    : supervisor_(supervisor),
      loop_(supervisor.loop()),
      spec_(std::move(spec)),
      on_ready_(std::move(on_ready)),
      on_exit_(std::move(on_exit)),
      lines_(spec_.max_display_bytes / 3 * 4 + (64 << 10)) {}

Interpreter::~Interpreter() {
  if (loop_.InLoopThread()) {
    if (requests_watched_) loop_.Unwatch(requests_.get());
    if (events_) loop_.Unwatch(events_.get());
  }
}

absl::StatusOr<std::shared_ptr<Interpreter>> Interpreter::Start(Supervisor& supervisor,
                                                                InterpreterSpec spec,
                                                                ReadyCallback on_ready,
                                                                ExitCallback on_exit) {
  std::shared_ptr<Interpreter> self(
      new Interpreter(supervisor, std::move(spec), std::move(on_ready), std::move(on_exit)));
  auto requests = MakePipe();
  if (!requests.ok()) return requests.status();
  auto events = MakePipe();
  if (!events.ok()) return events.status();
  SetNonBlocking(requests->write.get());
  SetNonBlocking(events->read.get());
  self->requests_ = std::move(requests->write);
  self->child_requests_ = std::move(requests->read);
  self->events_ = std::move(events->read);
  self->child_events_ = std::move(events->write);

  CommandSpec command;
  command.process.argv = self->spec_.argv;
  command.process.env = self->spec_.env;
  command.process.cwd = self->spec_.cwd;
  command.process.inherit_fds = {self->child_requests_.get(), self->child_events_.get()};
  command.close_stdin = true;  // user code reading stdin sees EOF
  command.timeout = std::chrono::milliseconds(0);
  command.stream_output = true;
  self->launching_ = true;
  self->handle_ = supervisor.Launch(std::move(command), std::make_shared<Observer>(self));
  self->launching_ = false;
  if (!self->launch_failure_.ok()) return self->launch_failure_;
  return self;
}

template <typename Fn>
EventLoop::TimerId Interpreter::After(std::chrono::milliseconds delay, Fn fn) {
  return loop_.AddTimer(delay, [weak = weak_from_this(), fn = std::move(fn)]() mutable {
    if (std::shared_ptr<Interpreter> self = weak.lock()) fn(*self);
  });
}

void Interpreter::CancelTimer(EventLoop::TimerId& id) {
  if (id != 0) loop_.CancelTimer(id);
  id = 0;
}

void Interpreter::OnSpawned(pid_t pid) {
  pid_ = pid;
  child_requests_.reset();
  child_events_.reset();
  std::weak_ptr<Interpreter> weak = weak_from_this();
  absl::Status watched = loop_.Watch(events_.get(), EPOLLIN, [weak](uint32_t) {
    if (std::shared_ptr<Interpreter> self = weak.lock()) self->OnEventsReadable();
  });
  if (!watched.ok()) {
    events_.reset();
    Kill(absl::StrCat("was killed: its control channel cannot be watched (", watched.message(),
                      ")"));
    return;
  }
  start_timer_ = After(spec_.start_timeout, [](Interpreter& self) {
    self.start_timer_ = 0;
    if (self.state_ == State::kStarting) {
      self.Kill(absl::StrCat("did not get ready within ", self.spec_.start_timeout.count(),
                             " ms and was killed"));
    }
  });
  FlushRequests();
}

void Interpreter::OnSpawnFailed(const absl::Status& status) {
  state_ = State::kDead;
  death_ = std::string(status.message());
  child_requests_.reset();
  child_events_.reset();
  requests_.reset();
  events_.reset();
  absl::Status failure(status.code(), absl::StrCat("cannot start the ", name(), " interpreter (",
                                                   spec_.argv.empty() ? "" : spec_.argv[0],
                                                   "): ", status.message()));
  if (launching_) {
    launch_failure_ = failure;
    return;
  }
  if (ReadyCallback ready = std::exchange(on_ready_, nullptr)) ready(failure);
}

bool Interpreter::OnProcessOutput(OutputStream stream, absl::string_view data) {
  if (state_ == State::kStarting) {
    const size_t room = kStartupOutputKept - std::min(kStartupOutputKept, startup_output_.size());
    startup_output_.append(data.data(), std::min(room, data.size()));
    return true;
  }
  if (state_ == State::kBusy && sink_ != nullptr) return sink_->OnOutput(stream, data);
  return true;  // between evals: nobody to tell; dropped
}

void Interpreter::OnEventsReadable() {
  char buf[64 * 1024];
  for (int round = 0; round < kReadRounds && events_; ++round) {
    long n = ReadSome(events_.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EAGAIN) return;
      n = 0;
    }
    if (n == 0) {
      loop_.Unwatch(events_.get());
      events_.reset();
      if (state_ != State::kDead && !killing_ && !closing_) {
        After(kChannelClosedGrace, [](Interpreter& self) {
          if (self.state_ != State::kDead) self.Kill("was killed: it closed its control channel");
        });
      }
      return;
    }
    lines_.Feed(
        absl::string_view(buf, n), [this](absl::string_view line) { HandleLine(line); },
        [this](size_t dropped) {
          if (state_ == State::kBusy) ++dropped_displays_;
          log::Warn("dropped an over-long message from a code-eval driver",
                    {{"bytes", static_cast<int64_t>(dropped)}, {"pid", pid_}});
        });
  }
}

void Interpreter::HandleLine(absl::string_view line) {
  auto event = ParseDriverEvent(line);
  if (!event.ok()) {
    log::Warn("malformed message from a code-eval driver",
              {{"error", std::string(event.status().message())}, {"pid", pid_}});
    Kill(absl::StrCat("was killed: it sent a malformed control message (", event.status().message(),
                      ")"));
    return;
  }
  switch (event->kind) {
    case DriverEvent::Kind::kReady:
      if (state_ == State::kStarting) {
        CancelTimer(start_timer_);
        state_ = State::kIdle;
        std::string().swap(startup_output_);
        if (ReadyCallback ready = std::exchange(on_ready_, nullptr)) ready(absl::OkStatus());
      }
      return;
    case DriverEvent::Kind::kDisplay:
      if (state_ == State::kBusy && event->seq == seq_) HandleDisplay(std::move(*event));
      return;
    case DriverEvent::Kind::kDone:
      if (state_ == State::kBusy && event->seq == seq_) {
        // What the code printed before it finished is in the pipes by now.
        handle_->DrainOutput();
        if (event->dead) {
          death_ = absl::StrCat("is exiting (",
                                event->error.has_value() ? event->error->message : "done", ")");
        }
        FinishEval(std::move(event->error), /*dead=*/event->dead);
        if (event->dead) {
          // The driver is on its way out; make sure it goes.
          After(spec_.interrupt_grace, [](Interpreter& self) {
            if (!self.exited_) self.handle_->Kill();
          });
        }
      }
      return;
  }
}

void Interpreter::HandleDisplay(DriverEvent event) {
  handle_->DrainOutput();
  size_t bytes = 0;
  for (const auto& [mime, value] : event.data) bytes += mime.size() + value.size();
  if (display_bytes_ + bytes > spec_.max_display_bytes) {
    ++dropped_displays_;
    return;
  }
  display_bytes_ += bytes;
  v1::DisplayOutput output;
  for (auto& [mime, value] : event.data) (*output.mutable_data())[mime] = std::move(value);
  output.set_is_result(event.is_result);
  sink_->OnDisplay(std::move(output));
}

void Interpreter::Send(std::string data) {
  if (!requests_) return;
  outbox_.append(data);
  FlushRequests();
}

void Interpreter::FlushRequests() {
  while (requests_ && outbox_sent_ < outbox_.size()) {
    ssize_t n =
        write(requests_.get(), outbox_.data() + outbox_sent_, outbox_.size() - outbox_sent_);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      outbox_sent_ = outbox_.size();  // EPIPE: the driver is gone; its exit tells the rest
      break;
    }
    outbox_sent_ += n;
  }
  if (outbox_sent_ >= outbox_.size()) {
    outbox_.clear();
    outbox_sent_ = 0;
    if (requests_watched_) {
      loop_.Unwatch(requests_.get());
      requests_watched_ = false;
    }
    return;
  }
  if (!requests_watched_) {
    std::weak_ptr<Interpreter> weak = weak_from_this();
    requests_watched_ = loop_
                            .Watch(requests_.get(), EPOLLOUT,
                                   [weak](uint32_t) {
                                     if (std::shared_ptr<Interpreter> self = weak.lock()) {
                                       self->FlushRequests();
                                     }
                                   })
                            .ok();
  }
}

void Interpreter::Eval(absl::string_view code, std::chrono::milliseconds timeout,
                       std::shared_ptr<EvalSink> sink) {
  if (state_ != State::kIdle || closing_) {
    sink->OnFailed(absl::FailedPreconditionError(
        absl::StrCat("the ", name(), " interpreter is not ready for code")));
    return;
  }
  if (spec_.language == Language::kBash && code.find('\0') != absl::string_view::npos) {
    // bash's `read` drops NUL bytes, which would shift the request framing.
    sink->OnFailed(absl::InvalidArgumentError("bash code cannot contain NUL bytes"));
    return;
  }
  state_ = State::kBusy;
  ++seq_;
  sink_ = std::move(sink);
  eval_started_ = Clock::now();
  eval_timeout_ = timeout;
  timed_out_ = false;
  interrupted_ = false;
  display_bytes_ = 0;
  dropped_displays_ = 0;
  oom_kills_at_eval_ = supervisor_.OomKillCount();
  Send(EncodeRequest("eval", seq_, code));
  if (timeout.count() > 0) {
    deadline_timer_ = After(timeout, [](Interpreter& self) {
      self.deadline_timer_ = 0;
      if (self.state_ == State::kBusy) {
        self.timed_out_ = true;
        self.Interrupt();
      }
    });
  }
}

void Interpreter::Cancel() {
  if (state_ == State::kBusy) Interrupt();
}

void Interpreter::Interrupt() {
  if (interrupted_ || state_ != State::kBusy) return;
  interrupted_ = true;
  handle_->Signal(SIGINT);  // the whole group, as a terminal's Ctrl-C does
  grace_timer_ = After(spec_.interrupt_grace, [](Interpreter& self) {
    self.grace_timer_ = 0;
    if (self.state_ != State::kBusy) return;
    const std::string grace = absl::StrCat(self.spec_.interrupt_grace.count(), " ms");
    self.Kill(self.timed_out_
                  ? absl::StrCat("was killed: the code ran past its ", self.eval_timeout_.count(),
                                 " ms timeout and did not stop within ", grace, " of SIGINT")
                  : absl::StrCat("was killed: the eval was cancelled and the code did not stop "
                                 "within ",
                                 grace, " of SIGINT"));
  });
}

void Interpreter::ResumeOutput() {
  if (handle_ != nullptr && state_ != State::kDead) handle_->ResumeOutput();
}

void Interpreter::Kill(std::string why) {
  if (state_ == State::kDead || killing_) return;
  killing_ = true;
  kill_reason_ = std::move(why);
  handle_->Kill();
}

void Interpreter::Close(std::chrono::milliseconds grace) {
  if (state_ == State::kDead || closing_) return;
  closing_ = true;
  if (requests_watched_) loop_.Unwatch(requests_.get());
  requests_watched_ = false;
  requests_.reset();
  outbox_.clear();
  outbox_sent_ = 0;
  close_timer_ = After(grace, [](Interpreter& self) {
    self.close_timer_ = 0;
    self.Kill("was killed: it did not exit after its input closed");
  });
}

void Interpreter::FinishEval(std::optional<ErrorInfo> error, bool dead) {
  CancelTimer(deadline_timer_);
  CancelTimer(grace_timer_);
  std::shared_ptr<EvalSink> sink = std::move(sink_);
  if (dropped_displays_ > 0) {
    sink->OnOutput(
        OutputStream::kStderr,
        absl::StrCat("\n[sagewai: ", dropped_displays_, " display output(s) dropped: more than ",
                     spec_.max_display_bytes, " bytes of display data in one eval]\n"));
  }
  v1::EvalResult result;
  if (error.has_value()) {
    v1::EvalError* e = result.mutable_error();
    e->set_name(std::move(error->name));
    e->set_message(std::move(error->message));
    e->set_traceback(std::move(error->traceback));
  }
  result.set_timed_out(timed_out_);
  result.set_context_dead(dead);
  result.set_oom_killed(dead && oom_killed_);
  result.set_duration_ms(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - eval_started_).count()));
  state_ = dead ? State::kDead : State::kIdle;
  sink->OnResult(std::move(result));
}

void Interpreter::OnProcessExit(const CommandResult& result) {
  // Events the driver wrote before it went (a last "done") come first.
  if (events_) OnEventsReadable();
  exited_ = true;
  const State before = state_;
  state_ = State::kDead;
  CancelTimer(start_timer_);
  CancelTimer(deadline_timer_);
  CancelTimer(grace_timer_);
  CancelTimer(close_timer_);
  if (requests_watched_) loop_.Unwatch(requests_.get());
  requests_watched_ = false;
  requests_.reset();
  if (events_) loop_.Unwatch(events_.get());
  events_.reset();
  // An interpreter's process group does not outlive it.
  if (!killing_ && pid_ > 0) SignalTree(pid_, 0, SIGKILL);
  // The supervisor's verdict counts from the spawn; an eval counts from its
  // own start, so an OOM kill of some earlier call is not blamed on it.
  oom_killed_ = result.oom_killed && !killing_ && before == State::kBusy &&
                KilledByOomKiller({.signal = result.signal,
                                   .exit_code = result.exit_code,
                                   .count_before = oom_kills_at_eval_,
                                   .count_after = supervisor_.OomKillCount()});
  if (!kill_reason_.empty()) {
    death_ = kill_reason_;
  } else if (oom_killed_) {
    death_ = "was killed by the kernel's OOM killer (the sandbox's memory limit)";
  } else {
    death_ = DescribeExit(result);
  }
  const std::string what = absl::StrCat("the ", name(), " interpreter ", death_);

  if (before == State::kStarting) {
    std::string message = absl::StrCat(what, " before it was ready");
    if (!startup_output_.empty()) absl::StrAppend(&message, "; it printed: ", startup_output_);
    if (ReadyCallback ready = std::exchange(on_ready_, nullptr)) {
      ready(absl::FailedPreconditionError(message));
    }
    return;
  }
  if (ExitCallback exited = std::exchange(on_exit_, nullptr)) exited(death_);
  if (before == State::kBusy) {
    FinishEval(ErrorInfo{"ContextDied", what, ""}, /*dead=*/true);
  }
}

}  // namespace sagewai::code_eval
