#include "cli/sandbox_start.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
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
#include "cli/sandbox_labels.h"
#include "cli/sandbox_launch.h"
#include "cli/validate_checks.h"

namespace sagewai::cli {

const char kStartOptionsHelp[] =
    R"(  --image IMG        the sandbox image (default: sandbox-base:)" SAGEWAI_VERSION R"(); pulled
                     when not present locally
  --network MODE     none (default) or bridge
  --cpu N            CPUs, fractions allowed (default 1)
  --mem SIZE         memory limit, e.g. 512m, 4g (default 1g)
  --pids N           process/thread limit (default 256)
  --disk SIZE        /workspace is a tmpfs of SIZE: writing past it fails with
                     ENOSPC (not with --workspace; the tmpfs counts against
                     --mem)
  --runtime R        OCI runtime, e.g. runsc (see `doctor` for what is there)
  --project ID       sagewai.project_id label
  --run ID           sagewai.run_id label
  --env K=V          a variable for the container and its tools (repeatable;
                     --env K copies K from here); values are passed by name,
                     never in argv; the runner is started with --pass-env K
  --workspace DIR    mount this host directory at /workspace (default: a
                     fresh directory in the sandbox's state directory)
  --start-timeout S  how long the runner may take to serve (default 30)
  --docker PATH      the docker CLI (default: docker in PATH)
)";

namespace {

constexpr size_t kMaxSocketPath = 107;
constexpr const char* kReservedEnv[] = {"SESSION_TOKEN", "SESSION_ID", "CONTROL_PLANE_URL"};

bool IsEnvName(absl::string_view name) {
  if (name.empty() || absl::ascii_isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name) {
    if (c != '_' && !absl::ascii_isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

void RemoveTree(const std::string& path, std::vector<std::string>* said) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec && said != nullptr) {
    said->push_back(
        absl::StrCat("warning: could not remove ", path, ": ", ec.message(),
                     geteuid() != 0 ? " (files the agent user made: remove them as root)" : ""));
  }
}

// Undoes a half-made start.
void Abandon(const Docker& docker, const std::string& container, const std::string& dir) {
  if (!container.empty()) docker.ForceRemove(container);
  std::vector<std::string> ignored;
  RemoveTree(dir, &ignored);
}

}  // namespace

std::vector<FlagSpec> StartFlagSpecs() {
  return {{"image", true}, {"network", true}, {"cpu", true},       {"mem", true},
          {"pids", true},  {"disk", true},    {"runtime", true},   {"project", true},
          {"run", true},   {"env", true},     {"workspace", true}, {"start-timeout", true},
          {"docker", true}};
}

absl::StatusOr<int64_t> ParseSize(absl::string_view text) {
  const std::string original(text);
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", original, "\" is not a size: use a number with k, m, g or t, e.g. 512m or 10g"));
  };
  std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (absl::EndsWith(s, "ib")) {
    s.resize(s.size() - 2);
  } else if (s.size() > 1 && s.back() == 'b' && !absl::ascii_isdigit(s[s.size() - 2])) {
    s.pop_back();
  } else if (!s.empty() && s.back() == 'b') {
    s.pop_back();
  }
  if (s.empty()) return bad();
  double scale = 1;
  switch (s.back()) {
    case 'k':
      scale = 1024.0;
      break;
    case 'm':
      scale = 1024.0 * 1024;
      break;
    case 'g':
      scale = 1024.0 * 1024 * 1024;
      break;
    case 't':
      scale = 1024.0 * 1024 * 1024 * 1024;
      break;
    default:
      break;
  }
  if (scale != 1) s.pop_back();
  double n = 0;
  if (s.empty() || !absl::ascii_isdigit(static_cast<unsigned char>(s[0])) ||
      !absl::SimpleAtod(s, &n) || !std::isfinite(n) || n <= 0) {
    return bad();
  }
  const double bytes = std::floor(n * scale);
  if (bytes < 1 || bytes > 9e18) return bad();
  return static_cast<int64_t>(bytes);
}

std::string FormatSize(int64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return absl::StrCat(bytes, " bytes");
  if (v == std::floor(v)) return absl::StrFormat("%.0f %s", v, units[u]);
  return absl::StrFormat("%.1f %s", v, units[u]);
}

absl::StatusOr<StartOptions> StartOptionsFromFlags(const ParsedArgs& parsed) {
  StartOptions o;
  o.image = parsed.Last("image").value_or(absl::StrCat("sandbox-base:", SAGEWAI_VERSION));
  if (o.image.empty() || o.image[0] == '-') {
    return absl::InvalidArgumentError(absl::StrCat("--image \"", o.image, "\" is not an image"));
  }
  o.network = parsed.Last("network").value_or("none");
  if (o.network != "none" && o.network != "bridge") {
    return absl::InvalidArgumentError(
        absl::StrCat("--network ", o.network, ": use none (the default) or bridge"));
  }
  if (std::optional<std::string> cpu = parsed.Last("cpu")) {
    double n = 0;
    if (!absl::SimpleAtod(*cpu, &n) || !(n > 0) || n > 1024) {
      return absl::InvalidArgumentError(
          absl::StrCat("--cpu ", *cpu, ": expected a number of CPUs > 0"));
    }
    o.cpus = *cpu;
  }
  if (std::optional<std::string> mem = parsed.Last("mem")) {
    absl::StatusOr<int64_t> bytes = ParseSize(*mem);
    if (!bytes.ok())
      return absl::InvalidArgumentError(absl::StrCat("--mem: ", bytes.status().message()));
    if (*bytes < 16 * 1024 * 1024) {
      return absl::InvalidArgumentError(absl::StrCat("--mem ", *mem, ": at least 16m"));
    }
    o.memory_bytes = *bytes;
  }
  if (std::optional<std::string> pids = parsed.Last("pids")) {
    if (!absl::SimpleAtoi(*pids, &o.pids) || o.pids < 8) {
      return absl::InvalidArgumentError(absl::StrCat("--pids ", *pids, ": expected a number >= 8"));
    }
  }
  o.workspace = parsed.Last("workspace").value_or("");
  if (std::optional<std::string> disk = parsed.Last("disk")) {
    absl::StatusOr<int64_t> bytes = ParseSize(*disk);
    if (!bytes.ok())
      return absl::InvalidArgumentError(absl::StrCat("--disk: ", bytes.status().message()));
    if (!o.workspace.empty()) {
      return absl::InvalidArgumentError(
          "--disk cannot be enforced on --workspace DIR: a bind-mounted host directory has no "
          "size limit of its own (and under the read-only root the engine's --storage-opt size= "
          "limits nothing a tool can write). Drop --workspace to get a tmpfs of that size at "
          "/workspace, or drop --disk");
    }
    o.disk_bytes = *bytes;
  }
  if (!o.workspace.empty()) {
    std::error_code ec;
    std::filesystem::path abs = std::filesystem::absolute(o.workspace, ec);
    struct stat st {};
    if (ec || ::stat(abs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--workspace ", o.workspace, ": not an existing directory"));
    }
    o.workspace = abs.lexically_normal().string();
  }
  o.runtime = parsed.Last("runtime").value_or("");
  if (!o.runtime.empty() && o.runtime[0] == '-') {
    return absl::InvalidArgumentError(
        absl::StrCat("--runtime \"", o.runtime, "\" is not a runtime"));
  }
  o.project_id = parsed.Last("project").value_or("");
  o.run_id = parsed.Last("run").value_or("");
  for (const std::string& entry : parsed.All("env")) {
    size_t eq = entry.find('=');
    std::string name = entry.substr(0, eq);
    if (!IsEnvName(name)) {
      return absl::InvalidArgumentError(absl::StrCat("--env ", entry, ": expected NAME=VALUE"));
    }
    for (const char* reserved : kReservedEnv) {
      if (name == reserved) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--env ", name, ": set by start itself (a fresh token per sandbox); leave it out"));
      }
    }
    std::string value;
    if (eq == std::string::npos) {
      const char* here = getenv(name.c_str());
      if (here == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("--env ", name, ": not set here (use --env ", name, "=VALUE)"));
      }
      value = here;
    } else {
      value = entry.substr(eq + 1);
    }
    o.env.emplace_back(name, value);
  }
  if (std::optional<std::string> t = parsed.Last("start-timeout")) {
    double seconds = 0;
    if (!absl::SimpleAtod(*t, &seconds) || !(seconds > 0) || seconds > 3600) {
      return absl::InvalidArgumentError(
          absl::StrCat("--start-timeout ", *t, ": expected seconds (0 < s <= 3600)"));
    }
    o.start_timeout = absl::Milliseconds(static_cast<int64_t>(seconds * 1000));
  }
  o.docker = parsed.Last("docker").value_or("docker");
  return o;
}

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
  absl::Status prepared = PrepareAgentDir(paths.socket_dir);
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
