// The one gate into the runner's API. A call object's constructor takes an
// Admission, and the only way to get one is to pass the gate: the session
// authorization for the method, then a call slot. So no handler can run
// without the check — there is no check to forget. Refusals are logged and
// finished here. Auth.Challenge, grpc.health.v1 and server reflection do not
// come through the gate (they are open by design).
//
// tests/python/test_auth_gate.py enumerates every method of every service
// through server reflection and proves each refuses a missing or wrong
// credential.
#ifndef SAGEWAI_TOOL_RUNNER_CORE_ADMISSION_H_
#define SAGEWAI_TOOL_RUNNER_CORE_ADMISSION_H_

#include <chrono>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "grpcpp/grpcpp.h"
#include "tool-runner/core/auth_methods.h"
#include "tool-runner/core/runner_context.h"

namespace sagewai {

class Admission {
 public:
  Admission(Admission&&) = default;
  Admission& operator=(Admission&&) = delete;

  RunnerContext& ctx() const { return *ctx_; }
  grpc::CallbackServerContext* context() const { return context_; }
  const rpc::Method& method() const { return method_; }
  const std::string& call_id() const { return call_id_; }
  // When the handler was entered (before the authorization check) and when
  // the call was admitted.
  std::chrono::steady_clock::time_point started() const { return started_; }
  std::chrono::steady_clock::time_point admitted() const { return admitted_; }
  std::chrono::milliseconds elapsed() const;

  // The one log line a call ends with: method, call id, duration, and the
  // code and message unless OK (or `debug` for successful chatty calls).
  void LogFinished(const grpc::Status& status) const;

  // Authorization for `method`, then a call slot when the method takes
  // one. nullopt with `*refusal` set (and logged) when refused.
  static std::optional<Admission> Check(RunnerContext& ctx, grpc::CallbackServerContext* context,
                                        const rpc::Method& method, grpc::Status* refusal);

 private:
  Admission(RunnerContext& ctx, grpc::CallbackServerContext* context, const rpc::Method& method,
            std::string call_id, CallSlot slot, std::chrono::steady_clock::time_point started);

  RunnerContext* ctx_;
  grpc::CallbackServerContext* context_;
  rpc::Method method_;
  std::string call_id_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point admitted_;
  CallSlot slot_;  // released when the call object goes
};

namespace admission_internal {

// The gRPC reactor type a call class derives from.
grpc::ServerUnaryReactor* BaseOf(grpc::ServerUnaryReactor*);
template <typename W>
grpc::ServerWriteReactor<W>* BaseOf(grpc::ServerWriteReactor<W>*);
template <typename R>
grpc::ServerReadReactor<R>* BaseOf(grpc::ServerReadReactor<R>*);
template <typename R, typename W>
grpc::ServerBidiReactor<R, W>* BaseOf(grpc::ServerBidiReactor<R, W>*);

// A call refused at the gate: finishes at once, deletes itself when done.
template <typename Reactor>
class RefusedCall final : public Reactor {
 public:
  explicit RefusedCall(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace admission_internal

template <typename Call>
using ReactorOf = std::remove_pointer_t<decltype(admission_internal::BaseOf(
    static_cast<Call*>(nullptr)))>;

// A handler's whole body: `return Admit<RunCall>(ctx_, context, rpc::kBashRun,
// request, response);` builds RunCall(Admission, request, response) once the
// gate lets the call in, or finishes it with the refusal.
template <typename Call, typename... Args>
ReactorOf<Call>* Admit(RunnerContext& ctx, grpc::CallbackServerContext* context,
                       const rpc::Method& method, Args&&... args) {
  using Reactor = ReactorOf<Call>;
  grpc::Status refusal;
  std::optional<Admission> admission = Admission::Check(ctx, context, method, &refusal);
  if (!admission.has_value()) {
    if constexpr (std::is_same_v<Reactor, grpc::ServerUnaryReactor>) {
      Reactor* reactor = context->DefaultReactor();
      reactor->Finish(refusal);
      return reactor;
    } else {
      return new admission_internal::RefusedCall<Reactor>(refusal);
    }
  }
  return new Call(std::move(*admission), std::forward<Args>(args)...);
}

// For unary calls answered through the context's default reactor:
// `fn(Admission, grpc::ServerUnaryReactor*)` runs once the call is let in
// and must finish the reactor (now or later).
template <typename Fn>
grpc::ServerUnaryReactor* AdmitUnary(RunnerContext& ctx, grpc::CallbackServerContext* context,
                                     const rpc::Method& method, Fn&& fn) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  grpc::Status refusal;
  std::optional<Admission> admission = Admission::Check(ctx, context, method, &refusal);
  if (!admission.has_value()) {
    reactor->Finish(refusal);
    return reactor;
  }
  std::forward<Fn>(fn)(std::move(*admission), reactor);
  return reactor;
}

}  // namespace sagewai

#endif  // SAGEWAI_TOOL_RUNNER_CORE_ADMISSION_H_
