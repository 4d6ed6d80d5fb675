// Command-line parsing for the subcommands: the common table-driven parser
// (common/flag_parser.h: long options, short aliases, `--`, positionals)
// with errors as absl::Status for the CLI's command functions.
#ifndef SAGEWAI_CLI_FLAGS_H_
#define SAGEWAI_CLI_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/flag_parser.h"

namespace sagewai::cli {

using FlagSpec = flags::FlagSpec;
using ParsedArgs = flags::ParsedArgs;
using PositionalMode = flags::PositionalMode;

// Parses `args` (without the program and subcommand names). Errors are
// InvalidArgument with a message fit for the user ("unknown option --foo").
absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<FlagSpec>& specs, PositionalMode mode);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_FLAGS_H_
