// PEP 440 versions and specifier sets, enough to check a tool-runner's
// `--version` against the SDK's TOOL_RUNNER_VERSION_SPEC (">=0.1,<0.2") the
// way Python's `packaging` would.
#ifndef SAGEWAI_CLI_VERSION_SPEC_H_
#define SAGEWAI_CLI_VERSION_SPEC_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sagewai::cli {

// The range of runner versions this CLI speaks to.
inline constexpr char kToolRunnerVersionSpec[] = ">=0.1,<0.2";

struct Pep440Version {
  enum class PreKind { kAlpha = 0, kBeta = 1, kRc = 2 };
  struct Pre {
    PreKind kind;
    int64_t number;
  };

  int64_t epoch = 0;
  std::vector<int64_t> release;
  std::optional<Pre> pre;
  std::optional<int64_t> post;
  std::optional<int64_t> dev;
  // Normalized local label (after '+'), segments joined with '.'; empty if none.
  std::string local;

  bool IsPrerelease() const { return pre.has_value() || dev.has_value(); }
  bool IsPostrelease() const { return post.has_value(); }
  // The normalized form, e.g. "1.0rc1.post2.dev3+ubuntu.1".
  std::string ToString() const;
};

// Accepts the forms PEP 440 normalizes: "v1.0", "1.0-RC.1", "1.0.post-2",
// "1.0-1" (post), "1.0.DEV", surrounding whitespace.
absl::StatusOr<Pep440Version> ParsePep440Version(absl::string_view text);

// <0, 0, >0 like strcmp, by PEP 440 order (local labels included).
int ComparePep440(const Pep440Version& a, const Pep440Version& b);

// A comma-separated set of clauses (==, !=, <=, >=, <, >, ~=, and `==X.*` /
// `!=X.*` prefix matches), all of which must hold. As in `packaging`,
// pre-releases and dev releases are not accepted unless a clause names one
// (">=0.1rc1"), so ">=0.1,<0.2" rejects 0.1.0rc1 and 0.2.0.dev1.
class VersionSpec {
 public:
  static absl::StatusOr<VersionSpec> Parse(absl::string_view text);

  bool Contains(const Pep440Version& version) const;
  const std::string& text() const { return text_; }

 private:
  struct Clause {
    std::string op;
    Pep440Version version;
    bool prefix = false;  // "==1.2.*"
  };
  static bool ClauseHolds(const Clause& clause, const Pep440Version& version);

  std::string text_;
  std::vector<Clause> clauses_;
  bool allows_prereleases_ = false;
};

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_VERSION_SPEC_H_
