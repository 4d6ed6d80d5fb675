#include "cli/sandbox_inventory.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "cli/sandbox_commands.h"
#include "cli/sandbox_launch.h"
#include "cli/sandbox_start.h"
#include "cli/sandbox_state.h"
#include "common/json_writer.h"

namespace sagewai::cli {

const char kListHelp[] =
    R"(usage: sagewai-sandbox list [--project ID] [--json]

Lists the sandbox containers on this engine, running or not: those started
here and the worker's (every container labelled sagewai.sandbox_id). Columns:
SANDBOX, RUN, PROJECT, IMAGE, AGE, STATE (the container's, and "in use by run
PID" while a live `run` holds it).

  --project ID  only the sandboxes of project ID
  --json        one JSON array of objects: sandbox_id, container_id, run_id,
                project_id, image, lifetime, started_at, age_s, state,
                held_by_pid, managed_by, state_dir
)";

const char kReapHelp[] =
    R"(usage: sagewai-sandbox reap --older-than AGE [--project ID] [--dry-run]

Removes sandboxes started longer than AGE ago (10m, 2h, 1d, 1h30m): their
containers (SIGKILL after 1 s) and state directories, and state directories
whose container is gone. Skips sandboxes held by a live `run` (its lock
names its pid). Works on the worker's sandboxes too.

  --older-than AGE  required
  --project ID      only the sandboxes of project ID
  --dry-run         say what would be removed, remove nothing
)";

namespace {

int Usage(const char* command, absl::string_view message) {
  fprintf(stderr, "sagewai-sandbox %s: %s (see --help)\n", command, std::string(message).c_str());
  return kExitUsage;
}

std::string OrDash(const std::string& s) { return s.empty() ? "-" : s; }

}  // namespace

absl::StatusOr<std::vector<SandboxListing>> ListSandboxes(
    const Docker& docker, const std::optional<std::string>& project) {
  absl::StatusOr<ProcessResult> ps = docker.Run(ListArgs(), absl::Seconds(30));
  if (!ps.ok()) return ps.status();
  if (ps->exit_code != 0) {
    return absl::UnavailableError(absl::StrCat("docker ps failed: ", DockerErrorLine(ps->err)));
  }
  std::vector<SandboxListing> all = ParseListing(ps->out);
  if (project) {
    all.erase(std::remove_if(all.begin(), all.end(),
                             [&](const SandboxListing& s) { return s.project_id != *project; }),
              all.end());
  }
  return all;
}

// Held-by pid of a listed sandbox, when a live `run` holds it.
std::optional<pid_t> HolderOf(const SandboxListing& s) {
  if (s.state_dir.empty()) return std::nullopt;
  return LiveHolder(s.state_dir + "/lock");
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    printf("%s\n", line.c_str());
  }
}

int RunListCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> kSpecs = {
      {"json", false}, {"project", true}, {"docker", true}, {"help", false, 'h'}};
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, kSpecs, PositionalMode::kInterleaved);
  if (!parsed.ok()) return Usage("list", parsed.status().message());
  if (parsed->Has("help")) {
    fputs(kListHelp, stdout);
    return kExitOk;
  }
  if (!parsed->positionals.empty()) {
    return Usage("list", absl::StrCat("unexpected argument \"", parsed->positionals[0], "\""));
  }
  const Docker docker(parsed->Last("docker").value_or("docker"));
  absl::StatusOr<std::vector<SandboxListing>> sandboxes =
      ListSandboxes(docker, parsed->Last("project"));
  if (!sandboxes.ok()) {
    fprintf(stderr, "sagewai-sandbox list: %s — %s\n",
            std::string(sandboxes.status().message()).c_str(), EngineDownRemedy().c_str());
    return kExitUnavailable;
  }
  const absl::Time now = absl::Now();
  if (parsed->Has("json")) {
    std::vector<std::string> items;
    for (const SandboxListing& s : *sandboxes) {
      json::ObjectWriter w;
      w.String("sandbox_id", s.sandbox_id)
          .String("container_id", s.container_id)
          .String("run_id", s.run_id)
          .String("project_id", s.project_id)
          .String("image", s.image)
          .String("lifetime", s.lifetime);
      if (s.started_at) {
        w.String("started_at", FormatStartedAt(*s.started_at))
            .Int("age_s", absl::ToInt64Seconds(now - *s.started_at));
      } else {
        w.Null("started_at").Null("age_s");
      }
      w.String("state", s.state);
      if (std::optional<pid_t> holder = HolderOf(s)) {
        w.Int("held_by_pid", *holder);
      } else {
        w.Null("held_by_pid");
      }
      w.String("managed_by", s.managed_by).String("state_dir", s.state_dir);
      items.push_back(w.Finish());
    }
    printf("[%s]\n", absl::StrJoin(items, ",").c_str());
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"SANDBOX", "RUN", "PROJECT", "IMAGE", "AGE", "STATE"}};
  for (const SandboxListing& s : *sandboxes) {
    std::string state = s.state;
    if (std::optional<pid_t> holder = HolderOf(s)) {
      absl::StrAppend(&state, ", in use by run ", *holder > 0 ? absl::StrCat(*holder) : "?");
    }
    rows.push_back({s.sandbox_id, OrDash(s.run_id), OrDash(s.project_id), OrDash(s.image),
                    s.started_at ? FormatAge(now - *s.started_at) : "?", state});
  }
  PrintTable(rows);
  return kExitOk;
}

int RunReapCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> kSpecs = {{"older-than", true},
                                               {"dry-run", false},
                                               {"project", true},
                                               {"docker", true},
                                               {"help", false, 'h'}};
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, kSpecs, PositionalMode::kInterleaved);
  if (!parsed.ok()) return Usage("reap", parsed.status().message());
  if (parsed->Has("help")) {
    fputs(kReapHelp, stdout);
    return kExitOk;
  }
  if (!parsed->positionals.empty()) {
    return Usage("reap", absl::StrCat("unexpected argument \"", parsed->positionals[0], "\""));
  }
  std::optional<std::string> older = parsed->Last("older-than");
  if (!older) return Usage("reap", "--older-than AGE is required (e.g. --older-than 10m)");
  absl::StatusOr<absl::Duration> min_age = ParseAge(*older);
  if (!min_age.ok()) return Usage("reap", min_age.status().message());
  const bool dry_run = parsed->Has("dry-run");
  const std::string docker_binary = parsed->Last("docker").value_or("docker");
  const Docker docker(docker_binary);
  absl::StatusOr<std::vector<SandboxListing>> sandboxes =
      ListSandboxes(docker, parsed->Last("project"));
  if (!sandboxes.ok()) {
    fprintf(stderr, "sagewai-sandbox reap: %s — %s\n",
            std::string(sandboxes.status().message()).c_str(), EngineDownRemedy().c_str());
    return kExitUnavailable;
  }
  const absl::Time now = absl::Now();
  int rc = kExitOk;
  int reaped = 0;
  int kept = 0;
  std::vector<std::string> seen;
  for (const SandboxListing& s : *sandboxes) {
    seen.push_back(s.sandbox_id);
    if (!s.started_at || now - *s.started_at < *min_age) continue;
    const std::string age = FormatAge(now - *s.started_at);
    if (std::optional<pid_t> holder = HolderOf(s)) {
      printf("kept %s (age %s): in use by run, pid %d\n", s.sandbox_id.c_str(), age.c_str(),
             static_cast<int>(*holder));
      ++kept;
      continue;
    }
    if (dry_run) {
      printf("would reap %s (age %s, container %s, %s)\n", s.sandbox_id.c_str(), age.c_str(),
             s.container_id.substr(0, 12).c_str(), s.state.c_str());
      continue;
    }
    std::vector<std::string> said;
    absl::Status status = StopSandbox(docker_binary, s.sandbox_id, absl::Seconds(1), &said);
    if (!status.ok()) {
      fprintf(stderr, "sagewai-sandbox reap: %s: %s\n", s.sandbox_id.c_str(),
              std::string(status.message()).c_str());
      rc = kExitCheckFailed;
      continue;
    }
    printf("reaped %s (age %s, container %s)\n", s.sandbox_id.c_str(), age.c_str(),
           s.container_id.substr(0, 12).c_str());
    ++reaped;
  }
  // State left behind without a container (an engine restart, a killed start).
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(SandboxStateRoot(), ec)) {
    const std::string id = entry.path().filename().string();
    if (!entry.is_directory() || !IsValidSandboxId(id) ||
        std::find(seen.begin(), seen.end(), id) != seen.end()) {
      continue;
    }
    const SandboxPaths paths = PathsFor(SandboxStateRoot(), id);
    absl::StatusOr<SandboxRecord> record = ReadRecord(paths.record_file);
    std::optional<absl::Time> started =
        record.ok() ? ParseStartedAt(record->Get("started_at")) : std::nullopt;
    if (!started) {
      // A start still in progress has no record yet: judge by the directory.
      struct stat st {};
      if (::stat(paths.dir.c_str(), &st) != 0) continue;
      started = absl::FromTimeT(st.st_mtime);
    }
    if (now - *started < *min_age || LiveHolder(paths.lock_file)) continue;
    if (std::optional<std::string> project = parsed->Last("project");
        project && (!record.ok() || record->Get("project_id") != *project)) {
      continue;
    }
    if (dry_run) {
      printf("would remove the state of %s (no container)\n", id.c_str());
      continue;
    }
    std::filesystem::remove_all(paths.dir, ec);
    printf("removed the state of %s (no container)\n", id.c_str());
  }
  if (!dry_run) {
    fprintf(stderr, "reaped %d sandbox%s, kept %d in use\n", reaped, reaped == 1 ? "" : "es", kept);
  }
  return rc;
}

}  // namespace sagewai::cli
