#include "cli/fs_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "cli/connection.h"
#include "cli/exit_codes.h"
#include "cli/flags.h"
#include "common/sha256.h"
#include "sagewai/sandbox/v1/sandbox.grpc.pb.h"
#include "common/fs_json.h"
#include "common/fs_path.h"

namespace sagewai::cli {

namespace pb = sagewai::sandbox::v1;

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

constexpr size_t kChunk = 1 << 20;
constexpr int kExitFsRefused = 1;
constexpr int kExitBrokenPipe = 128 + 13;
constexpr absl::Duration kConnectTimeout = absl::Seconds(10);
constexpr absl::Duration kUnaryTimeout = absl::Seconds(60);

std::optional<uint64_t> ParseCount(const std::string& text) {
  uint64_t v;
  if (!absl::SimpleAtoi(text, &v)) return std::nullopt;
  return v;
}

// A path field and its bytes twin: the string when it is UTF-8.
void SetPath(const std::string& path, std::string* text, std::string* bytes) {
  if (fs::IsValidUtf8(path)) {
    *text = path;
  } else {
    *bytes = path;
  }
}

// Writes all of `data`; false with errno set on failure.
bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Fills `buf` from `fd` until it is full or EOF (so a short result means
// EOF, and a pipe still gives whole messages). The bytes read, or -1.
ssize_t ReadFull(int fd, char* buf, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = read(fd, buf + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

std::string TimeText(int64_t unix_ms) {
  const time_t t = static_cast<time_t>(unix_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

const std::string& Exact(const std::string& text, const std::string& bytes) {
  return bytes.empty() ? text : bytes;
}

// Hashes pieces in order on its own thread, so that hashing overlaps reading
// the file and sending it. Callers keep each piece's bytes unchanged until
// Pending() says its hash is done.
class BackgroundHash {
 public:
  BackgroundHash() : thread_([this] { Loop(); }) {}
  ~BackgroundHash() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void Add(const char* data, size_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.emplace_back(data, size);
    cv_.notify_all();
  }
  // Waits until at most `n` pieces are queued or being hashed.
  void WaitForPending(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() + (busy_ ? 1 : 0) <= n; });
  }
  std::string FinishHex() {
    WaitForPending(0);
    return hash_.FinishHex();
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      auto [data, size] = queue_.front();
      queue_.pop_front();
      busy_ = true;
      lock.unlock();
      hash_.Update(data, size);
      lock.lock();
      busy_ = false;
      cv_.notify_all();
    }
  }

  Sha256 hash_;  // touched by the thread only, until FinishHex
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<const char*, size_t>> queue_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread thread_;
};

class FsSession {
 public:
  FsSession(const Connection& connection, const FsOptions& options)
      : connection_(connection),
        options_(options),
        stub_(pb::Filesystem::NewStub(connection.channel())) {}

  int Run();

 private:
  int Put();
  int Cat();
  int Ls();
  int Stat();
  int MakeDir();
  int Rm();
  int Mv();

  std::unique_ptr<grpc::ClientContext> Context(bool streaming) const {
    std::optional<absl::Duration> timeout = options_.timeout;
    if (!timeout && !streaming) timeout = kUnaryTimeout;
    return connection_.NewContext(timeout);
  }
  // One line on stderr; the exit code for `status`.
  int Fail(const grpc::Status& status, absl::string_view method) const;
  int LocalError(const std::string& what) const {
    fprintf(stderr, "sagewai-sandbox fs %s: %s\n", options_.verb.c_str(), what.c_str());
    return kExitIoErr;
  }

  const Connection& connection_;
  const FsOptions& options_;
  std::unique_ptr<pb::Filesystem::Stub> stub_;
};

int FsSession::Fail(const grpc::Status& status, absl::string_view method) const {
  const grpc::StatusCode code = status.error_code();
  const bool busy = code == grpc::RESOURCE_EXHAUSTED &&
                    absl::StrContains(status.error_message(), "too many calls");
  const bool refused =
      !busy && (code == grpc::NOT_FOUND || code == grpc::ALREADY_EXISTS ||
                code == grpc::FAILED_PRECONDITION || code == grpc::PERMISSION_DENIED ||
                code == grpc::RESOURCE_EXHAUSTED || code == grpc::OUT_OF_RANGE);
  if (refused) {
    std::string message = absl::StrReplaceAll(
        status.error_message(),
        {{"(set `recursive` to remove it with its contents)",
          "(use -r to remove it with its contents)"},
         {"(set `create_parents` to create it)", "(leave out --no-parents to create it)"}});
    fprintf(stderr, "sagewai-sandbox fs %s: %s\n", options_.verb.c_str(), message.c_str());
    return kExitFsRefused;
  }
  CliError e = connection_.Describe(status, method, options_.timeout);
  fprintf(stderr, "sagewai-sandbox fs %s: %s\n", options_.verb.c_str(), e.message.c_str());
  return e.exit_code;
}

int FsSession::Run() {
  if (!connection_.WaitForConnection(kConnectTimeout)) {
    fprintf(stderr,
            "sagewai-sandbox fs %s: cannot reach the runner at %s: no connection within %lld s "
            "— is the sandbox running? is the address right?\n",
            options_.verb.c_str(), connection_.address().text.c_str(),
            static_cast<long long>(absl::ToInt64Seconds(kConnectTimeout)));
    return kExitUnavailable;
  }
  const std::string& v = options_.verb;
  if (v == "put") return Put();
  if (v == "cat") return Cat();
  if (v == "ls") return Ls();
  if (v == "stat") return Stat();
  if (v == "mkdir") return MakeDir();
  if (v == "rm") return Rm();
  return Mv();
}

int FsSession::Put() {
  const std::string& local = options_.paths[0];
  int fd = STDIN_FILENO;
  if (local != "-") {
    fd = open(local.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return LocalError(absl::StrCat("cannot read ", local, ": ", strerror(errno)));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      close(fd);
      return LocalError(absl::StrCat("cannot send ", local, ": it is a directory"));
    }
  }
  auto context = Context(/*streaming=*/true);
  pb::WriteResponse response;
  auto writer = stub_->Write(context.get(), &response);
  pb::WriteRequest msg;
  SetPath(options_.paths[1], msg.mutable_path(), msg.mutable_path_bytes());
  msg.set_mode(options_.mode);
  msg.set_append(options_.append);
  msg.set_create_parents(options_.parents);
  // Two buffers: one is read into and sent while the other may still be
  // hashing. Each is swapped into the message for Write (no copy).
  std::string bufs[2];
  BackgroundHash hash;
  uint64_t sent = 0;
  int read_errno = 0;
  for (int i = 0;; ++i) {
    std::string& buf = bufs[i % 2];
    hash.WaitForPending(1);  // the hash of what `buf` held is done
    buf.resize(kChunk);
    const ssize_t n = ReadFull(fd, buf.data(), kChunk);
    if (n < 0) {
      read_errno = errno;
      break;
    }
    buf.resize(static_cast<size_t>(n));
    if (n == 0 && i > 0) break;
    hash.Add(buf.data(), buf.size());
    sent += static_cast<uint64_t>(n);
    msg.mutable_data()->swap(buf);
    const bool ok = writer->Write(msg);
    msg.mutable_data()->swap(buf);
    // A failed Write means the runner ended the call: Finish says why.
    if (!ok) break;
    if (i == 0) msg.Clear();
    if (static_cast<size_t>(n) < kChunk) break;  // ReadFull stops short only at EOF
  }
  if (fd != STDIN_FILENO) close(fd);
  if (read_errno != 0) {
    // The runner drops what it got: the remote file stays as it was.
    context->TryCancel();
    writer->Finish();
    return LocalError(absl::StrCat("cannot read ", local == "-" ? "standard input" : local, ": ",
                                   strerror(read_errno), " (", options_.paths[1],
                                   " was left as it was)"));
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return Fail(status, "Filesystem.Write");
  const std::string sent_sha = hash.FinishHex();
  const std::string& stored_sha = options_.append ? response.data_sha256() : response.sha256();
  if (response.bytes_written() != sent || stored_sha != sent_sha) {
    fprintf(stderr,
            "sagewai-sandbox fs put: checksum mismatch: sent %llu bytes with sha256 %s, the "
            "runner stored %llu bytes with sha256 %s — do not trust %s; send it again\n",
            static_cast<unsigned long long>(sent), sent_sha.c_str(),
            static_cast<unsigned long long>(response.bytes_written()), stored_sha.c_str(),
            options_.paths[1].c_str());
    return kExitSoftware;
  }
  return kExitOk;
}

int FsSession::Cat() {
  pb::ReadRequest req;
  SetPath(options_.paths[0], req.mutable_path(), req.mutable_path_bytes());
  req.set_offset(options_.offset);
  req.set_length(options_.length);
  auto context = Context(/*streaming=*/true);
  auto reader = stub_->Read(context.get(), req);
  pb::ReadChunk chunk;
  while (reader->Read(&chunk)) {
    if (!WriteAll(STDOUT_FILENO, chunk.data().data(), chunk.data().size())) {
      const int err = errno;
      context->TryCancel();
      while (reader->Read(&chunk)) {
      }
      reader->Finish();
      // A reader that stopped early (| head) is not an error to report.
      if (err == EPIPE) return kExitBrokenPipe;
      return LocalError(absl::StrCat("cannot write to standard output: ", strerror(err)));
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return Fail(status, "Filesystem.Read");
  return kExitOk;
}

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
  if (!WriteAll(STDOUT_FILENO, out.data(), out.size())) {
    if (errno == EPIPE) return kExitBrokenPipe;
    return LocalError(absl::StrCat("cannot write to standard output: ", strerror(errno)));
  }
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

int FsSession::MakeDir() {
  pb::MakeDirRequest req;
  SetPath(options_.paths[0], req.mutable_path(), req.mutable_path_bytes());
  req.set_parents(true);
  req.set_mode(options_.mode);
  pb::MakeDirResponse resp;
  auto context = Context(false);
  grpc::Status status = stub_->MakeDir(context.get(), req, &resp);
  return status.ok() ? kExitOk : Fail(status, "Filesystem.MakeDir");
}

int FsSession::Rm() {
  pb::RemoveRequest req;
  SetPath(options_.paths[0], req.mutable_path(), req.mutable_path_bytes());
  req.set_recursive(options_.recursive);
  pb::RemoveResponse resp;
  auto context = Context(false);
  grpc::Status status = stub_->Remove(context.get(), req, &resp);
  return status.ok() ? kExitOk : Fail(status, "Filesystem.Remove");
}

int FsSession::Mv() {
  pb::MoveRequest req;
  SetPath(options_.paths[0], req.mutable_source(), req.mutable_source_bytes());
  SetPath(options_.paths[1], req.mutable_destination(), req.mutable_destination_bytes());
  req.set_overwrite(options_.force);
  req.set_create_parents(options_.parents);
  pb::MoveResponse resp;
  auto context = Context(false);
  grpc::Status status = stub_->Move(context.get(), req, &resp);
  return status.ok() ? kExitOk : Fail(status, "Filesystem.Move");
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
                                     fs::QuotePath(Exact(info.name(), info.name_bytes())));
  if (info.type() == pb::FILE_TYPE_SYMLINK) {
    absl::StrAppend(&line, " -> ",
                    fs::QuotePath(Exact(info.symlink_target(), info.symlink_target_bytes())));
  }
  return line;
}

std::string FormatStat(const pb::FileInfo& info) {
  std::string out = absl::StrCat("path: ", fs::QuotePath(Exact(info.path(), info.path_bytes())),
                                 "\ntype: ", fs::FileTypeName(info.type()), "\nsize: ", info.size(),
                                 "\nmode: ", absl::StrFormat("%04o", info.mode()), " (",
                                 ModeString(info), ")\nmodified: ", TimeText(info.mtime_unix_ms()),
                                 " UTC\nowner: uid ", info.uid(), ", gid ", info.gid(), "\n");
  if (info.type() == pb::FILE_TYPE_SYMLINK) {
    absl::StrAppend(&out, "target: ",
                    fs::QuotePath(Exact(info.symlink_target(), info.symlink_target_bytes())), "\n");
  }
  return out;
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
  CliError error;
  std::unique_ptr<Connection> connection =
      ConnectFromFlags(options->addr, options->token_file, &error);
  if (!connection) {
    fprintf(stderr, "%s\n", error.message.c_str());
    return error.exit_code;
  }
  FsSession session(*connection, *options);
  return session.Run();
}

}  // namespace sagewai::cli
