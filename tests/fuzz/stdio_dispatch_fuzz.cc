// The stdio protocol's dispatcher (tool-runner/stdio/stdio_protocol): each
// input line is one request line, as the worker writes them. Every answer
// must be one line of valid JSON-RPC 2.0 with the result shape of the
// contract, echoing the id.
//
// Tools: the real fs.* tools (RegisterFsTools) on a scratch work directory
// under /dev/shm that is rebuilt for every input; in a call whose paths could
// leave it (absolute, a ".." segment, an absolute glob pattern) those paths
// are confined to it before the line is dispatched. `bash` and
// `code_eval` run no process: they parse args with the real parsers
// (BashRequestFromArgs, EvalRequestFromArgs) and answer from the request,
// code_eval through the real ToStdioResult.
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/json_reader.h"
#include "tests/fuzz/fuzz_check.h"
#include "tool-runner/bash/bash_stdio.h"
#include "tool-runner/code_eval/code_eval_stdio.h"
#include "tool-runner/fs/fs_stdio_tools.h"
#include "tool-runner/stdio/stdio_protocol.h"

namespace {

namespace json = ::sagewai::json;
namespace stdio = ::sagewai::stdio;
namespace v1 = ::sagewai::sandbox::v1;

std::string g_root;      // the scratch directory, removed and rebuilt per input
std::string g_workdir;   // g_root + "/workspace"
bool g_verbose = false;  // SAGEWAI_FUZZ_VERBOSE=1 prints each exchange

absl::StatusOr<stdio::ToolResult> FakeBash(const json::Value& args, absl::Duration) {
  auto request = sagewai::BashRequestFromArgs(args);
  if (!request.ok()) return request.status();
  stdio::ToolResult r;
  if (request->command() == "timeout") {
    r.error = "timeout after 1s";
    return r;
  }
  r.exit_code = request->command().size() % 3;
  r.stdout_data = request->command();
  r.stderr_data = request->stdin() + "\xC3";  // a cut UTF-8 sequence to replace
  return r;
}

absl::StatusOr<stdio::ToolResult> FakeEval(const json::Value& args, absl::Duration timeout) {
  auto request = sagewai::EvalRequestFromArgs(args);
  if (!request.ok()) return request.status();
  v1::EvalResult result;
  result.set_stdout(request->code());
  result.set_context_id(request->context_id());
  if (absl::StrContains(request->code(), "raise")) {
    result.mutable_error()->set_name("ValueError");
    result.mutable_error()->set_message(request->code());
    result.mutable_error()->set_traceback("Traceback\n\xFF");
  }
  if (absl::StrContains(request->code(), "display")) {
    (*result.add_outputs()->mutable_data())["text/plain"] = request->code();
  }
  result.set_timed_out(absl::StrContains(request->code(), "sleep"));
  result.set_context_dead(absl::StrContains(request->code(), "exit"));
  return sagewai::ToStdioResult(result, timeout);
}

stdio::Dispatcher MakeDispatcher() {
  stdio::DispatcherOptions options;
  options.max_request_bytes = 1 << 16;
  stdio::Dispatcher d(options);
  sagewai::StdioToolOptions tool_options;
  tool_options.workdir = g_workdir;
  sagewai::RegisterFsTools(d, tool_options);
  d.Register("bash", FakeBash);
  d.Register("code_eval", FakeEval);
  return d;
}

int RemoveEntry(const char* path, const struct stat*, int type, struct FTW*) {
  if (type == FTW_DP || type == FTW_D) {
    chmod(path, 0700);
    return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
  }
  unlink(path);
  return 0;
}

// A small tree: a text file, a nested directory, a name that is not UTF-8
// and a symlink that stays inside.
void ResetWorkdir() {
  // Directories made with mode 0 must be opened again to be removed.
  nftw(
      g_workdir.c_str(),
      [](const char* p, const struct stat* st, int type, struct FTW*) {
        if (type == FTW_D || type == FTW_DNR) chmod(p, 0700);
        return 0;
      },
      16, FTW_PHYS);
  nftw(g_workdir.c_str(), RemoveEntry, 16, FTW_PHYS | FTW_DEPTH);
  mkdir(g_workdir.c_str(), 0700);
  mkdir((g_workdir + "/dir").c_str(), 0700);
  mkdir((g_workdir + "/dir/sub").c_str(), 0700);
  for (const char* name : {"/a.txt", "/dir/b.txt", "/dir/\xFF\xFEname"}) {
    const int fd = open((g_workdir + name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      (void)!write(fd, "hello\n", 6);
      close(fd);
    }
  }
  (void)!symlink("a.txt", (g_workdir + "/link").c_str());
}

// `path` made relative with no ".." segment: what a call may touch then is
// under the work directory (its only symlink points inside).
std::string Confined(absl::string_view path) {
  std::vector<std::string> segments;
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    segments.push_back(segment == ".." ? "up" : std::string(segment));
  }
  std::string out = absl::StrJoin(segments, "/");
  return out.empty() || out[0] != '/' ? out : "root" + out;
}

// `line` itself, or for an fs.* call whose paths could reach beyond the work
// directory (absolute, a ".." segment) the same request with those paths
// confined. Parsing is the dispatcher's job: lines that do not parse as such
// a call pass unchanged.
std::string ConfineLine(absl::string_view line) {
  auto request = json::Parse(line);
  if (!request.ok() || !request->is_object()) return std::string(line);
  json::Value* params = request->AsObject()->Find("params");
  json::Value* args =
      params == nullptr || !params->is_object() ? nullptr : params->AsObject()->Find("args");
  const json::Value* tool = params == nullptr ? nullptr : params->Find("tool");
  if (tool == nullptr || args == nullptr || !tool->is_string() || !args->is_object() ||
      !absl::StartsWith(*tool->AsString(), "fs.")) {
    return std::string(line);
  }
  bool changed = false;
  for (const char* key : {"path", "source", "destination", "pattern"}) {
    json::Value* v = args->AsObject()->Find(key);
    if (v == nullptr || !v->is_string()) continue;
    std::string confined = Confined(*v->AsString());
    if (confined != *v->AsString()) {
      *v = json::Value(std::move(confined));
      changed = true;
    }
  }
  return changed ? json::Serialize(*request) : std::string(line);
}

void CheckResponse(absl::string_view line, const std::string& response) {
  FUZZ_CHECK(response.find('\n') == std::string::npos, "response spans lines: %s",
             response.c_str());
  auto reply = json::Parse(response);
  FUZZ_CHECK(reply.ok(), "response is not JSON (%s): %s",
             std::string(reply.status().message()).c_str(), response.c_str());
  FUZZ_CHECK(reply->is_object(), "response is not an object: %s", response.c_str());
  const json::Value* version = reply->Find("jsonrpc");
  FUZZ_CHECK(version != nullptr && version->AsString() == "2.0", "no jsonrpc 2.0: %s",
             response.c_str());
  const json::Value* id = reply->Find("id");
  FUZZ_CHECK(id != nullptr && (id->is_number() || id->is_string() || id->is_null()), "bad id: %s",
             response.c_str());
  auto request = json::Parse(line);
  if (request.ok() && request->is_object()) {
    const json::Value* sent = request->Find("id");
    if (sent != nullptr && (sent->is_int() || sent->is_string())) {
      FUZZ_CHECK(*sent == *id, "id not echoed: %s", response.c_str());
    }
  }
  const json::Value* result = reply->Find("result");
  const json::Value* error = reply->Find("error");
  FUZZ_CHECK((result == nullptr) != (error == nullptr), "result xor error: %s", response.c_str());
  if (error != nullptr) {
    const json::Value* code = error->Find("code");
    const json::Value* message = error->Find("message");
    FUZZ_CHECK(code != nullptr && code->is_int() && message != nullptr && message->is_string(),
               "bad error member: %s", response.c_str());
    return;
  }
  const json::Value* ok = result->Find("ok");
  const json::Value* exit_code = result->Find("exit_code");
  const json::Value* err = result->Find("error");
  const json::Value* out = result->Find("stdout");
  const json::Value* errout = result->Find("stderr");
  const json::Value* call_id = result->Find("call_id");
  const json::Value* duration = result->Find("duration_ms");
  FUZZ_CHECK(ok != nullptr && ok->is_bool() && exit_code != nullptr &&
                 (exit_code->is_int() || exit_code->is_null()) && err != nullptr &&
                 (err->is_string() || err->is_null()) && out != nullptr && out->is_string() &&
                 errout != nullptr && errout->is_string() && call_id != nullptr &&
                 (call_id->is_string() || call_id->is_null()) && duration != nullptr &&
                 duration->is_int(),
             "result does not have the contract's shape: %s", response.c_str());
  FUZZ_CHECK(*ok->AsBool() == (exit_code->AsInt() == 0 && err->is_null()),
             "ok disagrees with exit_code/error: %s", response.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string templ = std::string(base) + "/sagewai-stdio-fuzz.XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  g_root = templ;
  g_workdir = g_root + "/workspace";
  g_verbose = getenv("SAGEWAI_FUZZ_VERBOSE") != nullptr;
  std::atexit([] { nftw(g_root.c_str(), RemoveEntry, 16, FTW_PHYS | FTW_DEPTH); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const stdio::Dispatcher dispatcher = MakeDispatcher();
  ResetWorkdir();
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  for (absl::string_view line : absl::StrSplit(input, '\n')) {
    const std::string confined = ConfineLine(line);
    std::optional<std::string> response = dispatcher.HandleLine(confined);
    if (!response.has_value()) continue;
    if (g_verbose) std::fprintf(stderr, "> %s\n< %s\n", confined.c_str(), response->c_str());
    CheckResponse(confined, *response);
  }
  return 0;
}
