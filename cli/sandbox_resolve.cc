#include "cli/sandbox_resolve.h"

#include <sys/stat.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
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

absl::StatusOr<std::optional<std::string>> ExtractSandboxFlag(
    std::vector<std::string>* args, bool stop_at_positional,
    const std::vector<std::string>& value_flags) {
  std::optional<std::string> id;
  std::vector<std::string> out;
  size_t i = 0;
  auto take = [&](std::string value) -> absl::Status {
    if (id) return absl::InvalidArgumentError("--sandbox given twice");
    if (value.empty()) return absl::InvalidArgumentError("--sandbox needs a sandbox id");
    id = std::move(value);
    return absl::OkStatus();
  };
  for (; i < args->size(); ++i) {
    const std::string& a = (*args)[i];
    if (a == "--") break;
    if (a == "--sandbox") {
      if (i + 1 >= args->size()) return absl::InvalidArgumentError("--sandbox needs a sandbox id");
      if (absl::Status s = take((*args)[++i]); !s.ok()) return s;
      continue;
    }
    if (absl::StartsWith(a, "--sandbox=")) {
      if (absl::Status s = take(a.substr(10)); !s.ok()) return s;
      continue;
    }
    if (stop_at_positional) {
      if (a.empty() || a[0] != '-') break;
      std::string name = a.substr(a.find_first_not_of('-'));
      if (name.find('=') == std::string::npos &&
          std::find(value_flags.begin(), value_flags.end(), name) != value_flags.end() &&
          i + 1 < args->size()) {
        out.push_back(a);
        out.push_back((*args)[++i]);
        continue;
      }
    }
    out.push_back(a);
  }
  out.insert(out.end(), args->begin() + static_cast<std::ptrdiff_t>(i), args->end());
  *args = std::move(out);
  return id;
}

}  // namespace sagewai::cli
