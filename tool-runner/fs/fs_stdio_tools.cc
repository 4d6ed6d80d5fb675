#include "tool-runner/fs/fs_stdio_tools.h"

#include <chrono>
#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/json_writer.h"
#include "tool-runner/fs/fs_glob.h"
#include "common/fs_json.h"
#include "tool-runner/fs/fs_ops.h"
#include "common/fs_path.h"
#include "tool-runner/fs/fs_write.h"

namespace sagewai {
namespace {

namespace v1 = ::sagewai::sandbox::v1;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------- args --

absl::StatusOr<std::string> StringArg(const json::Value& args, absl::string_view key, bool required,
                                      std::string fallback = "") {
  const json::Value* v = args.Find(key);
  if (v == nullptr || v->is_null()) {
    if (required) return absl::InvalidArgumentError(absl::StrCat("args.", key, " is required"));
    return fallback;
  }
  auto s = v->AsString();
  if (!s.has_value())
    return absl::InvalidArgumentError(absl::StrCat("args.", key, " must be a string"));
  return std::string(*s);
}

absl::StatusOr<bool> BoolArg(const json::Value& args, absl::string_view key, bool fallback) {
  const json::Value* v = args.Find(key);
  if (v == nullptr || v->is_null()) return fallback;
  auto b = v->AsBool();
  if (!b.has_value())
    return absl::InvalidArgumentError(absl::StrCat("args.", key, " must be a boolean"));
  return *b;
}

absl::StatusOr<uint64_t> UintArg(const json::Value& args, absl::string_view key,
                                 uint64_t fallback) {
  const json::Value* v = args.Find(key);
  if (v == nullptr || v->is_null()) return fallback;
  auto i = v->AsInt();
  if (!i.has_value() || *i < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("args.", key, " must be a non-negative integer"));
  }
  return static_cast<uint64_t>(*i);
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

absl::StatusOr<std::string> PathArg(const StdioToolOptions& options, const json::Value& args,
                                    absl::string_view key, bool allow_empty) {
  auto text = StringArg(args, key, !allow_empty);
  if (!text.ok()) return text.status();
  auto path = fs::PathArg(absl::StrCat("args.", key), *text, "", allow_empty);
  if (!path.ok()) return path.status();
  return fs::Resolve(options.workdir, *path);
}

// ------------------------------------------------------------- results --

stdio::ToolResult Ok(std::string out, Clock::time_point started) {
  stdio::ToolResult r;
  r.exit_code = 0;
  r.stdout_data = std::move(out);
  r.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  return r;
}

stdio::ToolResult Failed(const absl::Status& status, Clock::time_point started) {
  stdio::ToolResult r;
  r.exit_code = 1;
  r.error = std::string(status.message());
  r.stderr_data = absl::StrCat(status.message(), "\n");
  r.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  return r;
}

// --------------------------------------------------------------- tools --

using Handler =
    std::function<absl::StatusOr<stdio::ToolResult>(const json::Value&, absl::Duration)>;

Handler ReadTool(const StdioToolOptions& options) {
  return [options](const json::Value& args, absl::Duration) -> absl::StatusOr<stdio::ToolResult> {
    const auto started = Clock::now();
    auto path = PathArg(options, args, "path", false);
    if (!path.ok()) return path.status();
    auto offset = UintArg(args, "offset", 0);
    if (!offset.ok()) return offset.status();
    auto length = UintArg(args, "length", 0);
    if (!length.ok()) return length.status();
    auto max_bytes = UintArg(args, "max_bytes", kStdioMaxReadBytes);
    if (!max_bytes.ok()) return max_bytes.status();
    auto base64 = Base64Encoding(args);
    if (!base64.ok()) return base64.status();

    auto file = fs::OpenForRead(*path);
    if (!file.ok()) return Failed(file.status(), started);
    const uint64_t available = file->size > *offset ? file->size - *offset : 0;
    uint64_t want = *length == 0 ? available : std::min(*length, available);
    const bool cut = want > *max_bytes;
    if (cut) want = *max_bytes;
    std::string content(static_cast<size_t>(want), '\0');
    auto n = fs::ReadAt(file->fd.get(), content.data(), content.size(), *offset, *path);
    if (!n.ok()) return Failed(n.status(), started);
    content.resize(*n);
    std::string note;
    if (cut) {
      note =
          absl::StrCat("[sagewai: fs.read returned ", *n, " of ", available, " bytes from offset ",
                       *offset, "; read the rest with offset ", *offset + *n, "]\n");
    }
    stdio::ToolResult r;
    if (*base64) {
      r = Ok(absl::Base64Escape(content), started);
    } else {
      if (!fs::IsValidUtf8(content)) {
        note +=
            "[sagewai: the content is not valid UTF-8; invalid bytes were replaced. "
            "Use encoding \"base64\" for the exact bytes]\n";
      }
      r = Ok(std::move(content), started);
    }
    r.stderr_data = note;
    return r;
  };
}

Handler WriteTool(const StdioToolOptions& options) {
  return [options](const json::Value& args, absl::Duration) -> absl::StatusOr<stdio::ToolResult> {
    const auto started = Clock::now();
    auto path = PathArg(options, args, "path", false);
    if (!path.ok()) return path.status();
    auto content = StringArg(args, "content", true);
    if (!content.ok()) return content.status();
    auto base64 = Base64Encoding(args);
    if (!base64.ok()) return base64.status();
    fs::WriteOptions wo;
    auto mode = ModeArg(args);
    if (!mode.ok()) return mode.status();
    wo.mode = *mode;
    auto append = BoolArg(args, "append", false);
    if (!append.ok()) return append.status();
    wo.append = *append;
    auto parents = BoolArg(args, "create_parents", true);
    if (!parents.ok()) return parents.status();
    wo.create_parents = *parents;
    std::string data;
    if (*base64) {
      if (!absl::Base64Unescape(*content, &data)) {
        return absl::InvalidArgumentError("args.content is not valid base64");
      }
    } else {
      data = std::move(*content);
    }
    auto writer = fs::AtomicWriter::Open(*path, wo);
    if (!writer.ok()) return Failed(writer.status(), started);
    absl::Status st = (*writer)->Write(data);
    if (st.ok()) st = (*writer)->Sync();
    if (!st.ok()) return Failed(st, started);
    auto result = (*writer)->Publish();
    if (!result.ok()) return Failed(result.status(), started);
    return Ok(json::ObjectWriter()
                  .String("path", fs::DisplayName(result->path))
                  .Uint("bytes_written", result->bytes_written)
                  .String("sha256", result->sha256)
                  .String("data_sha256", result->data_sha256)
                  .Finish(),
              started);
  };
}

Handler ListTool(const StdioToolOptions& options) {
  return [options](const json::Value& args, absl::Duration) -> absl::StatusOr<stdio::ToolResult> {
    const auto started = Clock::now();
    auto path = PathArg(options, args, "path", true);
    if (!path.ok()) return path.status();
    auto depth = UintArg(args, "depth", 1);
    if (!depth.ok()) return depth.status();
    auto max_entries = UintArg(args, "max_entries", 0);
    if (!max_entries.ok()) return max_entries.status();
    v1::ListResponse out;
    absl::Status st =
        fs::List(*path, static_cast<uint32_t>(std::min<uint64_t>(*depth, 1u << 20)),
                 static_cast<uint32_t>(std::min<uint64_t>(*max_entries, 1u << 30)), &out);
    if (!st.ok()) return Failed(st, started);
    return Ok(fs::EntriesJson(out.entries(), out.truncated()), started);
  };
}

Handler StatTool(const StdioToolOptions& options) {
  return [options](const json::Value& args, absl::Duration) -> absl::StatusOr<stdio::ToolResult> {
    const auto started = Clock::now();
    auto path = PathArg(options, args, "path", true);
    if (!path.ok()) return path.status();
    auto follow = BoolArg(args, "follow_symlinks", false);
    if (!follow.ok()) return follow.status();
    auto info = fs::StatPath(*path, *follow);
    if (!info.ok()) return Failed(info.status(), started);
    return Ok(fs::FileInfoJson(*info), started);
  };
}

Handler MakeDirTool(const StdioToolOptions& options) {
  return [options](const json::Value& args, absl::Duration) -> absl::StatusOr<stdio::ToolResult> {
    const auto started = Clock::now();
    auto path = PathArg(options, args, "path", false);
    if (!path.ok()) return path.status();
    auto parents = BoolArg(args, "parents", true);
    if (!parents.ok()) return parents.status();
    auto mode = ModeArg(args);
    if (!mode.ok()) return mode.status();
    v1::MakeDirResponse out;
    absl::Status st = fs::MakeDir(*path, *parents, *mode, &out);
    if (!st.ok()) return Failed(st, started);
    return Ok(json::ObjectWriter()
                  .String("path", fs::DisplayName(*path))
                  .Bool("created", out.created())
                  .Finish(),
              started);
  };
}

Handler RemoveTool(const StdioToolOptions& options) {
  return [options](const json::Value& args, absl::Duration) -> absl::StatusOr<stdio::ToolResult> {
    const auto started = Clock::now();
    auto path = PathArg(options, args, "path", false);
    if (!path.ok()) return path.status();
    auto recursive = BoolArg(args, "recursive", false);
    if (!recursive.ok()) return recursive.status();
    auto removed = fs::Remove(*path, *recursive, options.workdir);
    if (!removed.ok()) return Failed(removed.status(), started);
    return Ok(json::ObjectWriter().Uint("removed_entries", *removed).Finish(), started);
  };
}

Handler MoveTool(const StdioToolOptions& options) {
  return [options](const json::Value& args, absl::Duration) -> absl::StatusOr<stdio::ToolResult> {
    const auto started = Clock::now();
    auto source = PathArg(options, args, "source", false);
    if (!source.ok()) return source.status();
    auto destination = PathArg(options, args, "destination", false);
    if (!destination.ok()) return destination.status();
    auto overwrite = BoolArg(args, "overwrite", false);
    if (!overwrite.ok()) return overwrite.status();
    auto parents = BoolArg(args, "create_parents", false);
    if (!parents.ok()) return parents.status();
    auto info = fs::Move(*source, *destination, *overwrite, *parents);
    if (!info.ok()) return Failed(info.status(), started);
    return Ok(fs::FileInfoJson(*info), started);
  };
}

Handler GlobTool(const StdioToolOptions& options) {
  return [options](const json::Value& args, absl::Duration) -> absl::StatusOr<stdio::ToolResult> {
    const auto started = Clock::now();
    auto pattern = StringArg(args, "pattern", true);
    if (!pattern.ok()) return pattern.status();
    auto path = PathArg(options, args, "path", true);
    if (!path.ok()) return path.status();
    auto max_entries = UintArg(args, "max_entries", 0);
    if (!max_entries.ok()) return max_entries.status();
    v1::GlobResponse out;
    absl::Status st = fs::Glob(
        *path, *pattern, static_cast<uint32_t>(std::min<uint64_t>(*max_entries, 1u << 30)), &out);
    if (st.code() == absl::StatusCode::kInvalidArgument) return st;
    if (!st.ok()) return Failed(st, started);
    return Ok(fs::EntriesJson(out.entries(), out.truncated()), started);
  };
}

}  // namespace

void RegisterFsTools(stdio::Dispatcher& dispatcher, const StdioToolOptions& options) {
  dispatcher.Register("fs.read", ReadTool(options));
  dispatcher.Register("fs.write", WriteTool(options));
  dispatcher.Register("fs.list", ListTool(options));
  dispatcher.Register("fs.stat", StatTool(options));
  dispatcher.Register("fs.mkdir", MakeDirTool(options));
  dispatcher.Register("fs.remove", RemoveTool(options));
  dispatcher.Register("fs.move", MoveTool(options));
  dispatcher.Register("fs.glob", GlobTool(options));
}

}  // namespace sagewai
