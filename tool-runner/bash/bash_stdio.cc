#include "tool-runner/bash/bash_stdio.h"

#include <chrono>
#include <utility>

#include "tool-runner/bash/bash_service.h"
#include "tool-runner/core/tool_env.h"
#include "tool-runner/stdio/stdio_args.h"

namespace sagewai {

namespace v1 = ::sagewai::sandbox::v1;

absl::StatusOr<v1::BashRequest> BashRequestFromArgs(const json::Value& args) {
  v1::BashRequest request;
  const json::Value* command = args.Find("command");
  if (command == nullptr || !command->is_string() || command->AsString()->empty()) {
    return absl::InvalidArgumentError("args.command must be a non-empty string");
  }
  request.set_command(std::string(*command->AsString()));
  auto cwd = stdio::StringArg(args, "cwd");
  if (!cwd.ok()) return cwd.status();
  request.set_cwd(*std::move(cwd));
  auto stdin_data = stdio::StringArg(args, "stdin");
  if (!stdin_data.ok()) return stdin_data.status();
  request.set_stdin(*std::move(stdin_data));
  auto env = stdio::EnvArg(args);
  if (!env.ok()) return env.status();
  request.mutable_env()->insert(env->begin(), env->end());
  return request;
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
