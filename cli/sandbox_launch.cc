#include "cli/sandbox_launch.h"

#include <grpcpp/grpcpp.h>
#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace sagewai::cli {
namespace {

using Kind = LaunchError::Kind;

bool Contains(const std::string& text, absl::string_view what) {
  return absl::StrContains(absl::AsciiStrToLower(text), what);
}

bool Cancelled(const std::atomic<bool>* cancel) { return cancel != nullptr && cancel->load(); }

// One health check on a fresh channel: "" when SERVING, else why not.
std::string CheckHealth(const std::string& socket_path) {
  grpc::ChannelArguments args;
  // A new channel per attempt: never share a subchannel (and its backoff)
  // with an earlier attempt that found nothing listening yet.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(absl::StrCat("unix://", socket_path),
                                           grpc::InsecureChannelCredentials(), args);
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = health->Check(&context, {}, &response);
  if (status.ok() && response.status() == grpc::health::v1::HealthCheckResponse::SERVING) {
    return "";
  }
  if (status.error_code() == grpc::UNIMPLEMENTED) return "the runner has no grpc.health.v1 service";
  return status.ok() ? "the runner's health is not SERVING"
                     : absl::StrCat("health check: ", status.error_message());
}

}  // namespace

std::string DockerRunRemedy(const std::string& why, const std::string& runtime) {
  if (!runtime.empty() && Contains(why, "runtime")) {
    return absl::StrCat("install the ", runtime,
                        " runtime and register it in /etc/docker/daemon.json (then restart "
                        "dockerd), or drop --runtime; `sagewai-sandbox doctor` lists the "
                        "registered runtimes");
  }
  if (Contains(why, "cgroup") || Contains(why, "memory") || Contains(why, "pids")) {
    return "this Docker host cannot apply the resource limits the worker uses (--pids-limit, "
           "--memory, --cpus): enable the cgroup controllers, or lower the limits; see "
           "`sagewai-sandbox doctor`";
  }
  if (Contains(why, "range of cpus") || Contains(why, "cpus")) {
    return "--cpu must not exceed the number of CPUs the engine has (docker info)";
  }
  if (Contains(why, "bind source path does not exist") || Contains(why, "mount")) {
    return "a mounted host directory is missing or not shareable with the engine (with Docker "
           "Desktop or a remote engine the directory must exist where the engine runs)";
  }
  return "fix the error docker reported and retry";
}

Launch LaunchContainer(const Docker& docker, const ContainerSpec& spec,
                       const std::vector<std::string>& secrets) {
  Launch launch;
  absl::StatusOr<ProcessResult> run =
      docker.Run(BuildRunArgs(spec), absl::Minutes(2), std::nullopt, secrets);
  if (run.ok() && run->exit_code == 0) {
    launch.run_time = run->elapsed;
    launch.container = std::string(absl::StripAsciiWhitespace(LastLine(run->out)));
    if (launch.container.empty()) launch.container = spec.name;
    return launch;
  }
  LaunchError error;
  if (!run.ok() && absl::IsCancelled(run.status())) {
    error.kind = Kind::kInterrupted;
    error.what = "interrupted while docker run was starting the container";
    launch.error = error;
    return launch;
  }
  if (!run.ok()) {
    error.what = absl::StrCat("docker run could not be started: ", run.status().message());
    error.remedy = "install the Docker CLI (docker in PATH)";
    launch.error = error;
    return launch;
  }
  const std::string why = DockerErrorLine(run->err);
  if (run->timed_out) {
    error.what = "docker run did not finish within 2 minutes";
    error.remedy = "the engine is overloaded or stuck: check `docker info` and its log";
  } else if (Contains(why, "cannot connect to the docker daemon") ||
             Contains(why, "error during connect") ||
             Contains(why, "is the docker daemon running")) {
    error.kind = Kind::kEngineDown;
    error.what = absl::StrCat("the Docker engine does not answer: ", why);
    error.remedy = EngineDownRemedy();
  } else if (spec.no_pull &&
             (Contains(why, "no such image") || Contains(why, "unable to find image"))) {
    error.kind = Kind::kNoImage;
    error.what = absl::StrCat("the image ", spec.image, " is not present locally");
    error.remedy =
        "build it (make images, or scripts/build-images.sh base), docker pull or "
        "docker load it, or pass --image";
  } else if (!spec.runtime.empty() && Contains(why, "runtime")) {
    error.kind = Kind::kRuntime;
    error.what = absl::StrCat("docker run failed: ", why.empty() ? "no details" : why);
    error.remedy = DockerRunRemedy(why, spec.runtime);
  } else {
    error.what = absl::StrCat("docker run failed: ", why.empty() ? "no details" : why);
    error.remedy = DockerRunRemedy(why, spec.runtime);
  }
  launch.error = error;
  return launch;
}

std::string EngineDownRemedy() {
  const char* host = getenv("DOCKER_HOST");
  return absl::StrCat("start the engine (systemctl start docker, or scripts/ensure-docker.sh), ",
                      host != nullptr && *host != '\0'
                          ? absl::StrCat("or fix DOCKER_HOST (now ", host, ")")
                          : "or point DOCKER_HOST at a running one",
                      "; check with `docker info` or `sagewai-sandbox doctor`");
}

Readiness WaitForServing(const Docker& docker, const std::string& container,
                         const std::string& socket_path, absl::Duration timeout,
                         const std::atomic<bool>* cancel, const std::string& runtime) {
  Readiness r;
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + timeout;
  absl::Time next_state_check = start + absl::Milliseconds(300);
  std::string reason = "no socket appeared at /run/sagewai/tool-runner.sock";
  while (absl::Now() < deadline && !Cancelled(cancel)) {
    struct stat st {};
    if (stat(socket_path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
      // The health service is open without a token, as a kubelet probe needs.
      std::string why = CheckHealth(socket_path);
      if (why.empty()) {
        r.serving = true;
        r.waited = absl::Now() - start;
        return r;
      }
      reason = why;
    }
    if (absl::Now() >= next_state_check) {
      absl::StatusOr<Docker::State> state = docker.InspectState(container);
      if (state.ok() && !state->running) {
        LaunchError error;
        error.kind = Kind::kExited;
        error.what =
            absl::StrCat("the container exited at start with code ", state->exit_code,
                         state->error.empty() ? "" : absl::StrCat(" (", state->error, ")"));
        error.remedy =
            "PID 1 must be sagewai-entrypoint running "
            "`sagewai-tool-runner serve` (sandbox-base's ENTRYPOINT and CMD) and must work on a "
            "read-only root with a noexec /tmp";
        error.logs = ContainerLogTail(docker, container);
        if (error.logs.empty()) absl::StrAppend(&error.what, "; it logged nothing");
        r.error = error;
        r.waited = absl::Now() - start;
        return r;
      }
      next_state_check = absl::Now() + absl::Milliseconds(300);
    }
    // The socket appears within milliseconds of the start: look often.
    absl::SleepFor(absl::Milliseconds(st.st_mode != 0 ? 10 : 2));
  }
  LaunchError error;
  r.waited = absl::Now() - start;
  if (Cancelled(cancel)) {
    error.kind = Kind::kInterrupted;
    error.what = "interrupted while waiting for the runner";
    r.error = error;
    return r;
  }
  error.kind = Kind::kNotServing;
  error.what = absl::StrCat(reason, " within ", absl::FormatDuration(timeout));
  if (!runtime.empty()) {
    error.remedy = absl::StrCat(
        "under --runtime ", runtime,
        " the host must be able to connect to a unix socket made in the container: for gVisor, "
        "add \"--host-uds=all\" to runsc's runtimeArgs in /etc/docker/daemon.json");
  } else if (absl::StartsWith(reason, "no socket")) {
    error.remedy =
        "the runner could not create its socket in the mounted directory (see the log lines: a "
        "WARN about falling back to /tmp/sagewai means /run/sagewai was not writable for uid "
        "1000), or the engine cannot share host directories (remote engine, Docker Desktop "
        "file sharing)";
  } else {
    error.remedy = "the runner is up but not healthy: see its log lines above";
  }
  error.logs = ContainerLogTail(docker, container);
  r.error = error;
  return r;
}

std::string ContainerLogTail(const Docker& docker, const std::string& container, size_t lines) {
  absl::StatusOr<ProcessResult> logs =
      docker.Run({"logs", "--tail", absl::StrCat(lines), container}, absl::Seconds(30));
  if (!logs.ok()) return "";
  std::vector<std::string> all =
      absl::StrSplit(logs->out + logs->err, '\n', absl::SkipWhitespace());
  size_t first = all.size() > lines ? all.size() - lines : 0;
  std::string out;
  for (size_t i = first; i < all.size(); ++i) absl::StrAppend(&out, "    | ", all[i], "\n");
  return out;
}

}  // namespace sagewai::cli
