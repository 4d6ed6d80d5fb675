#include "common/flag_parser.h"

namespace sagewai::flags {
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

bool ParsedArgs::Has(const std::string& name) const {
  for (const auto& [flag, value] : flags) {
    if (flag == name) return true;
  }
  return false;
}

std::optional<std::string> ParsedArgs::Last(const std::string& name) const {
  for (auto it = flags.rbegin(); it != flags.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return std::nullopt;
}

std::vector<std::string> ParsedArgs::All(const std::string& name) const {
  std::vector<std::string> values;
  for (const auto& [flag, value] : flags) {
    if (flag == name) values.push_back(value);
  }
  return values;
}

bool ParseFlags(const std::vector<std::string>& args, const std::vector<FlagSpec>& specs,
                PositionalMode mode, ParsedArgs* out, std::string* error) {
  *out = ParsedArgs();
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      out->saw_double_dash = true;
      out->positionals.insert(out->positionals.end(), args.begin() + i + 1, args.end());
      break;
    }
    const bool is_long = arg.size() > 2 && arg[0] == '-' && arg[1] == '-';
    const bool is_short = !is_long && arg.size() == 2 && arg[0] == '-' && arg[1] != '-';
    if (!is_long && !is_short) {
      if (mode == PositionalMode::kStopAtFirst) {
        out->positionals.insert(out->positionals.end(), args.begin() + i, args.end());
        break;
      }
      out->positionals.push_back(arg);
      continue;
    }
    const FlagSpec* spec = nullptr;
    std::string name;
    std::optional<std::string> inline_value;
    if (is_long) {
      std::string body = arg.substr(2);
      const size_t eq = body.find('=');
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
      *error = "unknown option " + name;
      return false;
    }
    if (!spec->takes_value) {
      if (inline_value) {
        *error = "option " + name + " takes no value";
        return false;
      }
      out->flags.emplace_back(spec->name, "");
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        *error = "option " + name + " needs a value";
        return false;
      }
      inline_value = args[++i];
    }
    out->flags.emplace_back(spec->name, *std::move(inline_value));
  }
  return true;
}

}  // namespace sagewai::flags
