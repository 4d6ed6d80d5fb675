#include "tool-runner/server/runner_service.h"

#include <unistd.h>

#include <fstream>
#include <string>

#include "tool-runner/core/admission.h"
#include "tool-runner/supervisor/tool_credentials.h"

namespace sagewai {

namespace v1 = ::sagewai::sandbox::v1;

bool RunningUnprivileged() {
  std::ifstream status("/proc/self/status");
  std::string line;
  bool no_caps = false;
  bool nnp = false;
  while (std::getline(status, line)) {
    if (line.rfind("CapEff:", 0) == 0) {
      no_caps = line.find_first_not_of("0\t ", 7) == std::string::npos;
    } else if (line.rfind("NoNewPrivs:", 0) == 0) {
      nnp = line.find('1', 11) != std::string::npos;
    }
  }
  return no_caps && nnp;
}

grpc::ServerUnaryReactor* RunnerService::GetInfo(grpc::CallbackServerContext* context,
                                                 const v1::GetInfoRequest* request,
                                                 v1::GetInfoResponse* response) {
  return AdmitUnary(ctx_, context, rpc::kRunnerGetInfo, [&](Admission, auto* reactor) {
    FillInfo(response);
    reactor->Finish(grpc::Status::OK);
  });
}

void RunnerService::FillInfo(v1::GetInfoResponse* response) const {
  response->set_version(SAGEWAI_VERSION);
  response->set_uid(getuid());
  response->set_gid(getgid());
  for (const auto& cap : ctx_.capabilities()) response->add_capabilities(cap);
  const RunnerLimits& l = ctx_.limits();
  auto* limits = response->mutable_limits();
  limits->set_max_output_bytes(l.max_output_bytes);
  limits->set_max_concurrent_calls(l.max_concurrent_calls);
  limits->set_default_timeout_ms(static_cast<uint32_t>(l.default_timeout.count()));
  limits->set_max_timeout_ms(static_cast<uint32_t>(l.max_timeout.count()));
  limits->set_kill_grace_ms(static_cast<uint32_t>(l.kill_grace.count()));
  limits->set_max_contexts(l.max_contexts);
  limits->set_context_idle_timeout_ms(static_cast<uint32_t>(l.context_idle_timeout.count()));
  response->set_workdir(ctx_.workdir());
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) response->set_hostname(host);
  response->set_pid(getpid());
  response->set_uptime_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                              std::chrono::steady_clock::now() - ctx_.started())
                              .count());
  response->set_unprivileged(RunningUnprivileged());
  const RunnerIdentity& identity = InstalledRunnerIdentity();
  response->set_tool_uid(identity.tool.uid);
  response->set_tool_gid(identity.tool.gid);
  response->set_tools_share_runner_uid(!identity.separated);
  response->set_identity_note(identity.note);
  for (std::string& scheme : ctx_.auth().Schemes()) response->add_auth_schemes(std::move(scheme));
}

}  // namespace sagewai
