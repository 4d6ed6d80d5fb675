#include "cli/doctor_runtimes.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/json_reader.h"

namespace sagewai::cli {
namespace {

bool HasArg(const RuntimeEntry& runtime, absl::string_view prefix) {
  return std::any_of(runtime.args.begin(), runtime.args.end(),
                     [&](const std::string& a) { return absl::StartsWith(a, prefix); });
}

// "runc" or "/usr/bin/runsc --platform=ptrace …": what the engine runs.
std::string Command(const RuntimeEntry& runtime) {
  std::vector<std::string> words = {runtime.path.empty() ? runtime.name : runtime.path};
  words.insert(words.end(), runtime.args.begin(), runtime.args.end());
  return absl::StrJoin(words, " ");
}

DoctorLine Line(DoctorLine::Kind kind, std::string text, std::string remedy = "") {
  return DoctorLine{kind, std::move(text), std::move(remedy)};
}

std::string Why(const RuntimeProbe& probe) {
  if (probe.timed_out) return "no answer within the probe's time";
  return absl::StrCat("exit ", probe.exit_code, probe.error.empty() ? "" : ": ", probe.error);
}

}  // namespace

absl::StatusOr<std::vector<RuntimeEntry>> ParseRuntimes(const std::string& text) {
  absl::StatusOr<json::Value> parsed = json::Parse(text);
  if (!parsed.ok()) return parsed.status();
  const json::Object* object = parsed->AsObject();
  if (object == nullptr) return absl::InvalidArgumentError("the runtimes are not a JSON object");
  std::vector<RuntimeEntry> out;
  for (const auto& [name, config] : *object) {
    if (!config.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat("runtime ", name, " is not a JSON object"));
    }
    RuntimeEntry entry;
    entry.name = name;
    if (const json::Value* path = config.Find("path")) {
      entry.path = std::string(path->AsString().value_or(""));
    }
    if (const json::Value* args = config.Find("runtimeArgs"); args != nullptr && args->is_array()) {
      for (const json::Value& arg : *args->AsArray()) {
        if (std::optional<absl::string_view> s = arg.AsString()) entry.args.emplace_back(*s);
      }
    }
    out.push_back(std::move(entry));
  }
  std::sort(out.begin(), out.end(),
            [](const RuntimeEntry& a, const RuntimeEntry& b) { return a.name < b.name; });
  return out;
}

bool IsGVisor(const RuntimeEntry& runtime) {
  const std::string& program = runtime.path.empty() ? runtime.name : runtime.path;
  return program == "runsc" || absl::EndsWith(program, "/runsc");
}

std::vector<DoctorLine> RuntimeLines(const RuntimeEntry& runtime, bool required,
                                     const std::optional<RuntimeProbe>& probe,
                                     const std::optional<RuntimeProbe>& stat_probe) {
  using Kind = DoctorLine::Kind;
  std::vector<DoctorLine> lines;
  const bool gvisor = IsGVisor(runtime);
  const std::string what = absl::StrCat("runtime ", runtime.name, gvisor ? " (gVisor)" : "", " [",
                                        Command(runtime), "]");
  if (!probe) {
    lines.push_back(Line(Kind::kNote, absl::StrCat(what, ": registered, not tried (no image)")));
  } else if (probe->exit_code == 0 && !probe->timed_out) {
    lines.push_back(
        Line(Kind::kPass, absl::StrCat(what, ": works (docker run --rm true in ",
                                       absl::ToInt64Milliseconds(probe->took), " ms)")));
  } else {
    std::string text = absl::StrCat(what, ": docker run --rm true failed (", Why(*probe), ")");
    if (required) {
      lines.push_back(Line(Kind::kFail, std::move(text),
                           "fix the runtime (its message above, dockerd's log), or choose "
                           "another with --runtime"));
    } else {
      lines.push_back(Line(
          Kind::kNote, absl::StrCat(text, "; start uses it only with --runtime ", runtime.name)));
    }
  }
  if (!gvisor) return lines;
  if (!HasArg(runtime, "--host-uds")) {
    lines.push_back(Line(required ? Kind::kFail : Kind::kNote,
                         absl::StrCat("runtime ", runtime.name,
                                      " has no --host-uds: the runner's unix socket stays inside "
                                      "gVisor and the host cannot connect to it"),
                         absl::StrCat("add \"--host-uds=create\" to ", runtime.name,
                                      "'s runtimeArgs in /etc/docker/daemon.json and reload "
                                      "dockerd (SAGEWAI_RUNTIMES=runc,runsc "
                                      "scripts/ensure-docker.sh does both)")));
  }
  if (HasArg(runtime, "--network=none")) {
    lines.push_back(Line(Kind::kNote, absl::StrCat("runtime ", runtime.name,
                                                   " runs with --network=none: under it, "
                                                   "--network bridge has loopback only")));
  }
  if (stat_probe && stat_probe->exit_code != 0 &&
      absl::StrContains(stat_probe->error, "Invalid argument")) {
    lines.push_back(
        Line(Kind::kNote, absl::StrCat("runtime ", runtime.name,
                                       ": `stat /` fails with EINVAL — this gVisor release refuses "
                                       "AT_NO_AUTOMOUNT, so coreutils' stat, ls -l and ls -d fail "
                                       "in tools (README, Runtimes)")));
  }
  return lines;
}

}  // namespace sagewai::cli
