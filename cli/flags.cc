#include "cli/flags.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sagewai::cli {
namespace {

const FlagSpec* FindLong(const std::vector<FlagSpec>& specs, const std::string& name) {
  for (const FlagSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

const FlagSpec* FindShort(const std::vector<FlagSpec>& specs, char c) {
  for (const FlagSpec& spec : specs) {
    if (spec.short_name != '\0' && spec.short_name == c) return &spec;
  }
  return nullptr;
}

}  // namespace

std::optional<std::string> ParsedArgs::Last(const std::string& name) const {
  auto it = flags.find(name);
  if (it == flags.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> ParsedArgs::All(const std::string& name) const {
  auto it = flags.find(name);
  if (it == flags.end()) return {};
  return it->second;
}

absl::StatusOr<ParsedArgs> ParseArgs(const std::vector<std::string>& args,
                                     const std::vector<FlagSpec>& specs, PositionalMode mode) {
  ParsedArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out.saw_double_dash = true;
      out.positionals.insert(out.positionals.end(), args.begin() + i + 1, args.end());
      break;
    }
    const bool is_long = arg.size() > 2 && arg[0] == '-' && arg[1] == '-';
    const bool is_short = !is_long && arg.size() == 2 && arg[0] == '-' && arg[1] != '-';
    if (!is_long && !is_short) {
      if (mode == PositionalMode::kStopAtFirst) {
        out.positionals.insert(out.positionals.end(), args.begin() + i, args.end());
        break;
      }
      out.positionals.push_back(arg);
      continue;
    }
    const FlagSpec* spec = nullptr;
    std::string name;
    std::optional<std::string> inline_value;
    if (is_long) {
      std::string body = arg.substr(2);
      size_t eq = body.find('=');
      if (eq != std::string::npos) {
        inline_value = body.substr(eq + 1);
        body.resize(eq);
      }
      spec = FindLong(specs, body);
      name = "--" + body;
    } else {
      spec = FindShort(specs, arg[1]);
      name = arg;
    }
    if (spec == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option ", name));
    }
    if (!spec->takes_value) {
      if (inline_value) {
        return absl::InvalidArgumentError(absl::StrCat("option ", name, " takes no value"));
      }
      out.flags[spec->name].push_back("");
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(absl::StrCat("option ", name, " needs a value"));
      }
      inline_value = args[++i];
    }
    out.flags[spec->name].push_back(*inline_value);
  }
  return out;
}

}  // namespace sagewai::cli
