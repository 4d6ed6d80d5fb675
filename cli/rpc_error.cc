#include "cli/rpc_error.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "cli/exit_codes.h"
#include "cli/runner_token.h"

namespace sagewai::cli {
namespace {

std::string OneLine(absl::string_view text) {
  std::string out =
      absl::StrReplaceAll(absl::StripAsciiWhitespace(text), {{"\n", " "}, {"\r", " "}});
  return out.empty() ? "no details" : out;
}

// "INVALID_ARGUMENT": grpc::StatusCode and absl::StatusCode agree on every
// value.
std::string CodeName(grpc::StatusCode code) {
  std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? "UNKNOWN_CODE" : name;
}

}  // namespace

std::string SecondsText(absl::Duration d) {
  double s = absl::ToDoubleSeconds(d);
  return s == static_cast<int64_t>(s) ? absl::StrCat(static_cast<int64_t>(s), " s")
                                      : absl::StrFormat("%.1f s", s);
}

int ExitCodeForRpcCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::OK:
      return kExitOk;
    case grpc::UNAVAILABLE:
      return kExitUnavailable;
    case grpc::UNAUTHENTICATED:
    case grpc::PERMISSION_DENIED:
      return kExitNoPerm;
    case grpc::UNIMPLEMENTED:
      return kExitProtocol;
    case grpc::DEADLINE_EXCEEDED:
    case grpc::RESOURCE_EXHAUSTED:
      return kExitTempFail;
    case grpc::INVALID_ARGUMENT:
    case grpc::FAILED_PRECONDITION:
    case grpc::OUT_OF_RANGE:
    case grpc::NOT_FOUND:
    case grpc::ALREADY_EXISTS:
      return kExitDataErr;
    default:
      return kExitSoftware;
  }
}

CliError DescribeRpcError(const grpc::Status& status, const RpcErrorContext& context) {
  const std::string addr = context.address != nullptr ? context.address->text : "?";
  const bool is_unix = context.address != nullptr && context.address->kind == Address::Kind::kUnix;
  const std::string detail = OneLine(status.error_message());
  CliError e;
  e.exit_code = ExitCodeForRpcCode(status.error_code());
  switch (status.error_code()) {
    case grpc::UNAVAILABLE:
      e.message = absl::StrCat("cannot reach the runner at ", addr, ": ",
                               context.socket_probe.empty() ? detail : context.socket_probe,
                               " — is the sandbox running? is the ",
                               is_unix ? "socket path" : "address", " right?");
      break;
    case grpc::UNAUTHENTICATED:
      if (context.token_source.empty()) {
        e.message =
            absl::StrCat("the runner at ", addr, " needs a token and none was given (", detail,
                         ") — pass the sandbox's SESSION_TOKEN with --token-file "
                         "FILE or $",
                         kTokenEnv);
      } else {
        e.message = absl::StrCat("the runner rejected the token from ", context.token_source, " (",
                                 detail, ") — it must be the SESSION_TOKEN the sandbox at ", addr,
                                 " was started with");
      }
      break;
    case grpc::PERMISSION_DENIED:
      e.message = absl::StrCat("the runner at ", addr, " refused ", context.method, ": ", detail);
      break;
    case grpc::UNIMPLEMENTED:
      if (context.server_version.empty()) {
        e.message = absl::StrCat("the runner at ", addr, " does not support ", context.method,
                                 " (server too old: version unknown — or not a "
                                 "sagewai-tool-runner at all) — check the address, and use an "
                                 "image whose sagewai-tool-runner is recent enough");
      } else {
        e.message = absl::StrCat("the runner at ", addr, " does not support ", context.method,
                                 " (server too old: version ", context.server_version,
                                 ") — use an image whose sagewai-tool-runner is recent enough");
      }
      break;
    case grpc::DEADLINE_EXCEEDED:
      e.message = absl::StrCat(
          "the runner at ", addr, " did not answer ", context.method,
          context.deadline ? absl::StrCat(" within ", SecondsText(*context.deadline)) : "",
          " (deadline exceeded) — it may be overloaded or stuck; retry, or allow more time");
      break;
    case grpc::RESOURCE_EXHAUSTED:
      e.message = absl::StrCat("the runner at ", addr, " is busy (", detail,
                               ") — retry when fewer calls are running");
      break;
    case grpc::INVALID_ARGUMENT:
    case grpc::FAILED_PRECONDITION:
    case grpc::OUT_OF_RANGE:
    case grpc::NOT_FOUND:
    case grpc::ALREADY_EXISTS:
      e.message = absl::StrCat("the runner at ", addr, " refused ", context.method, ": ", detail);
      break;
    default:
      e.message = absl::StrCat(context.method, " failed at ", addr, ": ",
                               CodeName(status.error_code()), ": ", detail);
      break;
  }
  return e;
}

}  // namespace sagewai::cli
