#include "cli/connection_policy.h"

#include <sys/types.h>

#include <cstdint>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/option_extract.h"

namespace sagewai::cli {
namespace {

ConnectionPolicy g_policy;

// --peer-uid / --peer-pid values.
template <typename T>
absl::Status ParseId(absl::string_view flag, absl::string_view text, T max, T* out) {
  uint64_t v = 0;
  if (text.empty() || !absl::ascii_isdigit(text[0]) || !absl::SimpleAtoi(text, &v) ||
      v > static_cast<uint64_t>(max)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " needs a number from 0 to ", max, ", not \"", text, "\""));
  }
  *out = static_cast<T>(v);
  return absl::OkStatus();
}

}  // namespace

absl::Status ExtractConnectionFlags(std::vector<std::string>* args, bool stop_at_positional,
                                    const std::vector<std::string>& value_flags) {
  ConnectionPolicy policy = g_policy;
  // "--name VALUE" or "--name=VALUE"; true when args[*i] was one.
  auto value_of = [](absl::string_view name, const std::vector<std::string>& args, size_t* i,
                     std::string* value, absl::Status* error) {
    const std::string& a = args[*i];
    const std::string flag = absl::StrCat("--", name);
    if (a == flag) {
      if (*i + 1 >= args.size()) {
        *error = absl::InvalidArgumentError(absl::StrCat(flag, " needs a value"));
      } else {
        *value = args[++*i];
      }
      return true;
    }
    if (absl::StartsWith(a, flag + "=")) {
      *value = a.substr(flag.size() + 1);
      return true;
    }
    return false;
  };
  absl::Status status = ExtractOptions(
      args, stop_at_positional, value_flags,
      [&](const std::vector<std::string>& args, size_t* i) -> absl::StatusOr<bool> {
        std::string value;
        absl::Status error;
        if (value_of("peer-uid", args, i, &value, &error)) {
          if (!error.ok()) return error;
          uid_t uid = 0;
          if (absl::Status st = ParseId<uid_t>("peer-uid", value, 0xfffffffe, &uid); !st.ok()) {
            return st;
          }
          policy.peer.uid = uid;
          return true;
        }
        if (value_of("peer-pid", args, i, &value, &error)) {
          if (!error.ok()) return error;
          pid_t pid = 0;
          if (absl::Status st = ParseId<pid_t>("peer-pid", value, 4194304, &pid); !st.ok()) {
            return st;
          }
          policy.peer.pid = pid;
          policy.peer.pid_source = "--peer-pid";
          return true;
        }
        if (args[*i] == "--allow-bearer") {
          policy.allow_bearer = true;
          return true;
        }
        return false;
      });
  if (!status.ok()) return status;
  g_policy = std::move(policy);
  return absl::OkStatus();
}

void SetConnectionFlags(ConnectionPolicy policy) { g_policy = std::move(policy); }

ConnectionPolicy FlagConnectionPolicy() {
  ConnectionPolicy policy = g_policy;
  if (const char* env = getenv(kAllowBearerEnv); env != nullptr && std::string(env) == "1") {
    policy.allow_bearer = true;
  }
  return policy;
}

}  // namespace sagewai::cli
