// Taking the options every runner command shares (--sandbox, --peer-uid,
// --peer-pid, --allow-bearer) out of a command line before the command's
// own parser sees it.
#ifndef SAGEWAI_CLI_OPTION_EXTRACT_H_
#define SAGEWAI_CLI_OPTION_EXTRACT_H_

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sagewai::cli {

// Looks at args[*i]: false when it is not one of the caller's options; true
// when it was (having moved *i past a value it took); an error stops the walk.
using OptionTaker =
    std::function<absl::StatusOr<bool>(const std::vector<std::string>& args, size_t* i)>;

// Walks `args` up to "--" (and, with `stop_at_positional`, up to the first
// positional, where the value of an option named in `value_flags` does not
// count as one), hands each word to `take` and keeps what it does not take,
// in order. `args` is left as it was on an error.
absl::Status ExtractOptions(std::vector<std::string>* args, bool stop_at_positional,
                            const std::vector<std::string>& value_flags, const OptionTaker& take);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_OPTION_EXTRACT_H_
