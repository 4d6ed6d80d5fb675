#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cli/connection.h"
#include "cli/eval_command.h"
#include "cli/eval_common.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"

// `sagewai-sandbox context`: create, ls, rm and restart of the runner's
// code-eval contexts, one unary CodeEval call each.

namespace sagewai::cli {

namespace pb = sagewai::sandbox::v1;

const char kContextHelp[] =
    R"(usage: sagewai-sandbox context COMMAND [OPTIONS]

Manages the sandbox's code-eval contexts: interpreters that keep their state
between `sagewai-sandbox eval --context ID` calls.

Commands:
  create --lang LANG [--cwd DIR] [--env K=V]...   start one; prints its id
  ls                                              list them
  rm ID...                                        delete (kill) them
  restart ID                                      fresh state, same id

Options: --addr ADDR, --token-file FILE (as for eval), -h/--help.
)";

namespace {

constexpr absl::Duration kCallTimeout = absl::Seconds(60);

std::string FormatTime(int64_t unix_ms) {
  if (unix_ms <= 0) return "-";
  time_t t = static_cast<time_t>(unix_ms / 1000);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

int RunContextCommand(const std::vector<std::string>& args) {
  static const std::vector<FlagSpec> kSpecs = {{"addr", true},     {"token-file", true},
                                               {"lang", true},     {"cwd", true},
                                               {"env", true, 'e'}, {"help", false, 'h'}};
  absl::StatusOr<ParsedArgs> parsed = ParseArgs(args, kSpecs, PositionalMode::kInterleaved);
  std::map<std::string, std::string> env;
  if (parsed.ok()) {
    if (absl::Status st = ParseEnvEntries(parsed->All("env"), &env); !st.ok()) parsed = st;
  }
  if (!parsed.ok()) {
    fprintf(stderr, "sagewai-sandbox context: %s (see --help)\n",
            std::string(parsed.status().message()).c_str());
    return kExitUsage;
  }
  if (parsed->Has("help") || parsed->positionals.empty()) {
    fputs(kContextHelp, parsed->Has("help") ? stdout : stderr);
    return parsed->Has("help") ? kExitOk : kExitUsage;
  }
  const std::string command = parsed->positionals[0];
  const std::vector<std::string> ids(parsed->positionals.begin() + 1, parsed->positionals.end());
  const bool wants_ids = command == "rm" || command == "restart";
  if (command != "create" && command != "ls" && !wants_ids) {
    fprintf(stderr, "sagewai-sandbox context: unknown command \"%s\" (create, ls, rm, restart)\n",
            command.c_str());
    return kExitUsage;
  }
  if (wants_ids ? ids.empty() || (command == "restart" && ids.size() != 1) : !ids.empty()) {
    fprintf(stderr, "sagewai-sandbox context %s: %s\n", command.c_str(),
            wants_ids ? (command == "restart" ? "takes exactly one ID" : "takes one or more IDs")
                      : "takes no arguments");
    return kExitUsage;
  }
  int exit_code = kExitOk;
  std::unique_ptr<Connection> connection =
      ConnectAndWait(parsed->Last("addr"), parsed->Last("token-file"), &exit_code);
  if (!connection) return exit_code;
  auto stub = pb::CodeEval::NewStub(connection->channel());
  auto fail = [&](const grpc::Status& status, absl::string_view method) {
    CliError e = connection->Describe(status, method, kCallTimeout);
    fprintf(stderr, "%s\n", e.message.c_str());
    return e.exit_code;
  };

  if (command == "create") {
    pb::CreateContextRequest request;
    request.set_language(parsed->Last("lang").value_or("python"));
    request.set_cwd(parsed->Last("cwd").value_or(""));
    for (const auto& [k, v] : env) (*request.mutable_env())[k] = v;
    pb::Context created;
    auto context = connection->NewContext(kCallTimeout);
    grpc::Status status = stub->CreateContext(context.get(), request, &created);
    if (!status.ok()) return fail(status, "CodeEval.CreateContext");
    printf("%s\n", created.context_id().c_str());
    return kExitOk;
  }
  if (command == "ls") {
    pb::ListContextsResponse list;
    auto context = connection->NewContext(kCallTimeout);
    grpc::Status status = stub->ListContexts(context.get(), {}, &list);
    if (!status.ok()) return fail(status, "CodeEval.ListContexts");
    printf("%-18s %-8s %-6s %-8s %-20s %s\n", "ID", "LANGUAGE", "STATE", "PID", "LAST USED", "CWD");
    for (const pb::Context& c : list.contexts()) {
      printf("%-18s %-8s %-6s %-8s %-20s %s\n", c.context_id().c_str(), c.language().c_str(),
             c.state().c_str(), c.pid() > 0 ? std::to_string(c.pid()).c_str() : "-",
             FormatTime(c.last_used_unix_ms()).c_str(), c.cwd().c_str());
    }
    return kExitOk;
  }
  if (command == "restart") {
    pb::RestartContextRequest request;
    request.set_context_id(ids[0]);
    pb::Context restarted;
    auto context = connection->NewContext(kCallTimeout);
    grpc::Status status = stub->RestartContext(context.get(), request, &restarted);
    if (!status.ok()) return fail(status, "CodeEval.RestartContext");
    printf("%s\n", restarted.context_id().c_str());
    return kExitOk;
  }
  for (const std::string& id : ids) {
    pb::DeleteContextRequest request;
    request.set_context_id(id);
    pb::DeleteContextResponse response;
    auto context = connection->NewContext(kCallTimeout);
    grpc::Status status = stub->DeleteContext(context.get(), request, &response);
    if (!status.ok()) exit_code = fail(status, "CodeEval.DeleteContext");
  }
  return exit_code;
}

}  // namespace sagewai::cli
