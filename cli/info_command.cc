#include "cli/info_command.h"

#include <cmath>
#include <cstdio>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "cli/connection.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "common/json_writer.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

namespace sagewai::cli {

namespace pb = sagewai::sandbox::v1;

const char kInfoHelp[] =
    R"(usage: sagewai-sandbox info [--addr ADDR] [--token-file FILE] [--json] [--timeout SECONDS]

Prints what the runner reports about itself (Runner.GetInfo): version, user,
capabilities and limits.

Options:
  --addr ADDR        the runner: unix:///path/tool-runner.sock, tcp://host:port
                     or host:port (default: $SAGEWAI_RUNNER_ADDR, else
                     unix:///run/sagewai/tool-runner.sock)
  --token-file FILE  file holding the sandbox's SESSION_TOKEN (default:
                     $SAGEWAI_RUNNER_TOKEN; the file wins when both are set)
  --json             one JSON object instead of text
  --timeout SECONDS  how long to wait for the answer (default 10)
  -h, --help         show this help

Exit status: 0; on failure one line on stderr and 2 (usage), 69 (runner
unreachable), 70 (unexpected error), 75 (deadline exceeded), 76 (runner too
old), 77 (token rejected) or 78 (bad token file).
)";

namespace {

std::string Plural(uint64_t n, const char* unit) { return absl::StrCat(n, " ", unit); }

std::string TimeoutText(uint64_t ms) { return ms == 0 ? "none" : FormatMillis(ms); }

std::string JsonStringArray(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string out = "[";
  for (int i = 0; i < items.size(); ++i) {
    if (i > 0) out += ",";
    json::AppendString(out, items[i]);
  }
  return out + "]";
}

}  // namespace

std::string FormatMillis(uint64_t ms) {
  if (ms < 1000) return absl::StrCat(ms, " ms");
  if (ms < 60'000) {
    return ms % 1000 == 0 ? absl::StrCat(ms / 1000, " s")
                          : absl::StrFormat("%.1f s", static_cast<double>(ms) / 1000);
  }
  const uint64_t s = ms / 1000;
  if (s < 3600) {
    return s % 60 == 0 ? absl::StrCat(s / 60, " min") : absl::StrCat(s / 60, " min ", s % 60, " s");
  }
  const uint64_t min = s / 60;
  if (min < 24 * 60) {
    return min % 60 == 0 ? absl::StrCat(min / 60, " h")
                         : absl::StrCat(min / 60, " h ", min % 60, " min");
  }
  const uint64_t hours = (min / 60) % 24;
  return hours == 0 ? absl::StrCat(min / (24 * 60), " d")
                    : absl::StrCat(min / (24 * 60), " d ", hours, " h");
}

std::string FormatInfoText(const pb::GetInfoResponse& info, const std::string& address) {
  const pb::Limits& l = info.limits();
  std::string out;
  auto line = [&](const char* key, const std::string& value) {
    absl::StrAppendFormat(&out, "%-24s %s\n", absl::StrCat(key, ":"), value);
  };
  line("address", address);
  line("version", info.version());
  line("runner uid/gid", absl::StrCat(info.uid(), "/", info.gid()));
  line("tools uid/gid",
       absl::StrCat(
           info.tool_uid(), "/", info.tool_gid(),
           info.tools_share_runner_uid() ? " (the runner's own)" : " (separate from the runner)"));
  if (info.tools_share_runner_uid() && !info.identity_note().empty()) {
    line("warning", info.identity_note());
  }
  line("unprivileged", info.unprivileged() ? "yes (no capabilities, no_new_privs)" : "no");
  line("pid", absl::StrCat(info.pid()));
  line("hostname", info.hostname());
  line("workdir", info.workdir());
  line("uptime", FormatMillis(info.uptime_ms()));
  line("capabilities",
       info.capabilities().empty() ? "none" : absl::StrJoin(info.capabilities(), ", "));
  out += "limits:\n";
  line("  max output", absl::StrCat(Plural(l.max_output_bytes(), "bytes"), " per stream"));
  line("  max concurrent calls", absl::StrCat(l.max_concurrent_calls()));
  line("  default timeout", TimeoutText(l.default_timeout_ms()));
  line("  max timeout", TimeoutText(l.max_timeout_ms()));
  line("  max contexts", absl::StrCat(l.max_contexts()));
  line("  context idle timeout", TimeoutText(l.context_idle_timeout_ms()));
  line("  kill grace", FormatMillis(l.kill_grace_ms()));
  return out;
}

std::string FormatInfoJson(const pb::GetInfoResponse& info, const std::string& address) {
  const pb::Limits& l = info.limits();
  std::string limits = json::ObjectWriter()
                           .Uint("max_output_bytes", l.max_output_bytes())
                           .Uint("max_concurrent_calls", l.max_concurrent_calls())
                           .Uint("default_timeout_ms", l.default_timeout_ms())
                           .Uint("max_timeout_ms", l.max_timeout_ms())
                           .Uint("max_contexts", l.max_contexts())
                           .Uint("context_idle_timeout_ms", l.context_idle_timeout_ms())
                           .Uint("kill_grace_ms", l.kill_grace_ms())
                           .Finish();
  return json::ObjectWriter()
             .String("address", address)
             .String("version", info.version())
             .Uint("uid", info.uid())
             .Uint("gid", info.gid())
             .Raw("capabilities", JsonStringArray(info.capabilities()))
             .Raw("limits", limits)
             .String("workdir", info.workdir())
             .String("hostname", info.hostname())
             .Int("pid", info.pid())
             .Uint("uptime_ms", info.uptime_ms())
             .Bool("unprivileged", info.unprivileged())
             .Uint("tool_uid", info.tool_uid())
             .Uint("tool_gid", info.tool_gid())
             .Bool("tools_share_runner_uid", info.tools_share_runner_uid())
             .String("identity_note", info.identity_note())
             .Raw("auth_schemes", JsonStringArray(info.auth_schemes()))
             .Finish() +
         "\n";
}

int RunInfoCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> kSpecs = {{"addr", true},
                                               {"token-file", true},
                                               {"json", false},
                                               {"timeout", true},
                                               {"help", false, 'h'}};
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, kSpecs, PositionalMode::kInterleaved);
  if (parsed.ok() && !parsed->positionals.empty()) {
    parsed = absl::InvalidArgumentError(
        absl::StrCat("unexpected argument \"", parsed->positionals[0], "\""));
  }
  absl::Duration timeout = absl::Seconds(10);
  if (parsed.ok()) {
    if (std::optional<std::string> t = parsed->Last("timeout")) {
      double seconds = 0;
      if (!absl::SimpleAtod(*t, &seconds) || !std::isfinite(seconds) || seconds <= 0) {
        parsed =
            absl::InvalidArgumentError(absl::StrCat("--timeout ", *t, ": expected seconds > 0"));
      } else {
        timeout = absl::Milliseconds(std::llround(seconds * 1000));
      }
    }
  }
  if (!parsed.ok()) {
    fprintf(stderr, "sagewai-sandbox info: %s (see --help)\n",
            std::string(parsed.status().message()).c_str());
    return kExitUsage;
  }
  if (parsed->Has("help")) {
    fputs(kInfoHelp, stdout);
    return kExitOk;
  }
  int exit_code = kExitOk;
  std::unique_ptr<Connection> connection =
      ConnectOrReport(parsed->Last("addr"), parsed->Last("token-file"), &exit_code);
  if (!connection) return exit_code;
  auto stub = pb::Runner::NewStub(connection->channel());
  auto context = connection->NewContext(timeout);
  pb::GetInfoResponse info;
  grpc::Status status = stub->GetInfo(context.get(), {}, &info);
  if (!status.ok()) {
    CliError e = connection->Describe(status, "Runner.GetInfo", timeout);
    fprintf(stderr, "%s\n", e.message.c_str());
    return e.exit_code;
  }
  const std::string& addr = connection->address().text;
  std::string out = parsed->Has("json") ? FormatInfoJson(info, addr) : FormatInfoText(info, addr);
  fwrite(out.data(), 1, out.size(), stdout);
  return fflush(stdout) == 0 ? kExitOk : kExitIoErr;
}

}  // namespace sagewai::cli
