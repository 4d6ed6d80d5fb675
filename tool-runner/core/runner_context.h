// What every gRPC service of the runner shares: configuration, the process
// supervisor, auth and the call limit.
#ifndef SAGEWAI_TOOL_RUNNER_CORE_RUNNER_CONTEXT_H_
#define SAGEWAI_TOOL_RUNNER_CORE_RUNNER_CONTEXT_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "tool-runner/core/auth.h"
#include "tool-runner/supervisor/supervisor.h"

namespace sagewai {

struct RunnerLimits {
  size_t max_output_bytes = 1 << 20;
  uint32_t max_concurrent_calls = 1024;
  std::chrono::milliseconds default_timeout{60000};
  std::chrono::milliseconds max_timeout{24 * 3600 * 1000};
  std::chrono::milliseconds kill_grace{1000};
  // CodeEval's, reported by GetInfo.
  uint32_t max_contexts = 0;
  std::chrono::milliseconds context_idle_timeout{0};
};

class RunnerContext {
 public:
  RunnerContext(RunnerLimits limits, std::string workdir, std::vector<std::string> pass_env,
                TokenAuth auth, Supervisor* supervisor)
      : limits_(limits),
        workdir_(std::move(workdir)),
        pass_env_(std::move(pass_env)),
        auth_(std::move(auth)),
        supervisor_(supervisor),
        started_(std::chrono::steady_clock::now()) {}

  const RunnerLimits& limits() const { return limits_; }
  const std::string& workdir() const { return workdir_; }
  const std::vector<std::string>& pass_env() const { return pass_env_; }
  const TokenAuth& auth() const { return auth_; }
  Supervisor& supervisor() const { return *supervisor_; }
  std::chrono::steady_clock::time_point started() const { return started_; }

  // The timeout a call runs with: its own (0 = default), at most the maximum.
  std::chrono::milliseconds EffectiveTimeout(uint32_t requested_ms) const;

  // Takes one of max_concurrent_calls slots; false when none is left.
  bool TryAcquireCall();
  void ReleaseCall();

  // "c<N>" unless the client named the call with `x-call-id` metadata.
  std::string CallId(const grpc::CallbackServerContext& context);

  // Capabilities advertised by GetInfo ("bash", "fs", ...).
  void AddCapability(std::string capability) { capabilities_.push_back(std::move(capability)); }
  const std::vector<std::string>& capabilities() const { return capabilities_; }

 private:
  RunnerLimits limits_;
  std::string workdir_;
  std::vector<std::string> pass_env_;
  TokenAuth auth_;
  Supervisor* supervisor_;
  std::chrono::steady_clock::time_point started_;
  std::atomic<uint32_t> calls_{0};
  std::atomic<uint64_t> next_call_{1};
  std::vector<std::string> capabilities_;
};

// RAII for one call slot (or none, when `acquire` is false).
class CallSlot {
 public:
  explicit CallSlot(RunnerContext& ctx, bool acquire = true)
      : ctx_(&ctx), held_(acquire && ctx.TryAcquireCall()) {}
  CallSlot(CallSlot&& other) noexcept : ctx_(other.ctx_), held_(std::exchange(other.held_, false)) {}
  CallSlot& operator=(CallSlot&&) = delete;
  ~CallSlot() {
    if (held_) ctx_->ReleaseCall();
  }
  bool held() const { return held_; }
  grpc::Status ExhaustedStatus() const;

 private:
  RunnerContext* ctx_;
  bool held_;
};

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_CORE_RUNNER_CONTEXT_H_
