#include "cli/sandbox_resolve.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "cli/option_extract.h"
#include "cli/sandbox_labels.h"
#include "cli/sandbox_state.h"
#include "cli/subprocess.h"

namespace sagewai::cli {

absl::StatusOr<SandboxEndpoint> ResolveSandbox(const std::string& id, const std::string& docker) {
  if (!IsValidSandboxId(id)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", id, "\" is not a sandbox id (see `sagewai-sandbox list`)"));
  }
  const std::string root = SandboxStateRoot();
  std::string state_dir = PathsFor(root, id).dir;
  std::string container;
  struct stat st {};
  if (::stat(state_dir.c_str(), &st) != 0) {
    // Not ours, or another user's: the container's labels say where.
    RunOptions options;
    options.timeout = absl::Seconds(30);
    absl::StatusOr<ProcessResult> ps =
        RunProcess({docker, "ps", "--all", "--no-trunc", "--filter",
                    absl::StrCat("label=", kLabelSandboxId, "=", id), "--format",
                    absl::StrCat("{{.ID}}\t{{.Label \"", kLabelStateDir, "\"}}")},
                   options);
    const std::string nowhere = absl::StrCat("no sandbox ", id, " (nothing in ", root, "; ");
    if (!ps.ok() || ps->exit_code != 0) {
      return absl::NotFoundError(absl::StrCat(nowhere, "the Docker engine could not be asked: ",
                                              ps.ok()
                                                  ? absl::StrCat("docker ps exited ", ps->exit_code)
                                                  : std::string(ps.status().message()),
                                              ") — see `sagewai-sandbox list`"));
    }
    std::vector<std::string> fields =
        absl::StrSplit(absl::StripAsciiWhitespace(ps->out), absl::MaxSplits('\t', 1));
    if (fields.empty() || fields[0].empty()) {
      return absl::NotFoundError(absl::StrCat(nowhere, "no container labelled ", kLabelSandboxId,
                                              "=", id, ") — see `sagewai-sandbox list`"));
    }
    container = fields[0];
    if (fields.size() < 2 || fields[1].empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "sandbox ", id, " (container ", container.substr(0, 12),
          ") has no runner socket on this host: it was started without one, as the worker "
          "does — use docker exec -i ",
          container.substr(0, 12), " sagewai-tool-runner"));
    }
    state_dir = fields[1];
  }
  const std::string record_file = state_dir + "/sandbox";
  absl::StatusOr<SandboxRecord> record = ReadRecord(record_file);
  if (!record.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read the state of sandbox ", id, ": ", record.status().message(),
                     absl::IsPermissionDenied(record.status())
                         ? " — it belongs to another user: run as that user (or root)"
                         : " — it may be half-removed: `sagewai-sandbox stop " + id + "`"));
  }
  SandboxEndpoint endpoint;
  endpoint.id = id;
  endpoint.address = record->Get("addr");
  endpoint.token_file = record->Get("token_file");
  endpoint.container =
      record->Get("container_id").empty() ? container : record->Get("container_id");
  if (endpoint.address.empty() || endpoint.token_file.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(record_file, " names no addr or token_file — `sagewai-sandbox stop ", id,
                     "` and start a new one"));
  }
  return endpoint;
}

namespace {

// The parent pid field of a /proc/N/stat line; the command name before it
// is in parentheses and may itself hold spaces and parentheses.
std::optional<pid_t> ParentFromStat(const std::string& stat) {
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(stat.substr(close + 1));
  std::string state;
  pid_t ppid = 0;
  if (!(rest >> state >> ppid)) return std::nullopt;
  return ppid;
}

std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  if (!in.is_open()) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// argv[0] of process `pid` ("" when it cannot be read).
std::string ProgramName(pid_t pid, const std::string& proc) {
  std::optional<std::string> cmdline = ReadSmallFile(absl::StrCat(proc, "/", pid, "/cmdline"));
  return cmdline ? cmdline->substr(0, cmdline->find('\0')) : "";
}

}  // namespace

std::vector<pid_t> ChildrenOf(pid_t pid, const std::string& proc) {
  std::vector<pid_t> out;
  if (std::optional<std::string> listed =
          ReadSmallFile(absl::StrCat(proc, "/", pid, "/task/", pid, "/children"))) {
    for (absl::string_view word : absl::StrSplit(*listed, ' ', absl::SkipWhitespace())) {
      pid_t child = 0;
      if (absl::SimpleAtoi(word, &child)) out.push_back(child);
    }
    if (!out.empty()) return out;
  }
  // The scan also sees children that other threads of `pid` started.
  DIR* dir = ::opendir(proc.c_str());
  if (dir == nullptr) return out;
  while (const dirent* entry = ::readdir(dir)) {
    pid_t candidate = 0;
    if (!absl::SimpleAtoi(entry->d_name, &candidate)) continue;
    std::optional<std::string> stat = ReadSmallFile(absl::StrCat(proc, "/", candidate, "/stat"));
    if (!stat) continue;
    if (std::optional<pid_t> parent = ParentFromStat(*stat); parent && *parent == pid) {
      out.push_back(candidate);
    }
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::optional<pid_t>> GVisorSocketHolder(pid_t pid1, const std::string& container,
                                                        const std::string& proc) {
  if (ProgramName(pid1, proc) != "runsc-sandbox") return std::nullopt;
  const std::string name = container.substr(0, 12);
  std::optional<std::string> stat = ReadSmallFile(absl::StrCat(proc, "/", pid1, "/stat"));
  std::optional<pid_t> shim = stat ? ParentFromStat(*stat) : std::nullopt;
  std::vector<pid_t> gofers;
  if (shim && *shim > 1) {
    for (pid_t sibling : ChildrenOf(*shim, proc)) {
      if (ProgramName(sibling, proc) == "runsc-gofer") gofers.push_back(sibling);
    }
  }
  if (gofers.size() == 1) return gofers[0];
  return absl::FailedPreconditionError(absl::StrCat(
      "container ", name, " runs under gVisor (host pid ", pid1, " is its runsc-sandbox), and ",
      gofers.empty() ? std::string("no runsc-gofer beside it holds")
                     : absl::StrCat(gofers.size(), " runsc-gofer processes beside it (pids ",
                                    absl::StrJoin(gofers, ", "), ") could hold"),
      " the runner's socket; nothing was sent — restart the sandbox, or pass --peer-pid N"));
}

absl::StatusOr<pid_t> RunnerHostPid(const std::string& container, const std::string& docker) {
  const std::string name = container.substr(0, 12);
  RunOptions options;
  options.timeout = absl::Seconds(30);
  absl::StatusOr<ProcessResult> inspect =
      RunProcess({docker, "inspect", "--format", "{{.State.Pid}}", container}, options);
  if (!inspect.ok() || inspect->exit_code != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot ask the Docker engine for container ", name, "'s PID 1 (",
                     inspect.ok() ? absl::StrCat("docker inspect exited ", inspect->exit_code, ": ",
                                                 absl::StripAsciiWhitespace(inspect->err))
                                  : std::string(inspect.status().message()),
                     ") — is the sandbox still there? (`sagewai-sandbox list`)"));
  }
  pid_t pid1 = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(inspect->out), &pid1) || pid1 <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", name, " is not running — start a new sandbox"));
  }
  absl::StatusOr<std::optional<pid_t>> gofer = GVisorSocketHolder(pid1, container);
  if (!gofer.ok()) return gofer.status();
  if (gofer->has_value()) return **gofer;
  const std::vector<pid_t> children = ChildrenOf(pid1);
  if (children.size() == 1) return children[0];
  if (children.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("container ", name, "'s PID 1 (host pid ", pid1,
                     ") has no child: its runner is not running — see `docker logs ", name, "`"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "container ", name, "'s PID 1 (host pid ", pid1, ") has ", children.size(),
      " children (pids ", absl::StrJoin(children, ", "),
      "), so the runner cannot be told apart from them; nothing was sent — restart the "
      "sandbox, or pass --peer-pid N for the runner's host pid"));
}

absl::StatusOr<std::optional<std::string>> ExtractSandboxFlag(
    std::vector<std::string>* args, bool stop_at_positional,
    const std::vector<std::string>& value_flags) {
  std::optional<std::string> id;
  auto set = [&](std::string value) -> absl::Status {
    if (id) return absl::InvalidArgumentError("--sandbox given twice");
    if (value.empty()) return absl::InvalidArgumentError("--sandbox needs a sandbox id");
    id = std::move(value);
    return absl::OkStatus();
  };
  absl::Status status =
      ExtractOptions(args, stop_at_positional, value_flags,
                     [&](const std::vector<std::string>& args, size_t* i) -> absl::StatusOr<bool> {
                       const std::string& a = args[*i];
                       if (a == "--sandbox") {
                         if (*i + 1 >= args.size()) {
                           return absl::InvalidArgumentError("--sandbox needs a sandbox id");
                         }
                         if (absl::Status s = set(args[++*i]); !s.ok()) return s;
                         return true;
                       }
                       if (absl::StartsWith(a, "--sandbox=")) {
                         if (absl::Status s = set(a.substr(10)); !s.ok()) return s;
                         return true;
                       }
                       return false;
                     });
  if (!status.ok()) return status;
  return id;
}

}  // namespace sagewai::cli
