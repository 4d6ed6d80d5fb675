// The command the entrypoint integration tests run under sagewai-entrypoint.
// Each mode reports on stdout what the test then checks:
//   exit N           exit with code N
//   signal-self N    die of signal N
//   status           identity, capabilities, environment, cwd, open fds
//   trap N...        print "ready", then "got N" for each signal received;
//                    exit 0 once all were received (3 after 60 s)
//   kill-init        catch SIGTERM, send SIGTERM to PID 1, report it coming back
//   wait-stdin       print "ready", exit 0 at end of input
//   orphans N        leave N orphaned grandchildren; report how many reached
//                    our parent and how many (zombies included) are left later
// Run under the name sagewai-tool-runner it prints the secrets it was handed.
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/passwd.h"
#include "common/secret_handoff.h"

extern char** environ;

namespace {

void Print(const std::string& text) {
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = write(STDOUT_FILENO, p, left);
    if (n <= 0) _exit(90);
    p += n;
    left -= static_cast<size_t>(n);
  }
}

std::string ReadFile(const std::string& path) {
  std::string content, error;
  sagewai::ReadSmallFile(path, &content, &error);
  return content;
}

// Open fds other than the one reading the directory.
std::string OpenFds() {
  std::string fds;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return "?";
  std::vector<int> list;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const int fd = atoi(e->d_name);
    if (fd != dirfd(dir)) list.push_back(fd);
  }
  closedir(dir);
  std::sort(list.begin(), list.end());
  for (int fd : list) fds += (fds.empty() ? "" : ",") + std::to_string(fd);
  return fds;
}

int Status() {
  std::string out;
  const std::string status = ReadFile("/proc/self/status");
  size_t start = 0;
  while (start < status.size()) {
    size_t end = status.find('\n', start);
    if (end == std::string::npos) end = status.size();
    const std::string line = status.substr(start, end - start);
    for (const char* key : {"Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:",
                            "CapAmb:", "NoNewPrivs:"}) {
      if (line.rfind(key, 0) == 0) out += line + "\n";
    }
    start = end + 1;
  }
  char cwd[4096];
  out += std::string("cwd=") + (getcwd(cwd, sizeof cwd) ? cwd : "?") + "\n";
  out += std::string("setuid0=") + (setuid(0) == 0 ? "ok" : "fail") + "\n";
  out += "fds=" + OpenFds() + "\n";
  out += "pid=" + std::to_string(getpid()) + "\n";
  for (char** e = environ; *e != nullptr; ++e) out += std::string("env:") + *e + "\n";
  Print(out);
  return 0;
}

int Secrets() {
  const char* fd_text = getenv(sagewai::kSecretsFdEnv);
  std::string out = std::string("secrets_fd=") + (fd_text ? fd_text : "") + "\n";
  if (fd_text != nullptr) {
    sagewai::ControlPlaneSecrets secrets;
    std::string error;
    if (sagewai::ReadSecretsFd(atoi(fd_text), &secrets, &error)) {
      out += "token=" + secrets.session_token + "\nurl=" + secrets.control_plane_url +
             "\nid=" + secrets.session_id + "\n";
    } else {
      out += "error=" + error + "\n";
    }
  }
  for (char** e = environ; *e != nullptr; ++e) out += std::string("env:") + *e + "\n";
  Print(out);
  return 0;
}

int Trap(const std::vector<int>& signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : signals) sigaddset(&set, sig);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  Print("ready\n");
  std::vector<int> missing = signals;
  const timespec timeout{60, 0};
  while (!missing.empty()) {
    siginfo_t info;
    const int sig = sigtimedwait(&set, &info, &timeout);
    if (sig < 0) {
      if (errno == EINTR) continue;
      return 3;
    }
    Print("got " + std::to_string(sig) + "\n");
    missing.erase(std::remove(missing.begin(), missing.end(), sig), missing.end());
  }
  return 0;
}

int KillInit() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  if (kill(1, SIGTERM) != 0) {
    Print(std::string("kill failed: ") + strerror(errno) + "\n");
    return 4;
  }
  const timespec timeout{30, 0};
  siginfo_t info;
  const int sig = sigtimedwait(&set, &info, &timeout);
  if (sig != SIGTERM) return 3;
  Print("got " + std::to_string(sig) + " from pid " + std::to_string(info.si_pid) + "\n");
  return 0;
}

int WaitStdin() {
  Print("ready\n");
  char buf[256];
  while (read(STDIN_FILENO, buf, sizeof buf) > 0) {
  }
  return 0;
}

// Processes whose parent is `parent`, other than us (zombies included).
int ChildrenOf(pid_t parent) {
  int count = 0;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return -1;
  while (dirent* e = readdir(dir)) {
    const int pid = atoi(e->d_name);
    if (pid <= 0 || pid == getpid()) continue;
    const std::string stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    // ") S PPID ..."
    char state = 0;
    int ppid = 0;
    if (sscanf(stat.c_str() + paren + 1, " %c %d", &state, &ppid) == 2 && ppid == parent) ++count;
  }
  closedir(dir);
  return count;
}

int Orphans(int n) {
  const pid_t parent = getppid();
  // The orphans live until this process closes `hold`: they are all there
  // when counted, however slow the machine, and then exit together.
  int hold[2];
  if (pipe(hold) != 0) return 5;
  for (int i = 0; i < n; ++i) {
    const pid_t middle = fork();
    if (middle < 0) return 5;
    if (middle == 0) {
      if (fork() == 0) {
        close(hold[1]);
        char c;
        while (read(hold[0], &c, 1) < 0 && errno == EINTR) {
        }
        _exit(0);
      }
      _exit(0);
    }
    waitpid(middle, nullptr, 0);
  }
  // Each middle exited (and was reaped) after its orphan was handed on.
  const int reparented = ChildrenOf(parent);
  close(hold[1]);
  close(hold[0]);
  int left = reparented;
  // Reaping by our parent shows only in /proc: looked at every 5 ms, up to 60 s.
  for (int i = 0; i < 12000 && left != 0; ++i) {
    const timespec ts{0, 5 * 1000 * 1000};
    nanosleep(&ts, nullptr);
    left = ChildrenOf(parent);
  }
  Print("reparented=" + std::to_string(reparented) + "\nleft=" + std::to_string(left) + "\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = argv[0];
  if (name.rfind('/') != std::string::npos) name = name.substr(name.rfind('/') + 1);
  if (name == "sagewai-tool-runner") return Secrets();
  if (argc < 2) return 64;
  const std::string mode = argv[1];
  std::vector<int> numbers;
  for (int i = 2; i < argc; ++i) numbers.push_back(atoi(argv[i]));
  if (mode == "exit" && numbers.size() == 1) return numbers[0];
  if (mode == "signal-self" && numbers.size() == 1) {
    const rlimit no_core{0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(numbers[0], SIG_DFL);
    raise(numbers[0]);
    return 66;
  }
  if (mode == "status") return Status();
  if (mode == "trap") return Trap(numbers);
  if (mode == "kill-init") return KillInit();
  if (mode == "wait-stdin") return WaitStdin();
  if (mode == "orphans" && numbers.size() == 1) return Orphans(numbers[0]);
  return 64;
}
