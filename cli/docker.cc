#include "cli/docker.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sagewai::cli {

std::vector<std::string> BuildRunArgs(const ContainerSpec& spec) {
  std::vector<std::string> args = {"run", "--detach", "--name", spec.name};
  if (spec.no_pull) args.insert(args.end(), {"--pull", "never"});
  if (!spec.runtime.empty()) args.insert(args.end(), {"--runtime", spec.runtime});
  for (const std::string& label : spec.labels) args.insert(args.end(), {"--label", label});
  args.insert(args.end(), {
                              "--cap-drop",
                              "ALL",
                              "--cap-add",
                              "SETUID",
                              "--cap-add",
                              "SETGID",
                              "--cap-add",
                              "SETPCAP",
                              "--security-opt",
                              "no-new-privileges",
                              "--read-only",
                              "--tmpfs",
                              "/tmp:rw,noexec,nosuid,size=64m",
                              "--network",
                              spec.network,
                              "--pids-limit",
                              absl::StrCat(spec.pids_limit),
                              "--memory",
                              spec.memory,
                              "--cpus",
                              spec.cpus,
                          });
  // --mount (not -v): a path with ':' or ',' cannot be misread, and a
  // missing source is an error instead of a new root-owned directory.
  if (!spec.workspace_dir.empty()) {
    args.insert(args.end(), {"--mount", absl::StrCat("type=bind,source=", spec.workspace_dir,
                                                     ",target=/workspace")});
  } else if (spec.workspace_tmpfs_bytes > 0) {
    // Executable (scripts in the workspace must run), owned by the agent
    // user; the size is a hard limit.
    args.insert(args.end(), {"--tmpfs", absl::StrCat("/workspace:rw,exec,nosuid,nodev,size=",
                                                     spec.workspace_tmpfs_bytes,
                                                     ",uid=1000,gid=1000,mode=0770")});
  }
  if (!spec.socket_dir.empty()) {
    args.insert(args.end(), {"--mount", absl::StrCat("type=bind,source=", spec.socket_dir,
                                                     ",target=/run/sagewai")});
  }
  for (const std::string& name : spec.env_names) args.insert(args.end(), {"--env", name});
  // Callers reject image names starting with '-'.
  args.push_back(spec.image);
  args.insert(args.end(), spec.command.begin(), spec.command.end());
  return args;
}

const char* ImageInspectFormat() { return "{{.Id}}{{range .RepoDigests}} {{.}}{{end}}"; }

ImageIdentity ParseImageInspect(const std::string& output) {
  ImageIdentity identity;
  std::vector<std::string> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(output), ' ', absl::SkipEmpty());
  if (fields.empty()) return identity;
  identity.id = fields[0];
  identity.repo_digests.assign(fields.begin() + 1, fields.end());
  return identity;
}

namespace {

// "ghcr.io/x/y:1.0" -> "ghcr.io/x/y"; "localhost:5000/y" stays.
std::string RepositoryOf(const std::string& image) {
  std::string repo = image.substr(0, image.find('@'));
  size_t slash = repo.rfind('/');
  size_t colon = repo.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    repo.resize(colon);
  }
  return repo;
}

}  // namespace

std::string DescribeImageIdentity(const ImageIdentity& identity, const std::string& image) {
  const std::string repo = RepositoryOf(image);
  std::string first;
  std::string matching;
  for (const std::string& rd : identity.repo_digests) {
    size_t at = rd.find('@');
    if (at == std::string::npos) continue;
    const std::string rd_repo = rd.substr(0, at);
    const std::string digest = rd.substr(at + 1);
    if (first.empty()) first = digest;
    // Docker Hub names come back short ("debian@sha256:..." for
    // "docker.io/library/debian") or long; match either way.
    if (rd_repo == repo || absl::EndsWith(repo, "/" + rd_repo) ||
        absl::EndsWith(rd_repo, "/" + repo)) {
      matching = digest;
      break;
    }
  }
  const std::string& chosen = matching.empty() ? first : matching;
  if (!chosen.empty()) return absl::StrCat("digest ", chosen);
  return absl::StrCat("image id ", identity.id);
}

std::string LastLine(const std::string& text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    absl::string_view line = absl::StripAsciiWhitespace(*it);
    if (!line.empty()) return std::string(line);
  }
  return "";
}

std::string DockerErrorLine(const std::string& text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    absl::string_view line = absl::StripAsciiWhitespace(*it);
    if (line.empty() || absl::StartsWith(line, "Run '") || absl::StartsWith(line, "See '")) {
      continue;
    }
    return std::string(line);
  }
  return "";
}

absl::StatusOr<ProcessResult> Docker::Run(const std::vector<std::string>& args,
                                          absl::Duration timeout,
                                          std::optional<std::string> stdin_data,
                                          const std::vector<std::string>& set_env) const {
  std::vector<std::string> argv = {binary_};
  argv.insert(argv.end(), args.begin(), args.end());
  RunOptions options;
  options.timeout = timeout;
  options.stdin_data = std::move(stdin_data);
  options.cancel = cancel_;
  options.spawn.set_env = set_env;
  return RunProcess(argv, options);
}

absl::StatusOr<std::string> Docker::ServerVersion() const {
  absl::StatusOr<ProcessResult> r =
      Run({"version", "--format", "{{.Server.Version}}"}, absl::Seconds(30));
  if (!r.ok()) return r.status();
  if (r->timed_out) {
    return absl::UnavailableError("the Docker daemon did not answer `docker version` in 30 s");
  }
  std::string version(absl::StripAsciiWhitespace(r->out));
  if (r->exit_code != 0 || version.empty()) {
    std::string why = DockerErrorLine(r->err);
    return absl::UnavailableError(
        absl::StrCat("cannot talk to the Docker daemon: ", why.empty() ? "no answer" : why));
  }
  return version;
}

absl::StatusOr<std::optional<ImageIdentity>> Docker::InspectImage(const std::string& image) const {
  absl::StatusOr<ProcessResult> r =
      Run({"image", "inspect", "--format", ImageInspectFormat(), image}, absl::Seconds(60));
  if (!r.ok()) return r.status();
  if (r->exit_code == 0) return std::optional<ImageIdentity>(ParseImageInspect(r->out));
  if (absl::StrContains(absl::AsciiStrToLower(r->err), "no such image")) {
    return std::optional<ImageIdentity>();
  }
  return absl::UnavailableError(
      absl::StrCat("docker image inspect failed: ", DockerErrorLine(r->err)));
}

absl::StatusOr<Docker::State> Docker::InspectState(const std::string& container) const {
  absl::StatusOr<ProcessResult> r =
      Run({"container", "inspect", "--format",
           "{{.State.Running}} {{.State.ExitCode}} {{.State.Status}} {{.State.Error}}", container},
          absl::Seconds(30));
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return absl::NotFoundError(
        absl::StrCat("docker container inspect failed: ", DockerErrorLine(r->err)));
  }
  std::vector<std::string> fields =
      absl::StrSplit(absl::StripAsciiWhitespace(r->out), absl::MaxSplits(' ', 3));
  State state;
  if (fields.size() >= 3) {
    state.running = fields[0] == "true";
    if (!absl::SimpleAtoi(fields[1], &state.exit_code)) state.exit_code = -1;
    state.status = fields[2];
  }
  if (fields.size() == 4) state.error = fields[3];
  return state;
}

void Docker::ForceRemove(const std::string& container) const {
  // Not cancellable: cleanup must finish even after Ctrl-C.
  std::vector<std::string> argv = {binary_, "rm", "--force", "--volumes", container};
  RunOptions options;
  options.timeout = absl::Seconds(60);
  (void)RunProcess(argv, options);
}

}  // namespace sagewai::cli
