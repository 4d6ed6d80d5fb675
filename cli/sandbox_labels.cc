#include "cli/sandbox_labels.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace sagewai::cli {
namespace {

// Field order of ListArgs' --format, tab-separated.
enum Field {
  kId,
  kName,
  kState,
  kCreatedAt,
  kSandboxIdField,
  kRunIdField,
  kProjectIdField,
  kImageField,
  kLifetimeField,
  kStartedAtField,
  kStateDirField,
  kManagedByField,
  kFieldCount
};

std::string LabelTemplate(const char* name) { return absl::StrCat("{{.Label \"", name, "\"}}"); }

// `docker ps`'s CreatedAt: "2025-01-31 12:00:00 +0000 UTC".
std::optional<absl::Time> ParseCreatedAt(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ' ', absl::SkipEmpty());
  if (parts.size() < 3) return std::nullopt;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%S %z", absl::StrCat(parts[0], " ", parts[1], " ", parts[2]),
                       &t, &err)) {
    return std::nullopt;
  }
  return t;
}

}  // namespace

std::vector<std::string> SandboxLabels(const SandboxLabelValues& v) {
  std::vector<std::string> labels = {
      absl::StrCat(kLabelSandboxId, "=", v.sandbox_id),
      absl::StrCat(kLabelRunId, "=", v.run_id),
      absl::StrCat(kLabelProjectId, "=", v.project_id),
      absl::StrCat(kLabelImage, "=", v.image),
      absl::StrCat(kLabelLifetime, "=", v.lifetime),
      absl::StrCat(kLabelStartedAt, "=", FormatStartedAt(v.started_at)),
      absl::StrCat(kLabelManagedBy, "=", kManagedByUs),
  };
  if (!v.state_dir.empty()) labels.push_back(absl::StrCat(kLabelStateDir, "=", v.state_dir));
  return labels;
}

std::string FormatStartedAt(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

std::optional<absl::Time> ParseStartedAt(absl::string_view text) {
  text = absl::StripAsciiWhitespace(text);
  if (text.empty()) return std::nullopt;
  double seconds = 0;
  if (absl::SimpleAtod(text, &seconds) &&
      absl::ascii_isdigit(static_cast<unsigned char>(text[0]))) {
    return absl::FromUnixMicros(static_cast<int64_t>(seconds * 1e6));
  }
  absl::Time t;
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &err)) return t;
  return std::nullopt;
}

std::vector<std::string> ListArgs() {
  std::string format =
      absl::StrCat("{{.ID}}\t{{.Names}}\t{{.State}}\t{{.CreatedAt}}\t",
                   LabelTemplate(kLabelSandboxId), "\t", LabelTemplate(kLabelRunId), "\t",
                   LabelTemplate(kLabelProjectId), "\t", LabelTemplate(kLabelImage), "\t",
                   LabelTemplate(kLabelLifetime), "\t", LabelTemplate(kLabelStartedAt), "\t",
                   LabelTemplate(kLabelStateDir), "\t", LabelTemplate(kLabelManagedBy));
  return {"ps",       "--all", "--no-trunc", "--filter", absl::StrCat("label=", kLabelSandboxId),
          "--format", format};
}

std::vector<SandboxListing> ParseListing(absl::string_view output) {
  std::vector<SandboxListing> out;
  for (absl::string_view line : absl::StrSplit(output, '\n', absl::SkipWhitespace())) {
    std::vector<std::string> f = absl::StrSplit(line, '\t');
    if (f.size() < kFieldCount) continue;
    SandboxListing s;
    s.container_id = f[kId];
    s.name = f[kName];
    s.state = f[kState];
    s.sandbox_id = f[kSandboxIdField];
    s.run_id = f[kRunIdField];
    s.project_id = f[kProjectIdField];
    s.image = f[kImageField];
    s.lifetime = f[kLifetimeField];
    s.state_dir = f[kStateDirField];
    s.managed_by = f[kManagedByField];
    s.started_at = ParseStartedAt(f[kStartedAtField]);
    if (!s.started_at) s.started_at = ParseCreatedAt(f[kCreatedAt]);
    out.push_back(std::move(s));
  }
  return out;
}

std::string FormatAge(absl::Duration age) {
  int64_t s = absl::ToInt64Seconds(age);
  if (s < 0) s = 0;
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return absl::StrCat(s / 60, "m");
  if (s < 86400) {
    int64_t m = (s % 3600) / 60;
    return m == 0 ? absl::StrCat(s / 3600, "h") : absl::StrCat(s / 3600, "h", m, "m");
  }
  int64_t h = (s % 86400) / 3600;
  return h == 0 ? absl::StrCat(s / 86400, "d") : absl::StrCat(s / 86400, "d", h, "h");
}

absl::StatusOr<absl::Duration> ParseAge(absl::string_view text) {
  const absl::string_view original = text;
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", original,
                     "\" is not an age: use a number and a unit s, m, h or d, e.g. 10m or 1h30m"));
  };
  text = absl::StripAsciiWhitespace(text);
  if (text.empty()) return bad();
  absl::Duration total;
  while (!text.empty()) {
    size_t digits = 0;
    while (digits < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[digits]))) {
      ++digits;
    }
    int64_t n = 0;
    if (digits == 0 || digits > 9 || !absl::SimpleAtoi(text.substr(0, digits), &n)) return bad();
    text.remove_prefix(digits);
    char unit = text.empty() ? 's' : text[0];
    if (!text.empty()) text.remove_prefix(1);
    switch (unit) {
      case 's':
        total += absl::Seconds(n);
        break;
      case 'm':
        total += absl::Minutes(n);
        break;
      case 'h':
        total += absl::Hours(n);
        break;
      case 'd':
        total += absl::Hours(24 * n);
        break;
      default:
        return bad();
    }
  }
  return total;
}

}  // namespace sagewai::cli
