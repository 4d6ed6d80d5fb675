// The container labels a sandbox carries. The sagewai.* names and meanings
// are the existing worker's, so that its `list` and `reap` see sandboxes
// started here and ours see its; sagewai.state_dir and sagewai.managed_by
// are ours (where `start` keeps the socket and token, and who started it).
#ifndef SAGEWAI_CLI_SANDBOX_LABELS_H_
#define SAGEWAI_CLI_SANDBOX_LABELS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace sagewai::cli {

inline constexpr char kLabelSandboxId[] = "sagewai.sandbox_id";
inline constexpr char kLabelRunId[] = "sagewai.run_id";
inline constexpr char kLabelProjectId[] = "sagewai.project_id";
inline constexpr char kLabelImage[] = "sagewai.image";
// per_tool, per_run or per_worker (the worker's sandbox modes).
inline constexpr char kLabelLifetime[] = "sagewai.lifetime";
// RFC 3339, UTC, seconds ("2025-01-31T12:00:00Z").
inline constexpr char kLabelStartedAt[] = "sagewai.started_at";
inline constexpr char kLabelStateDir[] = "sagewai.state_dir";
inline constexpr char kLabelManagedBy[] = "sagewai.managed_by";
inline constexpr char kManagedByUs[] = "sagewai-sandbox";

struct SandboxLabelValues {
  std::string sandbox_id;
  std::string run_id;
  std::string project_id;
  std::string image;
  std::string lifetime;
  absl::Time started_at;
  std::string state_dir;
};

// "key=value" strings for `docker run --label`.
std::vector<std::string> SandboxLabels(const SandboxLabelValues& values);

std::string FormatStartedAt(absl::Time t);
// RFC 3339 (with or without fractions, Z or an offset) or Unix seconds, as
// other writers of the label might use; nullopt otherwise.
std::optional<absl::Time> ParseStartedAt(absl::string_view text);

// One sandbox container as `docker ps` shows it.
struct SandboxListing {
  std::string container_id;
  std::string name;
  std::string state;  // running, exited, created, ...
  std::string sandbox_id;
  std::string run_id;
  std::string project_id;
  std::string image;
  std::string lifetime;
  std::string state_dir;
  std::string managed_by;
  // From sagewai.started_at, else the container's creation time.
  std::optional<absl::Time> started_at;
};

// The arguments after "docker" that list every sandbox container,
// running or not, in the form ParseListing reads.
std::vector<std::string> ListArgs();
std::vector<SandboxListing> ParseListing(absl::string_view output);

// "45s", "12m", "3h5m", "2d4h".
std::string FormatAge(absl::Duration age);
// "90s", "10m", "2h", "1d", "1h30m" (also bare seconds); InvalidArgument
// otherwise.
absl::StatusOr<absl::Duration> ParseAge(absl::string_view text);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_SANDBOX_LABELS_H_
