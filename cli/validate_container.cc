#include "cli/validate_container.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/sandbox_launch.h"
#include "cli/sandbox_state.h"
#include "cli/validate_checks.h"
#include "common/environ_scrub.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace sagewai::cli {

namespace pb = sagewai::sandbox::v1;

namespace {

constexpr char kSocketName[] = "tool-runner.sock";

}  // namespace

bool ValidateContainer::PullImage() {
  absl::StatusOr<std::optional<ImageIdentity>> identity = docker_.InspectImage(options_.image);
  if (identity.ok() && !identity->has_value() && !Interrupted()) {
    fprintf(stderr, "pulling %s ...\n", options_.image.c_str());
    absl::StatusOr<ProcessResult> pull =
        docker_.Run({"pull", "--quiet", options_.image}, absl::Minutes(30));
    if (!pull.ok() || pull->exit_code != 0) {
      std::string why =
          pull.ok() ? DockerErrorLine(pull->err) : std::string(pull.status().message());
      report_.Fail(
          {absl::StrCat("image pull failed: ", why.empty() ? "no details" : why),
           "check the image name and tag; for a private registry run `docker login` first"});
      return false;
    }
    identity = docker_.InspectImage(options_.image);
  }
  if (!identity.ok() || !identity->has_value()) {
    report_.Fail({absl::StrCat("image pulled: ",
                               identity.ok() ? "the image is still not present after the pull"
                                             : std::string(identity.status().message())),
                  "check that the Docker daemon is healthy and retry"});
    return false;
  }
  report_.Pass(
      absl::StrCat("image pulled (", DescribeImageIdentity(**identity, options_.image), ")"));
  return true;
}

bool ValidateContainer::MakeDirectories() {
  std::vector<std::string> roots;
  if (const char* tmp = getenv("TMPDIR"); tmp != nullptr && *tmp != '\0') roots.push_back(tmp);
  roots.push_back("/tmp");
  for (const std::string& root : roots) {
    std::string tmpl = absl::StrCat(root, "/sagewai-validate-XXXXXX");
    // The socket path must fit in sockaddr_un (107 bytes).
    if (tmpl.size() + 5 + strlen(kSocketName) > 107) continue;
    if (mkdtemp(tmpl.data()) == nullptr) {
      fprintf(stderr, "cannot create a temporary directory in %s: %s\n", root.c_str(),
              strerror(errno));
      continue;
    }
    base_dir_ = tmpl;  // mode 0700: the socket and workspace stay private
    workspace_dir_ = base_dir_ + "/workspace";
    socket_dir_ = base_dir_ + "/run";
    for (const std::string& dir : {workspace_dir_, socket_dir_}) {
      absl::Status status = dir == socket_dir_ ? PrepareRunnerDir(dir) : PrepareAgentDir(dir);
      if (!status.ok()) {
        fprintf(stderr, "%s\n", std::string(status.message()).c_str());
        return false;
      }
    }
    return true;
  }
  return false;
}

bool ValidateContainer::Start() {
  const std::string session_token = RandomHex(32);
  secrets_ = {
      {"HOST_SECRET", RandomHex(16)},
      {"SESSION_TOKEN", session_token},
      {"SESSION_ID", absl::StrCat("validate-", RandomHex(8))},
      {"CONTROL_PLANE_URL", absl::StrCat("http://control-plane.invalid/", RandomHex(8))},
  };
  // Like a secret in a worker's own environment: the container must not get it.
  setenv("HOST_SECRET", secrets_["HOST_SECRET"].c_str(), 1);

  ContainerSpec spec;
  spec.image = options_.image;
  spec.name = absl::StrCat("sagewai-validate-", RandomHex(4));
  spec.runtime = options_.runtime;
  spec.workspace_dir = workspace_dir_;
  spec.socket_dir = socket_dir_;
  spec.env_names.assign(std::begin(kControlPlaneVars), std::end(kControlPlaneVars));
  spec.labels = {"org.sagewai.validate=1"};
  std::vector<std::string> env;
  for (const std::string& name : spec.env_names) {
    env.push_back(absl::StrCat(name, "=", secrets_[name]));
  }
  Launch launch = LaunchContainer(docker_, spec, env);
  if (launch.error) {
    report_.Fail({absl::StrCat("container starts: ", launch.error->what), launch.error->remedy});
    // A container may exist even though docker run failed (e.g. start error).
    container_ = spec.name;
    return false;
  }
  container_ = launch.container;

  Token token;
  token.value = session_token;
  token.source = "the container's SESSION_TOKEN";
  absl::StatusOr<Address> address =
      ParseAddress(absl::StrCat("unix://", socket_dir_, "/", kSocketName));
  connection_ = std::make_unique<Connection>(*address, token);

  Readiness readiness =
      WaitForServing(docker_, container_, absl::StrCat(socket_dir_, "/", kSocketName),
                     options_.start_timeout, interrupted_, options_.runtime);
  serving_ = readiness.serving;
  if (readiness.error) not_serving_reason_ = readiness.error->what;
  if (Interrupted()) return false;
  absl::StatusOr<Docker::State> state = docker_.InspectState(container_);
  if (state.ok() && !state->running) {
    report_.Fail(
        {absl::StrCat("container starts: it exited with code ", state->exit_code,
                      state->error.empty() ? "" : absl::StrCat(" (", state->error, ")")),
         absl::StrCat("PID 1 must keep running: ENTRYPOINT [\"/usr/local/bin/sagewai-entrypoint\"] "
                      "with CMD [\"sagewai-tool-runner\", \"serve\"], on a read-only root with a "
                      "noexec /tmp as in production; re-inherit from ghcr.io/sagewai/sandbox-base "
                      "and don't override its ENTRYPOINT or CMD")},
        Logs());
    return false;
  }
  report_.Pass("container starts");
  return true;
}

std::string ValidateContainer::Logs() const {
  std::string text = ContainerLogTail(docker_, container_, 20);
  return text.empty() ? "" : absl::StrCat("  container log (last lines):\n", text);
}

grpc::Status ValidateContainer::RunTool(const std::string& command, pb::BashResult* result) {
  auto stub = pb::Bash::NewStub(connection_->channel());
  auto context = connection_->NewContext(kValidateToolTimeout + absl::Seconds(10));
  pb::BashRequest request;
  request.set_command(command);
  request.set_timeout_ms(static_cast<uint32_t>(absl::ToInt64Milliseconds(kValidateToolTimeout)));
  return stub->Run(context.get(), request, result);
}

void ValidateContainer::Cleanup() {
  if (cleaned_) return;
  cleaned_ = true;
  connection_.reset();
  if (options_.keep) {
    if (!container_.empty() || !base_dir_.empty()) {
      fprintf(stderr, "kept: container %s, directory %s (socket %s/%s)\n",
              container_.empty() ? "-" : container_.substr(0, 12).c_str(),
              base_dir_.empty() ? "-" : base_dir_.c_str(), socket_dir_.c_str(), kSocketName);
    }
    return;
  }
  if (!container_.empty()) docker_.ForceRemove(container_);
  if (!base_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(base_dir_, ec);
    if (ec) {
      fprintf(stderr, "warning: could not remove %s: %s\n", base_dir_.c_str(),
              ec.message().c_str());
    }
  }
}

}  // namespace sagewai::cli
