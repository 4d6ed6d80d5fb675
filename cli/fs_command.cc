#include "cli/fs_command.h"

#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/connection.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "cli/fs_session.h"

namespace sagewai::cli {

const char kFsHelp[] =
    R"(usage: sagewai-sandbox fs COMMAND [OPTIONS] ARGS

Files in the sandbox through the runner's Filesystem service. Relative
sandbox paths are relative to its work directory (/workspace).

Commands:
  put LOCAL REMOTE   copy a local file (LOCAL "-": standard input) into the
                     sandbox, streaming; missing directories are created; the
                     write is atomic and checked end to end with SHA-256
      --mode OCTAL   permission bits (default: keep REMOTE's, 0644 if new)
      --append       add to the end of REMOTE (still atomic)
      --no-parents   fail when REMOTE's directory does not exist
  cat REMOTE         write a sandbox file to standard output, streaming
      --offset N     start at byte N      --length N   at most N bytes
  ls [PATH]          list a directory (default: the work directory); a file
                     is shown by itself
      --depth N      N levels down (default 1)
      --max-entries N  stop after N entries (default: the runner's, 10000)
      --json         one JSON object with exact names
  stat PATH          show one entry; -L, --follow: a symlink's target
      --json         one JSON object
  mkdir PATH         make a directory and any missing parents
      --mode OCTAL   permission bits (default 0755)
  rm [-r] PATH       remove a file, a symlink (never its target) or an empty
                     directory; -r, --recursive for one with contents
  mv FROM TO         rename or move, across filesystems too; missing
                     directories of TO are created
      -f, --force    replace an existing TO (default: refuse)

Options of every command:
  --sandbox ID       a sandbox made by `sagewai-sandbox start` (its socket and
                     token; default: $SAGEWAI_SANDBOX)
  --addr ADDR        the runner, as for exec (default: $SAGEWAI_RUNNER_ADDR,
                     else unix:///run/sagewai/tool-runner.sock)
  --token-file FILE  the sandbox's SESSION_TOKEN (default: $SAGEWAI_RUNNER_TOKEN)
  --timeout SECONDS  give up after this long (default: none for put and cat,
                     60 for the others)
  -h, --help         show this help

ls writes control characters and bytes that are not UTF-8 as \n, \t and
\xNN, so that each entry is one line; --json carries the exact names
(name_base64 for names that are not UTF-8). Paths given here are passed on
byte for byte.

Exit status: 0 on success; 1 when the sandbox refused the operation (no such
file, permission denied, exists, not empty, no space; the runner's message is
on stderr); 74 when a local file cannot be read or standard output cannot be
written; 70 when the checksums of put disagree; otherwise as for exec: 2
usage, 65 request refused, 69 runner unreachable, 75 deadline exceeded or
runner busy, 76 runner too old, 77 token rejected, 78 bad token file.
)";

namespace {

std::optional<uint64_t> ParseCount(const std::string& text) {
  uint64_t v;
  if (!absl::SimpleAtoi(text, &v)) return std::nullopt;
  return v;
}

struct VerbSpec {
  const char* name;
  size_t min_paths, max_paths;
  std::vector<FlagSpec> flags;
};

const std::vector<VerbSpec>& Verbs() {
  static const auto* verbs = new std::vector<VerbSpec>{
      {"put", 2, 2, {{"mode", true}, {"append", false}, {"no-parents", false}}},
      {"cat", 1, 1, {{"offset", true}, {"length", true}}},
      {"ls", 0, 1, {{"depth", true}, {"max-entries", true}, {"json", false}}},
      {"stat", 1, 1, {{"follow", false, 'L'}, {"json", false}}},
      {"mkdir", 1, 1, {{"mode", true}}},
      {"rm", 1, 1, {{"recursive", false, 'r'}}},
      {"mv", 2, 2, {{"force", false, 'f'}, {"no-parents", false}}},
  };
  return *verbs;
}

}  // namespace

std::optional<uint32_t> ParseOctalMode(const std::string& text) {
  if (text.empty() || text.size() > 5 || text.find_first_not_of("01234567") != std::string::npos) {
    return std::nullopt;
  }
  uint32_t mode = 0;
  for (char c : text) mode = mode * 8 + static_cast<uint32_t>(c - '0');
  if (mode > 07777) return std::nullopt;
  return mode;
}

absl::StatusOr<FsOptions> ParseFsArgs(const std::vector<std::string>& args) {
  FsOptions o;
  // --addr, --token-file and --timeout may also come before the command.
  std::vector<std::string> leading;
  size_t at = 0;
  while (at < args.size() && args[at].size() > 2 && args[at].rfind("--", 0) == 0 &&
         args[at] != "--help") {
    leading.push_back(args[at]);
    const bool takes_value =
        args[at] == "--addr" || args[at] == "--token-file" || args[at] == "--timeout";
    if (takes_value && at + 1 < args.size()) leading.push_back(args[++at]);
    ++at;
  }
  if (at >= args.size()) {
    return absl::InvalidArgumentError("which command? put, cat, ls, stat, mkdir, rm, mv");
  }
  o.verb = args[at];
  if (o.verb == "-h" || o.verb == "--help" || o.verb == "help") {
    o.help = true;
    return o;
  }
  const VerbSpec* verb = nullptr;
  for (const VerbSpec& v : Verbs()) {
    if (o.verb == v.name) verb = &v;
  }
  if (verb == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown command \"", o.verb, "\" (commands: put, cat, ls, stat, mkdir, rm, mv)"));
  }
  std::vector<FlagSpec> specs = verb->flags;
  specs.push_back({"addr", true});
  specs.push_back({"token-file", true});
  specs.push_back({"timeout", true});
  specs.push_back({"help", false, 'h'});
  std::vector<std::string> rest(args.begin() + static_cast<ptrdiff_t>(at) + 1, args.end());
  rest.insert(rest.begin(), leading.begin(), leading.end());
  auto parsed = ParseArgs(rest, specs, PositionalMode::kInterleaved);
  if (!parsed.ok()) return parsed.status();
  if (parsed->Has("help")) {
    o.help = true;
    return o;
  }
  o.paths = parsed->positionals;
  if (o.paths.size() < verb->min_paths || o.paths.size() > verb->max_paths) {
    static const char* kUsage[][2] = {{"put", "put LOCAL REMOTE"}, {"cat", "cat REMOTE"},
                                      {"ls", "ls [PATH]"},         {"stat", "stat PATH"},
                                      {"mkdir", "mkdir PATH"},     {"rm", "rm [-r] PATH"},
                                      {"mv", "mv FROM TO"}};
    std::string usage;
    for (const auto& u : kUsage) {
      if (o.verb == u[0]) usage = u[1];
    }
    return absl::InvalidArgumentError(absl::StrCat("usage: sagewai-sandbox fs ", usage));
  }
  for (const std::string& p : o.paths) {
    if (p.empty()) return absl::InvalidArgumentError("a path is empty");
  }
  o.addr = parsed->Last("addr");
  o.token_file = parsed->Last("token-file");
  if (auto t = parsed->Last("timeout")) {
    double seconds;
    if (!absl::SimpleAtod(*t, &seconds) || !(seconds > 0) || !std::isfinite(seconds)) {
      return absl::InvalidArgumentError("--timeout takes a positive number of seconds");
    }
    o.timeout = absl::Seconds(seconds);
  }
  if (auto m = parsed->Last("mode")) {
    auto mode = ParseOctalMode(*m);
    if (!mode) return absl::InvalidArgumentError("--mode takes octal permission bits, e.g. 0644");
    o.mode = *mode;
  }
  o.json = parsed->Has("json");
  o.recursive = parsed->Has("recursive");
  o.force = parsed->Has("force");
  o.append = parsed->Has("append");
  o.parents = !parsed->Has("no-parents");
  o.follow = parsed->Has("follow");
  struct {
    const char* flag;
    uint64_t max;
    std::function<void(uint64_t)> set;
  } counts[] = {
      {"depth", 128, [&](uint64_t v) { o.depth = static_cast<uint32_t>(v); }},
      {"max-entries", 100000, [&](uint64_t v) { o.max_entries = static_cast<uint32_t>(v); }},
      {"offset", UINT64_MAX, [&](uint64_t v) { o.offset = v; }},
      {"length", UINT64_MAX, [&](uint64_t v) { o.length = v; }},
  };
  for (const auto& c : counts) {
    auto text = parsed->Last(c.flag);
    if (!text) continue;
    auto v = ParseCount(*text);
    if (!v || *v > c.max || (*v == 0 && std::string(c.flag) == "depth")) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", c.flag, " takes a number", c.max < UINT64_MAX ? " up to " : "",
                       c.max < UINT64_MAX ? std::to_string(c.max) : ""));
    }
    c.set(*v);
  }
  return o;
}
int RunFsCommand(const std::vector<std::string>& args) {
  absl::StatusOr<FsOptions> options = ParseFsArgs(args);
  if (!options.ok()) {
    fprintf(stderr, "sagewai-sandbox fs: %s (see sagewai-sandbox fs --help)\n",
            std::string(options.status().message()).c_str());
    return kExitUsage;
  }
  if (options->help) {
    fputs(kFsHelp, stdout);
    return kExitOk;
  }
  int exit_code = kExitOk;
  std::unique_ptr<Connection> connection =
      ConnectOrReport(options->addr, options->token_file, &exit_code);
  if (!connection) return exit_code;
  FsSession session(*connection, *options);
  return session.Run();
}

}  // namespace sagewai::cli
