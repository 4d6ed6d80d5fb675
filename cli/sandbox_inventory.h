// What sandboxes there are: the engine's containers labelled
// sagewai.sandbox_id (ours and the worker's), who holds them, and the `list`
// and `reap` commands on top (declared in sandbox_commands.h).
#ifndef SAGEWAI_CLI_SANDBOX_INVENTORY_H_
#define SAGEWAI_CLI_SANDBOX_INVENTORY_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/docker.h"
#include "cli/sandbox_labels.h"

namespace sagewai::cli {

// Every sandbox container, running or not; only those of `project` when set.
absl::StatusOr<std::vector<SandboxListing>> ListSandboxes(
    const Docker& docker, const std::optional<std::string>& project);

// The pid of the live `run` holding a listed sandbox (-1 when unreadable).
std::optional<pid_t> HolderOf(const SandboxListing& sandbox);

// Rows of left-aligned columns two spaces apart, on stdout.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_SANDBOX_INVENTORY_H_
