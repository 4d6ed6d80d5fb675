#include "tests/fs/fs_test_client.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/sha256.h"
#include "tests/runner/runner_process.h"
#include "tests/runner/wait_for.h"

namespace sagewai::testing {

namespace v1 = ::sagewai::sandbox::v1;

namespace {

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

void FillPattern(uint64_t seed, uint64_t offset, char* buf, size_t size) {
  const uint64_t key = Mix(seed);
  size_t i = 0;
  while (i < size) {
    const uint64_t pos = offset + i;
    const uint64_t word = Mix(key ^ (pos / 8));
    const size_t in_word = pos % 8;
    const size_t take = std::min<size_t>(8 - in_word, size - i);
    std::memcpy(buf + i, reinterpret_cast<const char*>(&word) + in_word, take);
    i += take;
  }
}

std::string Pattern(uint64_t seed, uint64_t offset, size_t size) {
  std::string s(size, '\0');
  FillPattern(seed, offset, s.data(), size);
  return s;
}

WriteOutcome WriteGenerated(v1::Filesystem::Stub& stub, grpc::ClientContext* context,
                            const v1::WriteRequest& first, uint64_t size, uint64_t seed,
                            size_t chunk) {
  WriteOutcome out;
  Sha256 hash;
  auto writer = stub.Write(context, &out.response);
  v1::WriteRequest msg = first;
  bool first_sent = false;
  std::string* data = msg.mutable_data();
  bool broken = false;
  while (!broken && (out.sent < size || !first_sent)) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(chunk, size - out.sent));
    data->resize(n);
    FillPattern(seed, out.sent, data->data(), n);
    hash.Update(*data);
    out.sent += n;
    broken = !writer->Write(msg);
    if (!first_sent) {
      first_sent = true;
      msg.Clear();
      data = msg.mutable_data();
    }
  }
  if (!broken) writer->WritesDone();
  out.status = writer->Finish();
  out.sent_sha256 = hash.FinishHex();
  return out;
}

WriteOutcome WriteBytes(v1::Filesystem::Stub& stub, grpc::ClientContext* context,
                        const v1::WriteRequest& first, const std::string& data, size_t chunk) {
  WriteOutcome out;
  auto writer = stub.Write(context, &out.response);
  v1::WriteRequest msg = first;
  size_t off = 0;
  bool broken = false;
  do {
    const size_t n = std::min(chunk, data.size() - off);
    msg.set_data(data.substr(off, n));
    broken = !writer->Write(msg);
    off += n;
    msg.Clear();
  } while (!broken && off < data.size());
  if (!broken) writer->WritesDone();
  out.status = writer->Finish();
  out.sent = data.size();
  out.sent_sha256 = Sha256Hex(data);
  return out;
}

ReadOutcome ReadAll(v1::Filesystem::Stub& stub, grpc::ClientContext* context,
                    const v1::ReadRequest& request, bool keep_data) {
  ReadOutcome out;
  Sha256 hash;
  auto reader = stub.Read(context, request);
  v1::ReadChunk chunk;
  uint64_t expected_offset = request.offset();
  while (reader->Read(&chunk)) {
    ++out.chunks;
    out.largest_chunk = std::max(out.largest_chunk, chunk.data().size());
    if (chunk.offset() != expected_offset) out.offsets_contiguous = false;
    expected_offset += chunk.data().size();
    out.bytes += chunk.data().size();
    hash.Update(chunk.data());
    if (keep_data) out.data += chunk.data();
  }
  out.status = reader->Finish();
  out.sha256 = hash.FinishHex();
  return out;
}

std::string FileSha256(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  Sha256 hash;
  std::vector<char> buf(1 << 20);
  ssize_t n;
  while ((n = read(fd, buf.data(), buf.size())) > 0)
    hash.Update(buf.data(), static_cast<size_t>(n));
  close(fd);
  return hash.FinishHex();
}

std::vector<std::string> DirNames(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") out.push_back(n);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

UnprivilegedRunner::UnprivilegedRunner() {
  if (geteuid() != 0) {
    skip_reason_ = "needs root to start a runner as another user";
    return;
  }
  if (access("/usr/bin/setpriv", X_OK) != 0) {
    skip_reason_ = "setpriv (util-linux) is not installed";
    return;
  }
  char tmpl[] = "/tmp/sagewai-fs-nobody-XXXXXX";
  dir_ = mkdtemp(tmpl);
  chmod(dir_.c_str(), 0755);
  workdir_ = dir_ + "/workspace";
  mkdir(workdir_.c_str(), 0777);
  chmod(workdir_.c_str(), 0777);
  const std::string sock_dir = dir_ + "/run";
  mkdir(sock_dir.c_str(), 0777);
  chmod(sock_dir.c_str(), 0777);
  socket_ = sock_dir + "/runner.sock";
  const std::string log = dir_ + "/runner.log";
  std::vector<std::string> args = {"/usr/bin/setpriv",
                                   "--reuid=65534",
                                   "--regid=65534",
                                   "--clear-groups",
                                   "--",
                                   BinDir() + "/sagewai-tool-runner",
                                   "serve",
                                   "--keep-identity",
                                   "--listen",
                                   "unix://" + socket_,
                                   "--workdir",
                                   workdir_};
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "HOME=/tmp", "SAGEWAI_LOG_LEVEL=warn"};
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(log_fd, STDERR_FILENO);
    int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(log_fd);
  // Connect once the socket exists; a short reconnect backoff covers the
  // moment between its bind and listen.
  WaitForPath(socket_, std::chrono::seconds(20), pid_);
  grpc::ChannelArguments channel_args;
  channel_args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  channel_args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
  channel_args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 100);
  channel_ = grpc::CreateCustomChannel("unix://" + socket_, grpc::InsecureChannelCredentials(),
                                       channel_args);
  started_ = WaitForServing(channel_, &pid_, std::chrono::seconds(20));
}

std::string UnprivilegedRunner::ReadLog() const {
  std::string out;
  if (FILE* f = fopen((dir_ + "/runner.log").c_str(), "re")) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    fclose(f);
  }
  return out;
}

UnprivilegedRunner::~UnprivilegedRunner() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (!dir_.empty()) {
    std::string cmd = "rm -rf '" + dir_ + "'";
    if (std::system(cmd.c_str()) != 0) {
    }
  }
}

}  // namespace sagewai::testing
