// Command-line parsing for the subcommands: long options (`--name VALUE`,
// `--name=VALUE`, boolean `--name`), a few short aliases, `--` to end the
// options, positional arguments.
#ifndef SAGEWAI_CLI_FLAGS_H_
#define SAGEWAI_CLI_FLAGS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sagewai::cli {

struct FlagSpec {
  std::string name;  // without the leading "--"
  bool takes_value = false;
  char short_name = '\0';  // e.g. 'h' for -h; '\0' for none
};

struct ParsedArgs {
  // Every value given, in order, per flag name; a boolean flag maps to {""}
  // once per occurrence.
  std::map<std::string, std::vector<std::string>> flags;
  std::vector<std::string> positionals;
  // True when a literal "--" was seen.
  bool saw_double_dash = false;

  bool Has(const std::string& name) const { return flags.count(name) > 0; }
  // The last value given for `name`, if any.
  std::optional<std::string> Last(const std::string& name) const;
  std::vector<std::string> All(const std::string& name) const;
};

enum class PositionalMode {
  // Options and positionals may be interleaved (`validate IMG --keep`).
  kInterleaved,
  // The first positional ends the options: the rest is a command line that
  // may carry its own flags (`exec ls -la`).
  kStopAtFirst,
};

// Parses `args` (without the program and subcommand names). Errors are
// InvalidArgument with a message fit for the user ("unknown option --foo").
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<FlagSpec>& specs, PositionalMode mode);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_FLAGS_H_
