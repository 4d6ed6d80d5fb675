// PEP 440 versions and specifier sets (cli/version_spec), what
// `sagewai-sandbox validate` checks a runner's --version with. Input: the
// specifier set on the first line, two versions on the next two. A parsed
// version's normalized form parses to an equal version and normalizes to
// itself; the order is reflexive and antisymmetric; the runner's own range
// holds no pre-release.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "cli/version_spec.h"
#include "tests/fuzz/fuzz_check.h"

namespace cli = ::sagewai::cli;

namespace {

int Sign(int v) { return (v > 0) - (v < 0); }

void CheckVersion(const cli::Pep440Version& v) {
  const std::string normal = v.ToString();
  auto again = cli::ParsePep440Version(normal);
  FUZZ_CHECK(again.ok(), "normalized form does not parse: %s", normal.c_str());
  FUZZ_CHECK(cli::ComparePep440(v, *again) == 0, "normalized form compares unequal: %s",
             normal.c_str());
  FUZZ_CHECK(again->ToString() == normal, "normalization not stable: %s", normal.c_str());
  FUZZ_CHECK(cli::ComparePep440(v, v) == 0, "not reflexive: %s", normal.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> lines = absl::StrSplit(input, absl::MaxSplits('\n', 2));
  lines.resize(3);

  static const cli::VersionSpec runner_range =
      *cli::VersionSpec::Parse(cli::kToolRunnerVersionSpec);
  auto spec = cli::VersionSpec::Parse(lines[0]);
  auto a = cli::ParsePep440Version(lines[1]);
  auto b = cli::ParsePep440Version(lines[2]);
  if (a.ok()) {
    CheckVersion(*a);
    if (spec.ok()) (void)spec->Contains(*a);
    if (runner_range.Contains(*a)) {
      FUZZ_CHECK(!a->IsPrerelease(), "the runner range holds %s", a->ToString().c_str());
    }
  }
  if (b.ok()) CheckVersion(*b);
  if (a.ok() && b.ok()) {
    FUZZ_CHECK(Sign(cli::ComparePep440(*a, *b)) == -Sign(cli::ComparePep440(*b, *a)),
               "order not antisymmetric: %s vs %s", a->ToString().c_str(), b->ToString().c_str());
  }
  return 0;
}
