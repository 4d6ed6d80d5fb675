#include "tool-runner/server/server.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errno_status.h"
#include "common/log.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "tool-runner/server/auth_service.h"
#include "tool-runner/bash/bash_service.h"
#include "tool-runner/code_eval/code_eval_service.h"
#include "tool-runner/fs/fs_service.h"
#include "tool-runner/server/listen_address.h"
#include "tool-runner/server/runner_service.h"
#include "tool-runner/supervisor/tool_credentials.h"
#include "tool-runner/core/tool_env.h"

namespace sagewai {
namespace {

// mkdir -p for the socket's directory.
absl::Status MakeParents(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string::npos) return absl::OkStatus();
  std::string dir = path.substr(0, slash);
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST) {
      return ErrnoStatus(absl::StrCat("mkdir ", prefix));
    }
  }
  if (access(dir.c_str(), W_OK | X_OK) != 0) return ErrnoStatus(absl::StrCat("access ", dir));
  return absl::OkStatus();
}

// A socket file left by an earlier run would make bind fail.
absl::Status RemoveStaleSocket(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return absl::OkStatus();
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " exists and is not a socket; remove it or choose another --listen"));
  }
  if (unlink(path.c_str()) != 0) return ErrnoStatus(absl::StrCat("unlink ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<ListenAddress>> ResolveAddresses(const ServeOptions& options,
                                                            bool have_token) {
  std::vector<ListenAddress> out;
  if (options.listen.empty()) {
    ListenAddress addr{ListenAddress::Kind::kUnix, std::string(kDefaultSocketPath)};
    if (absl::Status st = MakeParents(addr.path); !st.ok()) {
      log::Warn("cannot use the default socket directory; falling back to /tmp",
                {{"error", std::string(st.message())},
                 {"fallback", std::string(kFallbackSocketPath)},
                 {"fix", "mount a writable directory at /run/sagewai"}});
      addr.path = std::string(kFallbackSocketPath);
      if (absl::Status st2 = MakeParents(addr.path); !st2.ok()) return st2;
    }
    out.push_back(addr);
  } else {
    for (const std::string& text : options.listen) {
      auto addr = ParseListenAddress(text);
      if (!addr.ok()) return addr.status();
      if (addr->kind == ListenAddress::Kind::kUnix) {
        if (absl::Status st = MakeParents(addr->path); !st.ok()) {
          return absl::FailedPreconditionError(
              absl::StrCat("cannot listen on ", addr->ToString(), ": ", st.message()));
        }
      }
      out.push_back(*addr);
    }
  }
  for (const ListenAddress& addr : out) {
    if (addr.kind == ListenAddress::Kind::kTcp && !have_token) {
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing to serve ", addr.ToString(),
          " without a session token: set SESSION_TOKEN (through the entrypoint) or --token-file"));
    }
    if (addr.kind == ListenAddress::Kind::kUnix) {
      if (absl::Status st = RemoveStaleSocket(addr.path); !st.ok()) return st;
    }
  }
  return out;
}

// Why a tool could remove, rename over or replace the socket at `path`, or
// "" when it cannot. Only meaningful when tools have a uid of their own.
std::string SocketReplaceableBy(const std::string& path, const ToolCredentials& tool) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return "";
  if (st.st_uid == tool.uid) return absl::StrCat(dir, " belongs to the tool user");
  bool in_group = st.st_gid == tool.gid;
  for (int i = 0; i < tool.ngroups; ++i) in_group = in_group || tool.groups[i] == st.st_gid;
  const bool writable = (st.st_mode & S_IWOTH) != 0 || (in_group && (st.st_mode & S_IWGRP) != 0);
  if (writable && (st.st_mode & S_ISVTX) == 0) {
    return absl::StrCat(dir, " is writable by the tool user and not sticky");
  }
  return "";
}

sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

absl::Status Serve(const ServeOptions& options, std::string token) {
  // Blocked before any thread starts, so every thread inherits the mask and
  // only the sigwait below sees these signals.
  sigset_t shutdown = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &shutdown, nullptr);
  signal(SIGPIPE, SIG_IGN);

  const bool have_token = !token.empty();
  auto addresses = ResolveAddresses(options, have_token);
  if (!addresses.ok()) return addresses.status();
  if (!have_token) {
    log::Warn("no session token: serving unix sockets only, without authentication",
              {{"fix", "start through sagewai-entrypoint with SESSION_TOKEN set, or --token-file"}});
  }

  SupervisorOptions sup_options;
  sup_options.kill_grace = options.limits.kill_grace;
  auto supervisor = Supervisor::Start(sup_options);
  if (!supervisor.ok()) return supervisor.status();

  RunnerLimits limits = options.limits;
  limits.max_contexts = options.code_eval.max_contexts;
  limits.context_idle_timeout = options.code_eval.idle_timeout;
  AuthOptions auth_options;
  auth_options.allow_bearer = options.allow_bearer;
  if (options.allow_bearer && have_token) {
    log::Warn(
        "--allow-bearer: plain bearer tokens are accepted; such a client puts the session "
        "token on the wire, where an impostor on the socket could take it",
        {{"fix", "move clients to the sagewai-hmac-sha256-v1 scheme and drop --allow-bearer"}});
  }
  RunnerContext ctx(limits, options.workdir, options.pass_env,
                    TokenAuth(std::move(token), std::move(auth_options)), supervisor->get());
  ctx.AddCapability("bash");
  ctx.AddCapability("fs");
  for (std::string& language :
       CodeEvalCapabilities(BaseToolEnvironment(options.pass_env).at("PATH"))) {
    ctx.AddCapability(std::move(language));
  }
  code_eval::CodeEvalManager code_eval_manager(**supervisor, options.code_eval);
  RunnerService runner_service(ctx);
  AuthService auth_service(ctx.auth());
  BashService bash_service(ctx);
  FilesystemService fs_service(ctx);
  CodeEvalService code_eval_service(ctx, code_eval_manager);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  std::vector<int> ports(addresses->size(), 0);
  for (size_t i = 0; i < addresses->size(); ++i) {
    builder.AddListeningPort((*addresses)[i].GrpcTarget(), grpc::InsecureServerCredentials(),
                             (*addresses)[i].kind == ListenAddress::Kind::kTcp ? &ports[i] : nullptr);
  }
  // SO_REUSEPORT would let any process of the same uid — a tool — bind the
  // same TCP port and receive some of the host's connections (and tokens).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  builder.RegisterService(&runner_service);
  builder.RegisterService(&auth_service);
  builder.RegisterService(&bash_service);
  builder.RegisterService(&fs_service);
  builder.RegisterService(&code_eval_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    (*supervisor)->Shutdown(std::chrono::milliseconds(0));
    std::vector<std::string> names;
    for (const auto& a : *addresses) names.push_back(a.ToString());
    return absl::UnavailableError(absl::StrCat("cannot listen on ", absl::StrJoin(names, ", "),
                                               " (address in use, or no permission?)"));
  }
  std::vector<std::string> listening;
  for (size_t i = 0; i < addresses->size(); ++i) {
    ListenAddress& a = (*addresses)[i];
    if (a.kind == ListenAddress::Kind::kUnix) {
      // The host user connects through a bind-mounted directory; the token
      // is the gate, so the socket itself may be open when there is one.
      chmod(a.path.c_str(), have_token ? 0666 : 0600);
      if (const ToolCredentials& tool = InstalledToolCredentials(); tool.separate) {
        if (std::string why = SocketReplaceableBy(a.path, tool); !why.empty()) {
          log::Warn("a tool could replace the runner's socket",
                    {{"socket", a.path},
                     {"why", why},
                     {"fix", "give the directory to the runner user (uid 900) with mode 0770, or "
                             "make it sticky (1777)"}});
        }
      }
    } else if (ports[i] != 0) {
      a.port = ports[i];
    }
    listening.push_back(a.ToString());
  }
  log::Info("serving", {{"listen", absl::StrJoin(listening, ",")},
                        {"version", SAGEWAI_VERSION},
                        {"auth", have_token},
                        {"uid", static_cast<int64_t>(getuid())},
                        {"tool_uid", static_cast<int64_t>(InstalledRunnerIdentity().tool.uid)}});

  int sig = 0;
  while (sigwait(&shutdown, &sig) != 0) {
  }
  log::Info("shutting down", {{"signal", sig}, {"running_calls", static_cast<int64_t>((*supervisor)->running())}});
  // Watch streams never end on their own.
  fs_service.Shutdown();
  server->GetHealthCheckService()->SetServingStatus(false);
  // Stop accepting now; calls still running end when their processes are
  // killed below, which lets Shutdown return.
  // Idle client connections would hold Shutdown until its deadline: keep
  // it as short as the call grace.
  const auto grace = options.shutdown_grace;
  auto stop_server = [&server, grace] {
    server->Shutdown(std::chrono::system_clock::now() + grace);
  };
  std::thread stopper;
  try {
    stopper = std::thread(stop_server);
  } catch (const std::system_error& e) {
    // No thread to be had (the tools hold every pid): kill the calls first,
    // which frees their pids, then stop the server on this thread.
    log::Warn("shutting down without a helper thread", {{"error", e.what()}});
  }
  (*supervisor)->Shutdown(options.shutdown_grace);
  if (stopper.joinable()) {
    stopper.join();
  } else {
    stop_server();
  }
  for (const ListenAddress& a : *addresses) {
    if (a.kind == ListenAddress::Kind::kUnix) unlink(a.path.c_str());
  }
  log::Info("stopped");
  return absl::OkStatus();
}

}  // namespace sagewai
