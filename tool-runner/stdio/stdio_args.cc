#include "tool-runner/stdio/stdio_args.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sagewai::stdio {

absl::StatusOr<std::string> StringArg(const json::Value& args, absl::string_view key, bool required,
                                      std::string fallback) {
  const json::Value* v = args.Find(key);
  if (v == nullptr || v->is_null()) {
    if (required) return absl::InvalidArgumentError(absl::StrCat("args.", key, " is required"));
    return fallback;
  }
  auto s = v->AsString();
  if (!s.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("args.", key, " must be a string"));
  }
  return std::string(*s);
}

absl::StatusOr<bool> BoolArg(const json::Value& args, absl::string_view key, bool fallback) {
  const json::Value* v = args.Find(key);
  if (v == nullptr || v->is_null()) return fallback;
  auto b = v->AsBool();
  if (!b.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("args.", key, " must be a boolean"));
  }
  return *b;
}

absl::StatusOr<uint64_t> UintArg(const json::Value& args, absl::string_view key,
                                 uint64_t fallback) {
  const json::Value* v = args.Find(key);
  if (v == nullptr || v->is_null()) return fallback;
  auto i = v->AsInt();
  if (!i.has_value() || *i < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("args.", key, " must be a non-negative integer"));
  }
  return static_cast<uint64_t>(*i);
}

absl::StatusOr<std::map<std::string, std::string>> EnvArg(const json::Value& args) {
  std::map<std::string, std::string> out;
  const json::Value* env = args.Find("env");
  if (env == nullptr || env->is_null()) return out;
  const json::Object* obj = env->AsObject();
  if (obj == nullptr) return absl::InvalidArgumentError("args.env must be an object");
  for (const auto& [name, value] : *obj) {
    auto s = value.AsString();
    if (!s.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("args.env.", name, " must be a string"));
    }
    out[name] = std::string(*s);
  }
  return out;
}

}  // namespace sagewai::stdio
