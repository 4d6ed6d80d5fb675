#include "tool-runner/bash/bash_stdio.h"

#include <chrono>
#include <map>
#include <string>
#include <utility>

#include "tool-runner/bash/bash_service.h"
#include "tool-runner/core/tool_env.h"
#include "tool-runner/stdio/stdio_args.h"

namespace sagewai {

namespace v1 = ::sagewai::sandbox::v1;

absl::StatusOr<v1::BashRequest> BashRequestFromArgs(const json::Value& json) {
  const json::Value* command = json.Find("command");
  if (command == nullptr || !command->is_string() || command->AsString()->empty()) {
    return absl::InvalidArgumentError("args.command must be a non-empty string");
  }
  stdio::ArgReader args(json);
  v1::BashRequest request;
  request.set_command(std::string(*command->AsString()));
  request.set_cwd(args.String("cwd"));
  request.set_stdin(args.String("stdin"));
  const std::map<std::string, std::string> env = args.Env();
  request.mutable_env()->insert(env.begin(), env.end());
  return args.Finish(std::move(request));
}

void RegisterBashTool(stdio::Dispatcher& dispatcher, Supervisor& supervisor,
                      const StdioToolOptions& options) {
  dispatcher.Register(
      "bash",
      [&supervisor, options](const json::Value& args,
                             absl::Duration timeout) -> absl::StatusOr<stdio::ToolResult> {
        auto request = BashRequestFromArgs(args);
        if (!request.ok()) return request.status();
        const BashDefaults defaults{options.workdir, InheritedToolEnvironment(),
                                    options.max_output_bytes};
        auto spec = BashCommandSpec(defaults, *request,
                                    std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout)));
        if (!spec.ok()) return spec.status();
        auto result = supervisor.RunToCompletion(*std::move(spec));
        if (!result.ok()) return result.status();
        return ToToolResult(*result, timeout);
      });
}

}  // namespace sagewai
