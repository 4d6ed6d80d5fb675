// What the entrypoint's integration tests share: the binaries, running
// them to the end, /proc status parsing, and a fixture with its own user
// database (entrypoint_integration_test.cc, entrypoint_privilege_test.cc).
#ifndef SAGEWAI_TESTS_ENTRYPOINT_ENTRYPOINT_FIXTURE_H_
#define SAGEWAI_TESTS_ENTRYPOINT_ENTRYPOINT_FIXTURE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/passwd.h"
#include "tests/entrypoint/subprocess.h"

namespace sagewai::entrypoint_test {

using ::testing::HasSubstr;
using ::testing::Not;

using ::testing::Not;

inline const std::string kEntrypoint = std::string(SAGEWAI_BIN_DIR) + "/sagewai-entrypoint";
inline const std::string kChild = SAGEWAI_TEST_CHILD;
constexpr int kTimeoutMs = 60000;

// The parts of the runner's environment a child needs, plus `extra`.
inline std::vector<std::string> Env(std::vector<std::string> extra = {}) {
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

inline std::vector<std::string> Concat(std::vector<std::string> a,
                                       const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// `unshare` as PID 1 of a new PID namespace, then optional `wrapper`, then the entrypoint.
inline std::vector<std::string> AsPid1(const std::vector<std::string>& command,
                                       const std::vector<std::string>& wrapper = {}) {
  std::vector<std::string> argv = {"unshare", "--pid", "--fork", "--mount-proc", "--kill-child"};
  argv = Concat(argv, wrapper);
  argv.push_back(kEntrypoint);
  return Concat(argv, command);
}

struct Result {
  int code = -1;
  std::string out, err;
};

inline Result RunToEnd(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  Subprocess p;
  Result r;
  if (!p.Start(argv, env)) {
    ADD_FAILURE() << "cannot start " << argv[0];
    return r;
  }
  p.CloseStdin();
  r.code = p.Wait(kTimeoutMs);
  r.out = p.out();
  r.err = p.err();
  return r;
}

// Why PID-namespace tests cannot run here, or "".
inline std::string Pid1Unavailable() {
  static const std::string reason = [] {
    if (access(kEntrypoint.c_str(), X_OK) != 0) return "entrypoint not built at " + kEntrypoint;
    Result r = RunToEnd({"unshare", "--pid", "--fork", "--mount-proc", "true"}, Env());
    if (r.code != 0) {
      return "unshare --pid --fork --mount-proc is not permitted here (needs root or user "
             "namespaces): " +
             r.err;
    }
    return std::string();
  }();
  return reason;
}

#define REQUIRE_PID1()                                       \
  do {                                                       \
    if (std::string why = Pid1Unavailable(); !why.empty()) { \
      GTEST_SKIP() << why;                                   \
    }                                                        \
  } while (0)

#define REQUIRE_ROOT_AND_SETPRIV()                                                             \
  do {                                                                                         \
    REQUIRE_PID1();                                                                            \
    if (geteuid() != 0) GTEST_SKIP() << "needs root to change uids and capabilities";          \
    if (RunToEnd({"setpriv", "--help"}, Env()).code != 0) GTEST_SKIP() << "setpriv not found"; \
  } while (0)

// key -> value of the "Key:\tvalue" and "key=value" lines of the child's status mode.
inline std::map<std::string, std::string> ParseStatus(const std::string& out) {
  std::map<std::string, std::string> m;
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    if (end == std::string::npos) end = out.size();
    const std::string line = out.substr(start, end - start);
    start = end + 1;
    if (line.rfind("env:", 0) == 0) {
      const size_t eq = line.find('=');
      m[line.substr(0, eq)] = line.substr(eq + 1);
      continue;
    }
    size_t sep = line.find(":\t");
    if (sep != std::string::npos) {
      m[line.substr(0, sep)] = line.substr(sep + 2);
      continue;
    }
    sep = line.find('=');
    if (sep != std::string::npos) m[line.substr(0, sep)] = line.substr(sep + 1);
  }
  return m;
}

inline std::set<std::string> Words(const std::string& text) {
  std::set<std::string> words;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find_first_of(" \t", start);
    const std::string w = text.substr(start, end == std::string::npos ? end : end - start);
    if (!w.empty()) words.insert(w);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return words;
}

inline int CountOccurrences(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// A directory with its own passwd and group files, a home and a work
// directory for the test user sgagent (uid 4242).
class Fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/entrypoint_it_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    chmod(dir_.c_str(), 0755);
    home_ = dir_ + "/home-sgagent";
    work_ = dir_ + "/work";
    mkdir(home_.c_str(), 0755);
    mkdir(work_.c_str(), 0755);
    if (geteuid() == 0) {
      chown(home_.c_str(), 4242, 4242);
      chown(work_.c_str(), 4242, 4242);
    }
    std::ofstream(dir_ + "/passwd") << "# test users\n"
                                    << "root:x:0:0:root:/root:/bin/sh\n"
                                    << "sgagent:x:4242:4242:test agent:" << home_ << ":/bin/sh\n"
                                    << "sgnohome:x:4243:4243::/nonexistent-home:/bin/sh\n";
    std::ofstream(dir_ + "/group") << "root:x:0:\n"
                                   << "sgagent:x:4242:\n"
                                   << "sgextra:x:4300:other,sgagent\n"
                                   << "sgother:x:4301:other\n";
  }
  void TearDown() override {
    std::system(("rm -rf '" + dir_ + "'").c_str());
    for (const std::string& d : cleanup_) std::system(("rm -rf '" + d + "'").c_str());
  }

  // Environment for a run as `user` with the fixture's user database.
  std::vector<std::string> AgentEnv(const std::string& user, std::vector<std::string> extra = {}) {
    return Env(
        Concat({"AGENT_USER=" + user, "AGENT_WORKDIR=" + work_,
                "SAGEWAI_PASSWD_FILE=" + dir_ + "/passwd", "SAGEWAI_GROUP_FILE=" + dir_ + "/group"},
               extra));
  }

  std::string dir_, home_, work_;
  std::vector<std::string> cleanup_;
};

}  // namespace sagewai::entrypoint_test

#endif  // SAGEWAI_TESTS_ENTRYPOINT_ENTRYPOINT_FIXTURE_H_
