#include "tool-runner/fs/fs_stdio_tools.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/fs_json.h"
#include "common/fs_path.h"
#include "common/json_writer.h"
#include "tool-runner/fs/fs_glob.h"
#include "tool-runner/fs/fs_ops.h"
#include "tool-runner/fs/fs_write.h"
#include "tool-runner/stdio/stdio_args.h"

namespace sagewai {
namespace {

namespace v1 = ::sagewai::sandbox::v1;
using Clock = std::chrono::steady_clock;
using stdio::ArgReader;
using stdio::StringArg;

// Each tool is two steps: its args become the gRPC request message, then the
// request runs on the operations the gRPC handlers run (fs_ops.h, ...).

// ---------------------------------------------------- args -> requests --

// A path member, checked as the gRPC handlers check theirs but named as an
// arg; relative paths resolve against the work directory when run.
absl::StatusOr<std::string> PathField(const json::Value& args, absl::string_view key,
                                      bool allow_empty) {
  auto text = StringArg(args, key, !allow_empty);
  if (!text.ok()) return text.status();
  return fs::PathArg(absl::StrCat("args.", key), *text, "", allow_empty);
}

// A number (420) or an octal string ("0644", "644").
absl::StatusOr<uint32_t> ModeArg(const json::Value& args) {
  const json::Value* v = args.Find("mode");
  if (v == nullptr || v->is_null()) return 0;
  uint32_t mode = 0;
  if (auto i = v->AsInt(); i.has_value() && *i >= 0 && *i <= 07777) {
    mode = static_cast<uint32_t>(*i);
  } else if (auto s = v->AsString(); s.has_value() && !s->empty() && s->size() <= 5 &&
                                     s->find_first_not_of("01234567") == absl::string_view::npos) {
    for (char c : *s) mode = mode * 8 + static_cast<uint32_t>(c - '0');
    if (mode > 07777) mode = 010000;
  } else {
    mode = 010000;
  }
  if (mode > 07777) {
    return absl::InvalidArgumentError(
        "args.mode must be permission bits: a number up to 4095 or an octal string like \"0644\"");
  }
  return mode;
}

absl::StatusOr<bool> Base64Encoding(const json::Value& args) {
  auto enc = StringArg(args, "encoding", false, "utf-8");
  if (!enc.ok()) return enc.status();
  if (*enc == "base64") return true;
  if (*enc == "utf-8" || *enc == "utf8" || *enc == "text") return false;
  return absl::InvalidArgumentError("args.encoding must be \"utf-8\" or \"base64\"");
}

uint32_t Capped(uint64_t value, uint32_t cap) {
  return static_cast<uint32_t>(std::min<uint64_t>(value, cap));
}

// fs.read also says how to encode the content and where to cut it.
struct ReadArgs {
  v1::ReadRequest request;
  uint64_t max_bytes = kStdioMaxReadBytes;
  bool base64 = false;
};

absl::StatusOr<ReadArgs> ParseRead(const json::Value& json) {
  ArgReader args(json);
  ReadArgs out;
  out.request.set_path(args.Take(PathField(json, "path", false)));
  out.request.set_offset(args.Uint("offset", 0));
  out.request.set_length(args.Uint("length", 0));
  out.max_bytes = args.Uint("max_bytes", kStdioMaxReadBytes);
  out.base64 = args.Take(Base64Encoding(json));
  return args.Finish(std::move(out));
}

absl::StatusOr<v1::WriteRequest> ParseWrite(const json::Value& json) {
  ArgReader args(json);
  v1::WriteRequest out;
  out.set_path(args.Take(PathField(json, "path", false)));
  std::string content = args.String("content", /*required=*/true);
  const bool base64 = args.Take(Base64Encoding(json));
  out.set_mode(args.Take(ModeArg(json)));
  out.set_append(args.Bool("append", false));
  out.set_create_parents(args.Bool("create_parents", true));
  if (!base64) {
    out.set_data(std::move(content));
  } else if (args.ok() && !absl::Base64Unescape(content, out.mutable_data())) {
    args.Fail(absl::InvalidArgumentError("args.content is not valid base64"));
  }
  return args.Finish(std::move(out));
}

absl::StatusOr<v1::ListRequest> ParseList(const json::Value& json) {
  ArgReader args(json);
  v1::ListRequest out;
  out.set_path(args.Take(PathField(json, "path", true)));
  out.set_depth(Capped(args.Uint("depth", 1), 1u << 20));
  out.set_max_entries(Capped(args.Uint("max_entries", 0), 1u << 30));
  return args.Finish(std::move(out));
}

absl::StatusOr<v1::StatRequest> ParseStat(const json::Value& json) {
  ArgReader args(json);
  v1::StatRequest out;
  out.set_path(args.Take(PathField(json, "path", true)));
  out.set_follow_symlinks(args.Bool("follow_symlinks", false));
  return args.Finish(std::move(out));
}

absl::StatusOr<v1::MakeDirRequest> ParseMakeDir(const json::Value& json) {
  ArgReader args(json);
  v1::MakeDirRequest out;
  out.set_path(args.Take(PathField(json, "path", false)));
  out.set_parents(args.Bool("parents", true));
  out.set_mode(args.Take(ModeArg(json)));
  return args.Finish(std::move(out));
}

absl::StatusOr<v1::RemoveRequest> ParseRemove(const json::Value& json) {
  ArgReader args(json);
  v1::RemoveRequest out;
  out.set_path(args.Take(PathField(json, "path", false)));
  out.set_recursive(args.Bool("recursive", false));
  return args.Finish(std::move(out));
}

absl::StatusOr<v1::MoveRequest> ParseMove(const json::Value& json) {
  ArgReader args(json);
  v1::MoveRequest out;
  out.set_source(args.Take(PathField(json, "source", false)));
  out.set_destination(args.Take(PathField(json, "destination", false)));
  out.set_overwrite(args.Bool("overwrite", false));
  out.set_create_parents(args.Bool("create_parents", false));
  return args.Finish(std::move(out));
}

absl::StatusOr<v1::GlobRequest> ParseGlob(const json::Value& json) {
  ArgReader args(json);
  v1::GlobRequest out;
  out.set_pattern(args.String("pattern", /*required=*/true));
  out.set_path(args.Take(PathField(json, "path", true)));
  out.set_max_entries(Capped(args.Uint("max_entries", 0), 1u << 30));
  return args.Finish(std::move(out));
}

// ------------------------------------------------------ running requests --

// What a tool answers with: `stdout`, and notes for stderr.
struct Output {
  Output() = default;
  explicit Output(std::string out) : out(std::move(out)) {}
  std::string out;
  std::string notes;
};

absl::StatusOr<Output> RunRead(const std::string& workdir, const ReadArgs& args) {
  const v1::ReadRequest& request = args.request;
  const std::string path = fs::Resolve(workdir, request.path());
  auto file = fs::OpenForRead(path);
  if (!file.ok()) return file.status();
  const uint64_t offset = request.offset();
  const uint64_t available = file->size > offset ? file->size - offset : 0;
  uint64_t want = request.length() == 0 ? available : std::min(request.length(), available);
  const bool cut = want > args.max_bytes;
  if (cut) want = args.max_bytes;
  std::string content(static_cast<size_t>(want), '\0');
  auto n = fs::ReadAt(file->fd.get(), content.data(), content.size(), offset, path);
  if (!n.ok()) return n.status();
  content.resize(*n);
  Output out;
  if (cut) {
    out.notes =
        absl::StrCat("[sagewai: fs.read returned ", *n, " of ", available, " bytes from offset ",
                     offset, "; read the rest with offset ", offset + *n, "]\n");
  }
  if (args.base64) {
    out.out = absl::Base64Escape(content);
    return out;
  }
  if (!fs::IsValidUtf8(content)) {
    out.notes +=
        "[sagewai: the content is not valid UTF-8; invalid bytes were replaced. "
        "Use encoding \"base64\" for the exact bytes]\n";
  }
  out.out = std::move(content);
  return out;
}

absl::StatusOr<Output> RunWrite(const std::string& workdir, const v1::WriteRequest& request) {
  fs::WriteOptions options;
  options.mode = request.mode();
  options.append = request.append();
  options.create_parents = request.create_parents();
  auto writer = fs::AtomicWriter::Open(fs::Resolve(workdir, request.path()), options);
  if (!writer.ok()) return writer.status();
  absl::Status st = (*writer)->Write(request.data());
  if (st.ok()) st = (*writer)->Sync();
  if (!st.ok()) return st;
  auto result = (*writer)->Publish();
  if (!result.ok()) return result.status();
  return Output{json::ObjectWriter()
                    .String("path", fs::DisplayName(result->path))
                    .Uint("bytes_written", result->bytes_written)
                    .String("sha256", result->sha256)
                    .String("data_sha256", result->data_sha256)
                    .Finish()};
}

absl::StatusOr<Output> RunList(const std::string& workdir, const v1::ListRequest& request) {
  v1::ListResponse response;
  absl::Status st = fs::List(fs::Resolve(workdir, request.path()), request.depth(),
                             request.max_entries(), &response);
  if (!st.ok()) return st;
  return Output{fs::EntriesJson(response.entries(), response.truncated())};
}

absl::StatusOr<Output> RunStat(const std::string& workdir, const v1::StatRequest& request) {
  auto info = fs::StatPath(fs::Resolve(workdir, request.path()), request.follow_symlinks());
  if (!info.ok()) return info.status();
  return Output{fs::FileInfoJson(*info)};
}

absl::StatusOr<Output> RunMakeDir(const std::string& workdir, const v1::MakeDirRequest& request) {
  const std::string path = fs::Resolve(workdir, request.path());
  v1::MakeDirResponse response;
  absl::Status st = fs::MakeDir(path, request.parents(), request.mode(), &response);
  if (!st.ok()) return st;
  return Output{json::ObjectWriter()
                    .String("path", fs::DisplayName(path))
                    .Bool("created", response.created())
                    .Finish()};
}

absl::StatusOr<Output> RunRemove(const std::string& workdir, const v1::RemoveRequest& request) {
  auto removed = fs::Remove(fs::Resolve(workdir, request.path()), request.recursive(), workdir);
  if (!removed.ok()) return removed.status();
  return Output{json::ObjectWriter().Uint("removed_entries", *removed).Finish()};
}

absl::StatusOr<Output> RunMove(const std::string& workdir, const v1::MoveRequest& request) {
  auto info =
      fs::Move(fs::Resolve(workdir, request.source()), fs::Resolve(workdir, request.destination()),
               request.overwrite(), request.create_parents());
  if (!info.ok()) return info.status();
  return Output{fs::FileInfoJson(*info)};
}

absl::StatusOr<Output> RunGlob(const std::string& workdir, const v1::GlobRequest& request) {
  v1::GlobResponse response;
  absl::Status st = fs::Glob(fs::Resolve(workdir, request.path()), request.pattern(),
                             request.max_entries(), &response);
  if (!st.ok()) return st;
  return Output{fs::EntriesJson(response.entries(), response.truncated())};
}

// ----------------------------------------------------------------- tools --

int64_t MillisSince(Clock::time_point started) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
}

// On failure ok is false, exit_code 1, and the message is in both `stderr`
// and `error`.
stdio::ToolResult Failed(const absl::Status& status, Clock::time_point started) {
  stdio::ToolResult r;
  r.exit_code = 1;
  r.error = std::string(status.message());
  r.stderr_data = absl::StrCat(status.message(), "\n");
  r.duration_ms = MillisSince(started);
  return r;
}

// Bad args (INVALID_ARGUMENT from `parse`) are -32602; a request that fails
// to run is a failed result, unless `run_checks_args`: then its
// INVALID_ARGUMENT means bad args too (Glob checks its own pattern).
template <typename Request>
stdio::ToolHandler Tool(const StdioToolOptions& options,
                        absl::StatusOr<Request> (*parse)(const json::Value&),
                        absl::StatusOr<Output> (*run)(const std::string&, const Request&),
                        bool run_checks_args = false) {
  return [options, parse, run, run_checks_args](
             const json::Value& args, absl::Duration) -> absl::StatusOr<stdio::ToolResult> {
    const auto started = Clock::now();
    absl::StatusOr<Request> request = parse(args);
    if (!request.ok()) return request.status();
    absl::StatusOr<Output> out = run(options.workdir, *request);
    if (!out.ok()) {
      if (run_checks_args && absl::IsInvalidArgument(out.status())) return out.status();
      return Failed(out.status(), started);
    }
    stdio::ToolResult r;
    r.exit_code = 0;
    r.stdout_data = std::move(out->out);
    r.stderr_data = std::move(out->notes);
    r.duration_ms = MillisSince(started);
    return r;
  };
}

}  // namespace

void RegisterFsTools(stdio::Dispatcher& dispatcher, const StdioToolOptions& options) {
  dispatcher.Register("fs.read", Tool(options, ParseRead, RunRead));
  dispatcher.Register("fs.write", Tool(options, ParseWrite, RunWrite));
  dispatcher.Register("fs.list", Tool(options, ParseList, RunList));
  dispatcher.Register("fs.stat", Tool(options, ParseStat, RunStat));
  dispatcher.Register("fs.mkdir", Tool(options, ParseMakeDir, RunMakeDir));
  dispatcher.Register("fs.remove", Tool(options, ParseRemove, RunRemove));
  dispatcher.Register("fs.move", Tool(options, ParseMove, RunMove));
  dispatcher.Register("fs.glob", Tool(options, ParseGlob, RunGlob, /*run_checks_args=*/true));
}

}  // namespace sagewai
