#include "cli/option_extract.h"

#include <algorithm>
#include <iterator>

namespace sagewai::cli {

absl::Status ExtractOptions(std::vector<std::string>* args, bool stop_at_positional,
                            const std::vector<std::string>& value_flags, const OptionTaker& take) {
  std::vector<std::string> out;
  size_t i = 0;
  for (; i < args->size(); ++i) {
    const std::string& a = (*args)[i];
    if (a == "--") break;
    absl::StatusOr<bool> taken = take(*args, &i);
    if (!taken.ok()) return taken.status();
    if (*taken) continue;
    if (stop_at_positional) {
      if (a.size() < 2 || a[0] != '-') break;  // "-" alone is a positional too
      std::string name = a.substr(a.find_first_not_of('-'));
      if (name.find('=') == std::string::npos &&
          std::find(value_flags.begin(), value_flags.end(), name) != value_flags.end() &&
          i + 1 < args->size()) {
        out.push_back(a);
        out.push_back((*args)[++i]);
        continue;
      }
    }
    out.push_back(a);
  }
  out.insert(out.end(), args->begin() + static_cast<std::ptrdiff_t>(i), args->end());
  *args = std::move(out);
  return absl::OkStatus();
}

}  // namespace sagewai::cli
