#include <ctime>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/exit_codes.h"
#include "cli/fs_session.h"
#include "common/fs_json.h"
#include "common/fs_path.h"

// fs ls and fs stat, and how entries are shown.

namespace sagewai::cli {

namespace pb = sagewai::sandbox::v1;

namespace {

std::string TimeText(int64_t unix_ms) {
  const time_t t = static_cast<time_t>(unix_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

}  // namespace

int FsSession::Ls() {
  pb::ListRequest req;
  SetPath(options_.paths.empty() ? "" : options_.paths[0], req.mutable_path(),
          req.mutable_path_bytes());
  req.set_depth(options_.depth);
  req.set_max_entries(options_.max_entries);
  pb::ListResponse listing;
  auto context = Context(false);
  grpc::Status status = stub_->List(context.get(), req, &listing);
  if (status.error_code() == grpc::FAILED_PRECONDITION &&
      absl::StrContains(status.error_message(), "Not a directory")) {
    // `ls FILE` shows the file.
    pb::StatRequest stat;
    stat.set_path(req.path());
    stat.set_path_bytes(req.path_bytes());
    auto stat_context = Context(false);
    status = stub_->Stat(stat_context.get(), stat, listing.add_entries());
    if (status.ok()) {
      pb::FileInfo& only = *listing.mutable_entries(0);
      only.set_name(only.path());
      only.set_name_bytes(only.path_bytes());
    }
  }
  if (!status.ok()) return Fail(status, "Filesystem.List");
  std::string out;
  if (options_.json) {
    out = fs::EntriesJson(listing.entries(), listing.truncated()) + "\n";
  } else {
    for (const pb::FileInfo& e : listing.entries()) out += FormatEntry(e) + "\n";
  }
  if (const int code = WriteStdout(out); code != kExitOk) return code;
  if (listing.truncated()) {
    fprintf(stderr, "sagewai-sandbox fs ls: only the first %d entries are shown (--max-entries)\n",
            listing.entries_size());
  }
  return kExitOk;
}

int FsSession::Stat() {
  pb::StatRequest req;
  SetPath(options_.paths[0], req.mutable_path(), req.mutable_path_bytes());
  req.set_follow_symlinks(options_.follow);
  pb::FileInfo info;
  auto context = Context(false);
  grpc::Status status = stub_->Stat(context.get(), req, &info);
  if (!status.ok()) return Fail(status, "Filesystem.Stat");
  const std::string out = options_.json ? fs::FileInfoJson(info) + "\n" : FormatStat(info);
  fputs(out.c_str(), stdout);
  return fflush(stdout) == 0 ? kExitOk : kExitIoErr;
}

std::string ModeString(const pb::FileInfo& info) {
  std::string s = "?---------";
  switch (info.type()) {
    case pb::FILE_TYPE_FILE:
      s[0] = '-';
      break;
    case pb::FILE_TYPE_DIRECTORY:
      s[0] = 'd';
      break;
    case pb::FILE_TYPE_SYMLINK:
      s[0] = 'l';
      break;
    case pb::FILE_TYPE_FIFO:
      s[0] = 'p';
      break;
    case pb::FILE_TYPE_SOCKET:
      s[0] = 's';
      break;
    case pb::FILE_TYPE_CHAR_DEVICE:
      s[0] = 'c';
      break;
    case pb::FILE_TYPE_BLOCK_DEVICE:
      s[0] = 'b';
      break;
    default:
      break;
  }
  const uint32_t m = info.mode();
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) {
    if (m & (0400u >> i)) s[1 + i] = rwx[i];
  }
  if (m & 04000) s[3] = (m & 0100) ? 's' : 'S';
  if (m & 02000) s[6] = (m & 0010) ? 's' : 'S';
  if (m & 01000) s[9] = (m & 0001) ? 't' : 'T';
  return s;
}

std::string FormatEntry(const pb::FileInfo& info) {
  std::string line = absl::StrFormat("%s %10u %s %s", ModeString(info), info.size(),
                                     TimeText(info.mtime_unix_ms()),
                                     fs::QuotePath(ExactPath(info.name(), info.name_bytes())));
  if (info.type() == pb::FILE_TYPE_SYMLINK) {
    absl::StrAppend(&line, " -> ",
                    fs::QuotePath(ExactPath(info.symlink_target(), info.symlink_target_bytes())));
  }
  return line;
}

std::string FormatStat(const pb::FileInfo& info) {
  std::string out = absl::StrCat("path: ", fs::QuotePath(ExactPath(info.path(), info.path_bytes())),
                                 "\ntype: ", fs::FileTypeName(info.type()), "\nsize: ", info.size(),
                                 "\nmode: ", absl::StrFormat("%04o", info.mode()), " (",
                                 ModeString(info), ")\nmodified: ", TimeText(info.mtime_unix_ms()),
                                 " UTC\nowner: uid ", info.uid(), ", gid ", info.gid(), "\n");
  if (info.type() == pb::FILE_TYPE_SYMLINK) {
    absl::StrAppend(&out, "target: ",
                    fs::QuotePath(ExactPath(info.symlink_target(), info.symlink_target_bytes())),
                    "\n");
  }
  return out;
}
}  // namespace sagewai::cli
