#include "cli/sandbox_start.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "cli/exit_codes.h"
#include "cli/random_hex.h"
#include "cli/sandbox_labels.h"
#include "cli/sandbox_launch.h"
#include "cli/validate_checks.h"

namespace sagewai::cli {

namespace {

constexpr size_t kMaxSocketPath = 107;

void RemoveTree(const std::string& path, std::vector<std::string>* said) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec && said != nullptr) {
    said->push_back(
        absl::StrCat("warning: could not remove ", path, ": ", ec.message(),
                     geteuid() != 0 ? " (files the agent user made: remove them as root)" : ""));
  }
}

// Without root we cannot delete what the agent (uid 1000) made in the
// workspace of the state directory: the agent deletes it, in the sandbox
// while it runs, else in a throwaway container of the same image.
void EmptyWorkspaceAsAgent(const Docker& docker, const std::string& container, bool running,
                           const std::string& state_dir) {
  const std::string workspace = state_dir + "/workspace";
  std::error_code ec;
  if (geteuid() == 0 || !std::filesystem::is_directory(workspace, ec) ||
      std::filesystem::is_empty(workspace, ec)) {
    return;
  }
  const char* script = "chmod -R u+rwX \"$0\" 2>/dev/null; find \"$0\" -mindepth 1 -delete";
  if (running) {
    (void)docker.Run({"exec", "--user", "1000:1000", container, "sh", "-c", script, "/workspace"},
                     absl::Seconds(60));
    return;
  }
  absl::StatusOr<SandboxRecord> record = ReadRecord(state_dir + "/sandbox");
  if (!record.ok() || record->Get("image").empty()) return;
  (void)docker.Run({"run",
                    "--rm",
                    "--pull",
                    "never",
                    "--user",
                    "1000:1000",
                    "--network",
                    "none",
                    "--cap-drop",
                    "ALL",
                    "--security-opt",
                    "no-new-privileges",
                    "--entrypoint",
                    "sh",
                    "--mount",
                    absl::StrCat("type=bind,source=", workspace, ",target=/w"),
                    record->Get("image"),
                    "-c",
                    script,
                    "/w"},
                   absl::Seconds(120));
}

// Undoes a half-made start.
void Abandon(const Docker& docker, const std::string& container, const std::string& dir) {
  if (!container.empty()) docker.ForceRemove(container);
  std::vector<std::string> ignored;
  RemoveTree(dir, &ignored);
}

}  // namespace

bool StartSandbox(const StartOptions& options, bool hold, const std::atomic<bool>* cancel,
                  StartedSandbox* started, CliError* error) {
  const absl::Time begin = absl::Now();
  if (absl::StatusOr<std::string> found = FindInPath(options.docker); !found.ok()) {
    *error = {kExitUnavailable,
              absl::StrCat("cannot start a sandbox: ", found.status().message(),
                           " — install the Docker CLI (Debian: docker.io) or pass --docker PATH")};
    return false;
  }
  const Docker docker(options.docker, cancel);
  if (struct stat st{}; !options.workspace.empty() && ::stat(options.workspace.c_str(), &st) == 0) {
    // Tools run as uid 1000, group 1000, without capabilities.
    const bool writable = (st.st_uid == 1000 && (st.st_mode & S_IWUSR)) ||
                          (st.st_gid == 1000 && (st.st_mode & S_IWGRP)) || (st.st_mode & S_IWOTH);
    if (!writable) {
      fprintf(stderr,
              "note: --workspace %s is not writable for the agent user (uid 1000) in the "
              "sandbox (owner %u:%u, mode %04o): chown 1000 it, or chmod o+w\n",
              options.workspace.c_str(), st.st_uid, st.st_gid, st.st_mode & 07777);
    }
  }
  const std::string root = SandboxStateRoot();
  if (absl::Status status = MakePrivateDir(root); !status.ok()) {
    *error = {kExitIoErr,
              absl::StrCat("cannot create the state directory ", root, ": ", status.message(),
                           " — set ", kStateRootEnv, " to a directory you can write")};
    return false;
  }
  std::string id;
  SandboxPaths paths;
  for (int attempt = 0; attempt < 8 && id.empty(); ++attempt) {
    std::string candidate = NewSandboxId();
    paths = PathsFor(root, candidate);
    if (::mkdir(paths.dir.c_str(), 0700) == 0) id = candidate;
  }
  if (id.empty()) {
    *error = {kExitIoErr, absl::StrCat("cannot create a directory in ", root, ": ", strerror(errno),
                                       " — set ", kStateRootEnv, " to a directory you can write")};
    return false;
  }
  if (paths.socket_path.size() > kMaxSocketPath) {
    Abandon(docker, "", paths.dir);
    *error = {kExitConfig,
              absl::StrCat("the runner's socket would be ", paths.socket_path, " (",
                           paths.socket_path.size(), " bytes), longer than unix sockets allow (",
                           kMaxSocketPath, ") — set ", kStateRootEnv, " to a shorter directory")};
    return false;
  }
  if (hold) {
    absl::StatusOr<HolderLock> lock = HolderLock::Acquire(paths.lock_file);
    if (!lock.ok()) {
      Abandon(docker, "", paths.dir);
      *error = {kExitIoErr,
                absl::StrCat("cannot lock ", paths.lock_file, ": ", lock.status().message())};
      return false;
    }
    started->lock = *std::move(lock);
  }
  const std::string token = RandomHex(32);
  std::string workspace_text;
  absl::Status prepared = PrepareRunnerDir(paths.socket_dir);
  if (prepared.ok()) prepared = WritePrivateFile(paths.token_file, token + "\n");
  if (prepared.ok() && options.workspace.empty() && !options.disk_bytes) {
    prepared = PrepareAgentDir(paths.workspace_dir);
  }
  if (!prepared.ok()) {
    Abandon(docker, "", paths.dir);
    *error = {kExitIoErr, absl::StrCat("cannot prepare ", paths.dir, ": ", prepared.message())};
    return false;
  }

  ContainerSpec spec;
  spec.image = options.image;
  spec.name = absl::StrCat("sagewai-", id);
  spec.runtime = options.runtime;
  spec.socket_dir = paths.socket_dir;
  spec.network = options.network;
  spec.cpus = options.cpus;
  spec.memory = absl::StrCat(options.memory_bytes);
  spec.pids_limit = options.pids;
  spec.no_pull = true;
  if (!options.workspace.empty()) {
    spec.workspace_dir = options.workspace;
    workspace_text = options.workspace;
  } else if (options.disk_bytes) {
    spec.workspace_tmpfs_bytes = *options.disk_bytes;
    workspace_text = absl::StrCat("tmpfs, ", FormatSize(*options.disk_bytes));
  } else {
    spec.workspace_dir = paths.workspace_dir;
    workspace_text = paths.workspace_dir;
  }
  SandboxLabelValues labels;
  labels.sandbox_id = id;
  labels.run_id = options.run_id;
  labels.project_id = options.project_id;
  labels.image = options.image;
  labels.lifetime = options.lifetime;
  labels.started_at = absl::Now();
  labels.state_dir = paths.dir;
  spec.labels = SandboxLabels(labels);
  std::vector<std::string> secrets = {absl::StrCat("SESSION_TOKEN=", token),
                                      absl::StrCat("SESSION_ID=", id)};
  spec.env_names = {"SESSION_TOKEN", "SESSION_ID"};
  for (const auto& [name, value] : options.env) {
    spec.env_names.push_back(name);
    secrets.push_back(absl::StrCat(name, "=", value));
  }
  if (!options.env.empty()) {
    // The runner gives gRPC tools a clean environment plus what it is told
    // to pass through (docker exec tools inherit everything anyway).
    spec.command = {"sagewai-tool-runner", "serve"};
    for (const auto& [name, value] : options.env)
      spec.command.insert(spec.command.end(), {"--pass-env", name});
  }

  Launch launch = LaunchContainer(docker, spec, secrets);
  if (launch.error && launch.error->kind == LaunchError::Kind::kNoImage) {
    fprintf(stderr, "%s is not present locally; pulling it ...\n", options.image.c_str());
    absl::StatusOr<ProcessResult> pull =
        docker.Run({"pull", "--quiet", options.image}, absl::Minutes(30));
    if (pull.ok() && pull->exit_code == 0) {
      docker.ForceRemove(spec.name);
      launch = LaunchContainer(docker, spec, secrets);
    } else {
      launch.error->what = absl::StrCat(
          "the image ", options.image, " is not present locally and could not be pulled: ",
          pull.ok() ? DockerErrorLine(pull->err) : std::string(pull.status().message()));
    }
  }
  if (launch.error) {
    Abandon(docker, spec.name, paths.dir);
    const LaunchError& e = *launch.error;
    int code = kExitCheckFailed;
    if (e.kind == LaunchError::Kind::kEngineDown) code = kExitUnavailable;
    if (e.kind == LaunchError::Kind::kInterrupted) code = 130;
    *error = {code, code == 130
                        ? absl::StrCat(e.what, "; nothing was left behind")
                        : absl::StrCat("cannot start a sandbox: ", e.what,
                                       e.remedy.empty() ? "" : absl::StrCat("\n  → ", e.remedy))};
    return false;
  }
  const absl::Time run_returned = absl::Now();
  Readiness ready = WaitForServing(docker, launch.container, paths.socket_path,
                                   options.start_timeout, cancel, options.runtime);
  if (!ready.serving) {
    const LaunchError& e = *ready.error;
    std::string message = absl::StrCat("sandbox ", id, " did not start: ", e.what);
    if (!e.logs.empty()) absl::StrAppend(&message, "\n  container log (last lines):\n", e.logs);
    if (!e.remedy.empty()) {
      if (!absl::EndsWith(message, "\n")) message += "\n";
      absl::StrAppend(&message, "  → ", e.remedy);
    }
    Abandon(docker, launch.container, paths.dir);
    if (e.kind == LaunchError::Kind::kInterrupted) {
      *error = {130, absl::StrCat(e.what, "; nothing was left behind")};
    } else {
      *error = {kExitCheckFailed, message};
    }
    return false;
  }
  started->serving_time = absl::Now() - run_returned;

  SandboxRecord record;
  record.values = {{"id", id},
                   {"container_id", launch.container},
                   {"container_name", spec.name},
                   {"image", options.image},
                   {"addr", paths.Address()},
                   {"token_file", paths.token_file},
                   {"workspace", workspace_text},
                   {"started_at", FormatStartedAt(labels.started_at)},
                   {"lifetime", options.lifetime},
                   {"run_id", options.run_id},
                   {"project_id", options.project_id},
                   {"state_dir", paths.dir}};
  if (absl::Status status = WriteRecord(paths.record_file, record); !status.ok()) {
    Abandon(docker, launch.container, paths.dir);
    *error = {kExitIoErr, absl::StrCat("cannot write ", paths.record_file, ": ", status.message())};
    return false;
  }
  started->id = id;
  started->paths = paths;
  started->container = launch.container;
  started->image = options.image;
  started->workspace = workspace_text;
  started->run_time = launch.run_time;
  started->total_time = absl::Now() - begin;
  return true;
}

absl::Status StopSandbox(const std::string& docker_binary, const std::string& id,
                         absl::Duration grace, std::vector<std::string>* said) {
  if (!IsValidSandboxId(id)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", id, "\" is not a sandbox id"));
  }
  const Docker docker(docker_binary);
  // Every container with the label (normally one), and the state directory:
  // ours, or the one the label names if it really is this sandbox's.
  std::vector<std::string> containers;
  std::string state_dir;
  absl::StatusOr<ProcessResult> ps = docker.Run(
      {"ps", "--all", "--no-trunc", "--filter", absl::StrCat("label=", kLabelSandboxId, "=", id),
       "--format", absl::StrCat("{{.ID}}\t{{.Label \"", kLabelStateDir, "\"}}")},
      absl::Seconds(30));
  if (!ps.ok() || ps->exit_code != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot list containers: ",
                     ps.ok() ? DockerErrorLine(ps->err) : std::string(ps.status().message()), " — ",
                     EngineDownRemedy()));
  }
  for (absl::string_view line : absl::StrSplit(ps->out, '\n', absl::SkipWhitespace())) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    containers.push_back(f[0]);
    if (f.size() > 1 && !f[1].empty()) {
      absl::StatusOr<SandboxRecord> record = ReadRecord(f[1] + "/sandbox");
      if (record.ok() && record->Get("id") == id) state_dir = f[1];
    }
  }
  const SandboxPaths own = PathsFor(SandboxStateRoot(), id);
  struct stat st {};
  if (state_dir.empty() && ::stat(own.dir.c_str(), &st) == 0) state_dir = own.dir;
  if (containers.empty() && state_dir.empty()) {
    return absl::NotFoundError(absl::StrCat("no sandbox ", id, " (no container labelled ",
                                            kLabelSandboxId, "=", id, ", nothing in ",
                                            SandboxStateRoot(), ") — see `sagewai-sandbox list`"));
  }
  for (const std::string& container : containers) {
    const std::string short_id = container.substr(0, 12);
    if (!state_dir.empty()) {
      absl::StatusOr<Docker::State> state = docker.InspectState(container);
      EmptyWorkspaceAsAgent(docker, container, state.ok() && state->running, state_dir);
    }
    absl::StatusOr<ProcessResult> stop =
        docker.Run({"stop", "--time", absl::StrCat(absl::ToInt64Seconds(grace)), container},
                   grace + absl::Seconds(60));
    if (stop.ok() && stop->exit_code == 0) {
      said->push_back(absl::StrFormat("stopped container %s in %.1f s", short_id,
                                      absl::ToDoubleSeconds(stop->elapsed)));
    }
    absl::StatusOr<ProcessResult> rm =
        docker.Run({"rm", "--force", "--volumes", container}, absl::Seconds(60));
    if (!rm.ok() || (rm->exit_code != 0 &&
                     !absl::StrContains(absl::AsciiStrToLower(rm->err), "no such container"))) {
      return absl::InternalError(
          absl::StrCat("cannot remove container ", short_id, ": ",
                       rm.ok() ? DockerErrorLine(rm->err) : std::string(rm.status().message())));
    }
    said->push_back(absl::StrCat("removed container ", short_id));
  }
  if (!state_dir.empty()) {
    RemoveTree(state_dir, said);
    if (::stat(state_dir.c_str(), &st) != 0) said->push_back(absl::StrCat("removed ", state_dir));
  }
  return absl::OkStatus();
}

}  // namespace sagewai::cli
