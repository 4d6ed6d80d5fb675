// `sagewai-sandbox fs` end to end: the real CLI against the real runner on
// a unix socket.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "cli/subprocess.h"
#include "common/json_reader.h"
#include "common/sha256.h"
#include "tests/fs/fs_test_client.h"
#include "tests/runner/runner_process.h"

namespace sagewai::testing {
namespace {

using ::testing::HasSubstr;

std::string Slurp(const std::string& path) {
  std::string out;
  if (FILE* f = fopen(path.c_str(), "rbe")) {
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    fclose(f);
  }
  return out;
}

void Spit(const std::string& path, const std::string& data) {
  FILE* f = fopen(path.c_str(), "wbe");
  ASSERT_NE(f, nullptr);
  fwrite(data.data(), 1, data.size(), f);
  fclose(f);
}

class FsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    runner_ = std::make_unique<RunnerProcess>();
    ASSERT_TRUE(runner_->started()) << runner_->ReadLog();
    ASSERT_EQ(access(Cli().c_str(), X_OK), 0) << "sagewai-sandbox was not built";
    // The CLI warns about token files that others may read.
    chmod((runner_->dir() + "/token").c_str(), 0600);
  }
  static std::string Cli() { return BinDir() + "/sagewai-sandbox"; }
  std::string Work(const std::string& name) const { return runner_->workdir() + "/" + name; }

  // Runs `sagewai-sandbox fs ARGS...` with the runner's address and token.
  cli::ProcessResult Fs(std::vector<std::string> args,
                        std::optional<std::string> stdin_data = std::nullopt) {
    std::vector<std::string> argv = {Cli(), "fs"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--addr");
    argv.push_back(runner_->address());
    argv.push_back("--token-file");
    argv.push_back(runner_->dir() + "/token");
    cli::RunOptions options;
    options.stdin_data = std::move(stdin_data);
    options.timeout = absl::Seconds(120);
    options.max_output = 256 << 20;
    auto r = cli::RunProcess(argv, options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : cli::ProcessResult();
  }
  // A failure: the exit code, and exactly one line on stderr.
  static void ExpectOneLineError(const cli::ProcessResult& r, int code, const std::string& text) {
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_THAT(r.err, HasSubstr(text));
    EXPECT_EQ(r.out, "");
  }

  std::unique_ptr<RunnerProcess> runner_;
};

TEST_F(FsCliTest, PutAndCatRoundTripFilesAndStdin) {
  const std::string local = runner_->dir() + "/local.bin";
  const std::string data = Pattern(5, 0, (5 << 20) + 3);
  Spit(local, data);
  cli::ProcessResult put = Fs({"put", local, "new/dir/remote.bin"});
  EXPECT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(put.err, "");
  EXPECT_TRUE(Slurp(Work("new/dir/remote.bin")) == data) << "parents are created, bytes equal";

  cli::ProcessResult cat = Fs({"cat", "new/dir/remote.bin"});
  EXPECT_EQ(cat.exit_code, 0) << cat.err;
  EXPECT_TRUE(cat.out == data);

  cli::ProcessResult from_stdin = Fs({"put", "-", "piped.txt", "--mode", "0600"}, "from stdin\n");
  EXPECT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_EQ(Slurp(Work("piped.txt")), "from stdin\n");
  struct stat st;
  ASSERT_EQ(stat(Work("piped.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(Fs({"put", "-", "piped.txt", "--append"}, "more\n").exit_code, 0);
  EXPECT_EQ(Slurp(Work("piped.txt")), "from stdin\nmore\n");
  EXPECT_EQ(Fs({"put", "-", "empty"}, "").exit_code, 0);
  EXPECT_EQ(Slurp(Work("empty")), "");

  cat = Fs({"cat", "new/dir/remote.bin", "--offset", "1048570", "--length", "10"});
  EXPECT_TRUE(cat.out == data.substr(1048570, 10));
}

TEST_F(FsCliTest, StreamingKeepsTheClientSmall) {
  // 128 MiB from a file on stdin: the CLI must not hold it. (The data is
  // not in this process either: a forked child counts its parent's pages
  // until it execs.)
  const std::string local = runner_->dir() + "/big.local";
  {
    FILE* f = fopen(local.c_str(), "we");
    ASSERT_NE(f, nullptr);
    const std::string block(1 << 20, 'z');
    for (int i = 0; i < 128; ++i) fwrite(block.data(), 1, block.size(), f);
    fclose(f);
  }
  cli::RunOptions options;
  options.timeout = absl::Seconds(120);
  auto put = cli::RunProcess(
      {"/bin/sh", "-c", "exec \"$0\" fs put - big --addr \"$1\" --token-file \"$2\" < \"$3\"",
       Cli(), runner_->address(), runner_->dir() + "/token", local},
      options);
  ASSERT_TRUE(put.ok());
  ASSERT_EQ(put->exit_code, 0) << put->err;
  EXPECT_EQ(FileSha256(Work("big")), FileSha256(local));
  rusage usage;
  getrusage(RUSAGE_CHILDREN, &usage);
#ifndef SAGEWAI_SANITIZED  // ASan's shadow memory and quarantine are not ours to bound
  EXPECT_LT(usage.ru_maxrss, 48 * 1024) << "the CLI peaked at " << usage.ru_maxrss << " KiB";
#endif
}

TEST_F(FsCliTest, LsStatMkdirRmMv) {
  EXPECT_EQ(Fs({"mkdir", "a/b/c"}).exit_code, 0);
  Spit(Work("a/file one"), "12345");
  cli::ProcessResult ls = Fs({"ls", "a"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  std::vector<std::string> lines = absl::StrSplit(ls.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << ls.out;
  EXPECT_THAT(lines[0], ::testing::StartsWith("drwxr-xr-x"));
  EXPECT_THAT(lines[0], ::testing::EndsWith(" b"));
  EXPECT_THAT(lines[1], ::testing::MatchesRegex("-rw-r--r-- +5 [0-9-]+ [0-9:]+ file one"));

  cli::ProcessResult json = Fs({"ls", "--json", "--depth", "3", "a"});
  auto parsed = json::Parse(json.out);
  ASSERT_TRUE(parsed.ok()) << json.out;
  EXPECT_EQ(parsed->Find("entries")->AsArray()->size(), 3u);

  cli::ProcessResult stat = Fs({"stat", "a/file one"});
  EXPECT_THAT(stat.out, HasSubstr("size: 5\n"));
  EXPECT_THAT(stat.out, HasSubstr("type: file\n"));

  ExpectOneLineError(Fs({"rm", "a"}), 1, "use -r");
  EXPECT_EQ(Fs({"rm", "-r", "a/b"}).exit_code, 0);
  EXPECT_NE(access(Work("a/b").c_str(), F_OK), 0);

  Spit(Work("x"), "x");
  Spit(Work("y"), "y");
  ExpectOneLineError(Fs({"mv", "x", "y"}), 1, "File exists");
  EXPECT_EQ(Slurp(Work("y")), "y");
  EXPECT_EQ(Fs({"mv", "-f", "x", "y"}).exit_code, 0);
  EXPECT_EQ(Slurp(Work("y")), "x");
  EXPECT_EQ(Fs({"mv", "y", "deeper/still/y"}).exit_code, 0);
  EXPECT_EQ(Slurp(Work("deeper/still/y")), "x");
}

TEST_F(FsCliTest, ErrorsAreOneLineAndAnExitCode) {
  ExpectOneLineError(Fs({"cat", "missing"}), 1, Work("missing") + ": No such file or directory");
  ExpectOneLineError(Fs({"put", runner_->dir() + "/no-such-local", "x"}), 74, "no-such-local");
  ExpectOneLineError(Fs({"ls", "missing-dir"}), 1, "No such file or directory");
  mkdir(Work("d").c_str(), 0755);
  ExpectOneLineError(Fs({"cat", "d"}), 1, "Is a directory");
  ExpectOneLineError(Fs({"put", "-", "nodir/x", "--no-parents"}, "x"), 1, "No such file");
  ExpectOneLineError(Fs({"rm", "."}), 1, "work directory");
  ExpectOneLineError(Fs({"copy"}), 2, "unknown command");

  // The token and the address, as for exec.
  Spit(runner_->dir() + "/wrong", "not-the-token\n");
  chmod((runner_->dir() + "/wrong").c_str(), 0600);
  cli::RunOptions options;
  auto r = cli::RunProcess(
      {Cli(), "fs", "ls", "--addr", runner_->address(), "--token-file", runner_->dir() + "/wrong"},
      options);
  ASSERT_TRUE(r.ok());
  ExpectOneLineError(*r, 77, "could not prove it holds the session key");
  r = cli::RunProcess({Cli(), "fs", "ls", "--addr", "unix://" + runner_->dir() + "/nothing.sock"},
                      options);
  ASSERT_TRUE(r.ok());
  ExpectOneLineError(*r, 69, "cannot reach the runner");
}

TEST_F(FsCliTest, NamesPassByteForByte) {
  const std::string odd = "sp ace\xff\xfe";
  cli::ProcessResult put = Fs({"put", "-", odd}, "bytes");
  EXPECT_EQ(put.exit_code, 0) << put.err;
  EXPECT_EQ(Slurp(Work(odd)), "bytes");
  cli::ProcessResult ls = Fs({"ls"});
  EXPECT_THAT(ls.out, HasSubstr("sp ace\\xff\\xfe\n"));
  EXPECT_EQ(Fs({"cat", odd}).out, "bytes");
}

}  // namespace
}  // namespace sagewai::testing
