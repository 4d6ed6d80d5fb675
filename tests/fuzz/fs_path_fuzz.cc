// Filesystem path resolution (common/fs_path). The runner checks nothing
// about where a path leads: it resolves a request path against the work
// directory as text and leaves "..", symlinks and permissions to the kernel,
// acting as the agent user. So "no escape beyond what the agent may reach"
// means: the path the runner opens names exactly what the agent itself
// would reach with the same path from the work directory. The fuzzer checks
// that against the kernel on a scratch tree with "..", symlinks inside, out
// and to themselves, and a name that is not UTF-8: lstat/stat of
// Resolve(workdir, p) and fstatat(workdir_fd, p) agree (same inode or same
// errno). Also: a NUL never passes PathArg; Resolve only prefixes the work
// directory; DisplayName/QuotePath give valid UTF-8 (QuotePath one line);
// DirName + BaseName name the path again.
//
// Input: byte 0 picks the work directory spelling and PathArg's options,
// the rest is the path.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/fs_path.h"
#include "tests/fuzz/fuzz_check.h"

namespace fs = ::sagewai::fs;

namespace {

std::string g_root;
std::vector<std::string> g_workdirs;  // spellings of the work directory, and "/"
std::vector<int> g_workdir_fds;

void Must(bool ok, const char* what) {
  if (!ok) {
    std::perror(what);
    std::abort();
  }
}

// Collapses "//" and "." segments: the path the kernel would walk.
std::string Canon(absl::string_view p) {
  std::vector<absl::string_view> kept;
  for (absl::string_view s : absl::StrSplit(p, '/')) {
    if (!s.empty() && s != ".") kept.push_back(s);
  }
  return (absl::StartsWith(p, "/") ? "/" : "") + absl::StrJoin(kept, "/");
}

// (errno, dev, ino) of a stat call.
struct Outcome {
  int err = 0;
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const Outcome& o) const { return err == o.err && dev == o.dev && ino == o.ino; }
};

Outcome Of(int rc, const struct stat& st) {
  return rc == 0 ? Outcome{0, st.st_dev, st.st_ino} : Outcome{errno, 0, 0};
}

bool NoControls(absl::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  std::string templ = std::string(base) + "/sagewai-fs-path-fuzz.XXXXXX";
  Must(mkdtemp(templ.data()) != nullptr, "mkdtemp");
  g_root = templ;
  const std::string work = g_root + "/work";
  Must(mkdir(work.c_str(), 0755) == 0, "mkdir work");
  Must(mkdir((g_root + "/outside").c_str(), 0755) == 0, "mkdir outside");
  Must(mkdir((work + "/d").c_str(), 0755) == 0, "mkdir d");
  Must(mkdir((work + "/d/e").c_str(), 0755) == 0, "mkdir d/e");
  for (const char* name : {"/f", "/d/g", "/\xFF\xFE", "/d/caf\xC3\xA9", "/../outside/secret"}) {
    const int fd = open((work + name).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    Must(fd >= 0, "create");
    close(fd);
  }
  const std::vector<std::pair<std::string, std::string>> links = {
      {"in", "f"},       {"up", ".."},       {"out", g_root + "/outside"}, {"loop", "loop"},
      {"dangling", "x"}, {"d/back", "../d"}, {"d/e/top", "../../.."},      {"root", "/"}};
  for (const auto& [name, target] : links) {
    Must(symlink(target.c_str(), (work + "/" + name).c_str()) == 0, "symlink");
  }
  g_workdirs = {work, work + "/", g_root + "//work/./d/..", "/"};
  for (const std::string& w : g_workdirs) {
    const int fd = open(w.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    Must(fd >= 0, "open workdir");
    g_workdir_fds.push_back(fd);
  }
  std::atexit([] {
    const std::string cmd = "rm -rf '" + g_root + "'";
    (void)!system(cmd.c_str());
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t which = data[0] % g_workdirs.size();
  const bool allow_empty = data[0] & 4;
  const bool as_raw = data[0] & 8;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string& workdir = g_workdirs[which];

  auto arg = as_raw ? fs::PathArg("path", "ignored", input, allow_empty)
                    : fs::PathArg("path", input, "", allow_empty);
  const std::string expected = as_raw && input.empty() ? "ignored" : input;
  const bool has_nul = expected.find('\0') != std::string::npos;
  FUZZ_CHECK(arg.ok() == (!has_nul && (!expected.empty() || allow_empty)),
             "PathArg accepted a NUL or refused a good path");

  const std::string display = fs::DisplayName(input);
  FUZZ_CHECK(fs::IsValidUtf8(display), "DisplayName is not UTF-8");
  FUZZ_CHECK((display == input) == fs::IsValidUtf8(input), "DisplayName changed valid UTF-8");
  const std::string quoted = fs::QuotePath(input);
  FUZZ_CHECK(fs::IsValidUtf8(quoted) && NoControls(quoted), "QuotePath leaves control bytes");

  if (!input.empty()) {
    const std::string dir = fs::DirName(input);
    const std::string name = fs::BaseName(input);
    FUZZ_CHECK(!dir.empty() && !name.empty(), "empty DirName or BaseName");
    FUZZ_CHECK(name == "/" || name.find('/') == std::string::npos, "BaseName has a slash");
    FUZZ_CHECK(Canon(fs::Join(dir, name)) == Canon(input), "DirName + BaseName is another path");
  }
  if (!arg.ok()) return 0;

  const std::string path = *arg;
  const std::string resolved = fs::Resolve(workdir, path);
  if (path.empty()) {
    FUZZ_CHECK(resolved == workdir, "the empty path is not the work directory");
  } else if (path[0] == '/') {
    FUZZ_CHECK(resolved == path, "an absolute path was rewritten");
  } else {
    FUZZ_CHECK(resolved == fs::Join(workdir, path) && absl::StartsWith(resolved, workdir) &&
                   absl::EndsWith(resolved, path),
               "Resolve did more than prefix the work directory");
  }
  if (path.empty() || resolved.size() >= PATH_MAX) return 0;

  const int dirfd = g_workdir_fds[which];
  struct stat runner_st {};
  struct stat agent_st {};
  const Outcome runner_l = Of(lstat(resolved.c_str(), &runner_st), runner_st);
  const Outcome agent_l =
      Of(fstatat(dirfd, path.c_str(), &agent_st, AT_SYMLINK_NOFOLLOW), agent_st);
  FUZZ_CHECK(runner_l == agent_l, "lstat reaches another file (errno %d vs %d)", runner_l.err,
             agent_l.err);
  const Outcome runner_s = Of(stat(resolved.c_str(), &runner_st), runner_st);
  const Outcome agent_s = Of(fstatat(dirfd, path.c_str(), &agent_st, 0), agent_st);
  FUZZ_CHECK(runner_s == agent_s, "stat reaches another file (errno %d vs %d)", runner_s.err,
             agent_s.err);
  return 0;
}
