#include "tool-runner/code_eval/code_eval_stdio.h"

#include <future>
#include <map>

#include "absl/strings/str_cat.h"
#include "tool-runner/code_eval/code_eval_service.h"
#include "tool-runner/core/tool_env.h"
#include "tool-runner/stdio/stdio_args.h"

namespace sagewai {

namespace v1 = ::sagewai::sandbox::v1;

namespace {

void AppendLine(std::string& out, absl::string_view text) {
  if (text.empty()) return;
  out.append(text.data(), text.size());
  if (out.back() != '\n') out.push_back('\n');
}

}  // namespace

stdio::ToolResult ToStdioResult(const v1::EvalResult& r, absl::Duration timeout) {
  stdio::ToolResult out;
  out.stdout_data = r.stdout();
  out.stderr_data = r.stderr();
  if (r.stdout_truncated()) out.stderr_data += "\n[sagewai: stdout truncated]\n";
  if (r.stderr_truncated()) out.stderr_data += "\n[sagewai: stderr truncated]\n";
  for (const v1::DisplayOutput& output : r.outputs()) {
    if (auto it = output.data().find("text/plain"); it != output.data().end()) {
      if (!out.stdout_data.empty() && out.stdout_data.back() != '\n') out.stdout_data += '\n';
      AppendLine(out.stdout_data, it->second);
    }
  }
  if (!r.error().name().empty()) {
    if (!out.stderr_data.empty() && out.stderr_data.back() != '\n') out.stderr_data += '\n';
    AppendLine(out.stderr_data, !r.error().traceback().empty()
                                    ? r.error().traceback()
                                    : absl::StrCat(r.error().name(), ": ", r.error().message()));
  }
  out.duration_ms = static_cast<int64_t>(r.duration_ms());
  if (r.timed_out()) {
    out.error =
        absl::StrCat("timeout: the code did not finish within ", absl::FormatDuration(timeout),
                     r.context_dead() ? "; the interpreter was killed" : "; it was interrupted");
  } else if (r.context_dead()) {
    out.error = absl::StrCat("context_dead: ", r.error().message());
  } else {
    out.exit_code = r.error().name().empty() ? 0 : 1;
  }
  return out;
}

absl::StatusOr<v1::EvalRequest> EvalRequestFromArgs(const json::Value& json) {
  const json::Value* code = json.Find("code");
  if (code == nullptr || !code->is_string()) {
    return absl::InvalidArgumentError("args.code must be a string");
  }
  stdio::ArgReader args(json);
  v1::EvalRequest request;
  request.set_code(std::string(*code->AsString()));
  request.set_language(args.String("language"));
  request.set_context_id(args.String("context_id"));
  request.set_cwd(args.String("cwd"));
  const std::map<std::string, std::string> env = args.Env();
  request.mutable_env()->insert(env.begin(), env.end());
  return args.Finish(std::move(request));
}

void RegisterCodeEvalTool(stdio::Dispatcher& dispatcher, code_eval::CodeEvalManager& manager,
                          const StdioToolOptions& options) {
  dispatcher.Register(
      "code_eval",
      [&manager, options](const json::Value& args,
                          absl::Duration timeout) -> absl::StatusOr<stdio::ToolResult> {
        absl::StatusOr<v1::EvalRequest> eval = EvalRequestFromArgs(args);
        if (!eval.ok()) return eval.status();
        // Unlike the gRPC Eval, cwd and env also apply to a named context's
        // first use, which creates it.
        const std::map<std::string, std::string> overrides(eval->env().begin(), eval->env().end());
        auto setup = MakeInterpreterSetup(eval->language(), eval->cwd(), overrides,
                                          InheritedToolEnvironment(), options.workdir);
        if (!setup.ok()) return setup.status();

        code_eval::CodeEvalManager::EvalRequest request;
        request.code = eval->code();
        request.context_id = eval->context_id();
        request.create_missing = true;
        request.setup = std::move(*setup);
        request.timeout = std::chrono::milliseconds(absl::ToInt64Milliseconds(timeout));
        std::promise<absl::StatusOr<v1::EvalResult>> promise;
        auto sink = std::make_shared<code_eval::CollectingSink>(
            options.max_output_bytes,
            [&promise](absl::StatusOr<v1::EvalResult> r) { promise.set_value(std::move(r)); });
        auto future = promise.get_future();
        manager.Eval(std::move(request), std::move(sink));
        absl::StatusOr<v1::EvalResult> result = future.get();
        // Other errors (no interpreter, a dead or busy context) become a failed
        // result in the dispatcher: "could not run tool code_eval: ...".
        if (!result.ok()) return result.status();
        return ToStdioResult(*result, timeout);
      });
}

}  // namespace sagewai
