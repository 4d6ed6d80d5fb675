#include "tool-runner/core/runner_context.h"

#include "absl/strings/str_cat.h"

namespace sagewai {

std::chrono::milliseconds RunnerContext::EffectiveTimeout(uint32_t requested_ms) const {
  std::chrono::milliseconds t =
      requested_ms == 0 ? limits_.default_timeout : std::chrono::milliseconds(requested_ms);
  return t > limits_.max_timeout ? limits_.max_timeout : t;
}

bool RunnerContext::TryAcquireCall() {
  uint32_t n = calls_.load();
  do {
    if (n >= limits_.max_concurrent_calls) return false;
  } while (!calls_.compare_exchange_weak(n, n + 1));
  return true;
}

void RunnerContext::ReleaseCall() { calls_.fetch_sub(1); }

std::string RunnerContext::CallId(const grpc::CallbackServerContext& context) {
  const auto& md = context.client_metadata();
  if (auto it = md.find("x-call-id"); it != md.end() && it->second.size() <= 128) {
    return std::string(it->second.data(), it->second.size());
  }
  return absl::StrCat("c", next_call_.fetch_add(1));
}

grpc::Status CallSlot::ExhaustedStatus() const {
  return grpc::Status(
      grpc::StatusCode::RESOURCE_EXHAUSTED,
      absl::StrCat("too many calls in flight (limit ", ctx_->limits().max_concurrent_calls,
                   "); retry later or raise --max-concurrent-calls"));
}

}  // namespace sagewai
