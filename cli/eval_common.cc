#include "cli/eval_common.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/exit_codes.h"

namespace sagewai::cli {
namespace {

constexpr absl::Duration kConnectTimeout = absl::Seconds(10);

}  // namespace

absl::Status ParseEnvEntries(const std::vector<std::string>& entries,
                             std::map<std::string, std::string>* env) {
  for (const std::string& entry : entries) {
    size_t eq = entry.find('=');
    if (eq == 0 || eq == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("--env ", entry, ": expected NAME=VALUE"));
    }
    (*env)[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return absl::OkStatus();
}

std::unique_ptr<Connection> ConnectAndWait(const std::optional<std::string>& addr,
                                           const std::optional<std::string>& token_file,
                                           int* exit_code) {
  std::unique_ptr<Connection> connection = ConnectOrReport(addr, token_file, exit_code);
  if (!connection) return nullptr;
  if (!connection->WaitForConnection(kConnectTimeout)) {
    fprintf(stderr,
            "cannot reach the runner at %s: no connection within %lld s — is the sandbox "
            "running? is the address right?\n",
            connection->address().text.c_str(),
            static_cast<long long>(absl::ToInt64Seconds(kConnectTimeout)));
    *exit_code = kExitUnavailable;
    return nullptr;
  }
  return connection;
}

}  // namespace sagewai::cli
