// The one command-line parser of the three binaries, driven by a table of
// FlagSpec: long options (`--name VALUE`, `--name=VALUE`, boolean `--name`),
// single-letter aliases (`-h`), `--` to end the options, positionals.
//
// Not absl flags: those are process-global (one registry per binary, defined
// at namespace scope), which fits neither subcommands with their own flag
// sets nor parsing in tests, and they would pull Abseil into the entrypoint,
// which must stay Abseil-free and small. So no Abseil here either.
#ifndef SAGEWAI_COMMON_FLAG_PARSER_H_
#define SAGEWAI_COMMON_FLAG_PARSER_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sagewai::flags {

struct FlagSpec {
  std::string name;  // without the leading "--"
  bool takes_value = false;
  char short_name = '\0';  // e.g. 'h' for -h; '\0' for none
};

struct ParsedArgs {
  // Every occurrence in order as (flag name, value); a boolean flag's value is
  // "". A flat list, not a map: it costs PID 1 a few KB less.
  std::vector<std::pair<std::string, std::string>> flags;
  std::vector<std::string> positionals;
  // True when a literal "--" was seen.
  bool saw_double_dash = false;

  bool Has(const std::string& name) const;
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

// Parses `args` (without the program and subcommand names) into `out`. A
// lone "-" and words like "-la" are positionals. On failure returns false
// with `error` fit for the user ("unknown option --foo", "option --addr needs
// a value", "option --keep takes no value").
bool ParseFlags(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs,
                PositionalMode mode, ParsedArgs* out, std::string* error);

}  // namespace sagewai::flags

#endif  // SAGEWAI_COMMON_FLAG_PARSER_H_
