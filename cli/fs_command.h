// `sagewai-sandbox fs`: files in the sandbox over the runner's Filesystem
// service — put, cat, ls, stat, mkdir, rm, mv. Transfers stream in 1 MiB
// pieces (a file is never held in memory whole), and `put` compares the
// runner's SHA-256 of what it stored with its own of what it sent.
#ifndef SAGEWAI_CLI_FS_COMMAND_H_
#define SAGEWAI_CLI_FS_COMMAND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sagewai/sandbox/v1/sandbox.pb.h"

namespace sagewai::cli {

extern const char kFsHelp[];

struct FsOptions {
  std::string verb;  // put, cat, ls, stat, mkdir, rm, mv
  std::vector<std::string> paths;
  std::optional<std::string> addr;
  std::optional<std::string> token_file;
  std::optional<absl::Duration> timeout;
  bool help = false;
  bool json = false;
  bool recursive = false;    // rm -r
  bool force = false;        // mv -f: replace the destination
  bool append = false;       // put --append
  bool parents = true;       // put, mv: create missing directories
  bool follow = false;       // stat -L
  uint32_t mode = 0;         // put, mkdir --mode
  uint32_t depth = 1;        // ls --depth
  uint32_t max_entries = 0;  // ls --max-entries
  uint64_t offset = 0;       // cat --offset
  uint64_t length = 0;       // cat --length
};

// InvalidArgument with a message for the user on a bad command line.
absl::StatusOr<FsOptions> ParseFsArgs(const std::vector<std::string>& args);

// "0644", "644" or "4755" -> the bits; nullopt for anything else.
std::optional<uint32_t> ParseOctalMode(const std::string& text);

// "drwxr-xr-x", "-rw-r--r--", "lrwxrwxrwx", with s/t bits as ls shows them.
std::string ModeString(const sagewai::sandbox::v1::FileInfo& info);

// One `ls` line: mode, size, mtime (UTC), name (control characters and
// bytes that are not UTF-8 escaped, so one entry is one line), and
// " -> target" for symlinks.
std::string FormatEntry(const sagewai::sandbox::v1::FileInfo& info);

// `stat` output: one "key: value" per line.
std::string FormatStat(const sagewai::sandbox::v1::FileInfo& info);

// The whole subcommand; returns the process exit code.
int RunFsCommand(const std::vector<std::string>& args);

}  // namespace sagewai::cli

#endif  // SAGEWAI_CLI_FS_COMMAND_H_
