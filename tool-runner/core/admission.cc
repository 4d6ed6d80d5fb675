#include "tool-runner/core/admission.h"

#include "common/log.h"

namespace sagewai {

Admission::Admission(RunnerContext& ctx, grpc::CallbackServerContext* context,
                     const rpc::Method& method, std::string call_id, CallSlot slot,
                     std::chrono::steady_clock::time_point started)
    : ctx_(&ctx),
      context_(context),
      method_(method),
      call_id_(std::move(call_id)),
      started_(started),
      admitted_(std::chrono::steady_clock::now()),
      slot_(std::move(slot)) {}

std::optional<Admission> Admission::Check(RunnerContext& ctx, grpc::CallbackServerContext* context,
                                          const rpc::Method& method, grpc::Status* refusal) {
  const auto started = std::chrono::steady_clock::now();
  std::string call_id = ctx.CallId(*context);
  grpc::Status status = ctx.auth().Check(*context, method.path);
  // The slot is taken only for a caller who passed: strangers cannot use up
  // the limit.
  std::optional<CallSlot> slot;
  if (status.ok()) {
    slot.emplace(ctx, method.takes_slot);
    if (method.takes_slot && !slot->held()) status = slot->ExhaustedStatus();
  }
  if (!status.ok()) {
    log::Info("call refused", {{"method", method.name},
                               {"call_id", call_id},
                               {"code", static_cast<int>(status.error_code())},
                               {"error", status.error_message()}});
    *refusal = std::move(status);
    return std::nullopt;
  }
  return Admission(ctx, context, method, std::move(call_id), std::move(*slot), started);
}

std::chrono::milliseconds Admission::elapsed() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               started_);
}

void Admission::LogFinished(const grpc::Status& status) const {
  const int64_t ms = elapsed().count();
  if (status.ok()) {
    log::Debug("call finished", {{"method", method_.name}, {"call_id", call_id_}, {"duration_ms", ms}});
    return;
  }
  log::Info("call finished", {{"method", method_.name},
                              {"call_id", call_id_},
                              {"duration_ms", ms},
                              {"code", static_cast<int>(status.error_code())},
                              {"error", status.error_message()}});
}

}  // namespace sagewai
