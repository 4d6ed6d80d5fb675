#include "cli/flags.h"

#include "absl/status/status.h"

namespace sagewai::cli {

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<FlagSpec>& specs, PositionalMode mode) {
  ParsedArgs out;
  std::string error;
  if (!flags::ParseFlags(args, specs, mode, &out, &error)) {
    return absl::InvalidArgumentError(error);
  }
  return out;
}

}  // namespace sagewai::cli
