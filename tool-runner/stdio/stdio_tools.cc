#include "tool-runner/stdio/stdio_tools.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tool-runner/supervisor/process_group.h"
#include "tool-runner/core/tool_env.h"

namespace sagewai {

namespace {

absl::StatusOr<std::string> OptionalString(const json::Value& args, absl::string_view key) {
  const json::Value* v = args.Find(key);
  if (v == nullptr || v->is_null()) return std::string();
  auto s = v->AsString();
  if (!s.has_value()) return absl::InvalidArgumentError(absl::StrCat("args.", key, " must be a string"));
  return std::string(*s);
}

std::string TruncationNote(absl::string_view stream, size_t kept, uint64_t total) {
  return absl::StrCat("\n[sagewai: ", stream, " truncated: kept ", kept, " of ", total,
                      " bytes]\n");
}

}  // namespace

stdio::ToolResult ToToolResult(const CommandResult& r, absl::Duration timeout) {
  stdio::ToolResult out;
  out.stdout_data = r.stdout_data;
  out.stderr_data = r.stderr_data;
  if (r.stdout_truncated) {
    out.stderr_data += TruncationNote("stdout", r.stdout_data.size(), r.stdout_bytes);
  }
  if (r.stderr_truncated) {
    out.stderr_data += TruncationNote("stderr", r.stderr_data.size(), r.stderr_bytes);
  }
  out.duration_ms = r.duration.count();
  if (r.timed_out) {
    out.error = absl::StrCat("timeout: the command did not finish within ",
                             absl::FormatDuration(timeout), " and was killed");
  } else {
    out.exit_code = r.exit_code;
  }
  return out;
}

void RegisterBashTool(stdio::Dispatcher& dispatcher, Supervisor& supervisor,
                      const StdioToolOptions& options) {
  dispatcher.Register("bash", [&supervisor, options](const json::Value& args,
                                                     absl::Duration timeout)
                                  -> absl::StatusOr<stdio::ToolResult> {
    const json::Value* command = args.Find("command");
    if (command == nullptr || !command->is_string() || command->AsString()->empty()) {
      return absl::InvalidArgumentError("args.command must be a non-empty string");
    }
    auto cwd = OptionalString(args, "cwd");
    if (!cwd.ok()) return cwd.status();
    auto stdin_data = OptionalString(args, "stdin");
    if (!stdin_data.ok()) return stdin_data.status();
    std::map<std::string, std::string> overrides;
    if (const json::Value* env = args.Find("env"); env != nullptr && !env->is_null()) {
      const json::Object* obj = env->AsObject();
      if (obj == nullptr) return absl::InvalidArgumentError("args.env must be an object");
      for (const auto& [name, value] : *obj) {
        auto s = value.AsString();
        if (!s.has_value()) {
          return absl::InvalidArgumentError(absl::StrCat("args.env.", name, " must be a string"));
        }
        overrides[name] = std::string(*s);
      }
    }
    CommandSpec spec;
    spec.process.cwd = ResolveCwd(options.workdir, *cwd);
    auto env = MergeToolEnvironment(InheritedToolEnvironment(), overrides, spec.process.cwd);
    if (!env.ok()) return env.status();
    spec.process.env = std::move(*env);
    spec.process.argv = {ShellPath(), "-c", std::string(*command->AsString())};
    spec.stdin_data = std::move(*stdin_data);
    spec.timeout = std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout));
    spec.max_output_bytes = options.max_output_bytes;
    auto result = supervisor.RunToCompletion(std::move(spec));
    if (!result.ok()) return result.status();
    return ToToolResult(*result, timeout);
  });
}

}  // namespace sagewai
