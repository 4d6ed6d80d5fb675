#include "cli/peer_check.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace sagewai::cli {
namespace {

using ::testing::HasSubstr;

constexpr char kAddr[] = "unix:///run/sagewai/tool-runner.sock";

TEST(CheckPeerTest, DefaultRuleAcceptsTheRunnerUserRootAndOurselves) {
  const uid_t me = 4242;
  EXPECT_TRUE(CheckPeer({10, kRunnerUid, kRunnerUid}, {}, kAddr, me).ok());
  EXPECT_TRUE(CheckPeer({10, 0, 0}, {}, kAddr, me).ok());
  EXPECT_TRUE(CheckPeer({10, me, me}, {}, kAddr, me).ok());
  absl::Status agent = CheckPeer({77, 1000, 1000}, {}, kAddr, me);
  ASSERT_EQ(agent.code(), absl::StatusCode::kPermissionDenied);
  const std::string m(agent.message());
  EXPECT_THAT(m, HasSubstr(kAddr));
  EXPECT_THAT(m, HasSubstr("pid 77, uid 1000"));
  EXPECT_THAT(m, HasSubstr("expected uid 900 (the runner user), 0 (root), 4242 (yours)"));
  EXPECT_THAT(m, HasSubstr("nothing was sent"));
  EXPECT_THAT(m, HasSubstr("--sandbox ID"));
}

TEST(CheckPeerTest, AnExpectedPidReplacesTheUidRule) {
  PeerExpectation e;
  e.pid = 1234;
  e.pid_source = "the runner of sandbox ab12";
  EXPECT_TRUE(CheckPeer({1234, 1000, 1000}, e, kAddr, 0).ok())
      << "a runner sharing the agent's uid is still the runner";
  absl::Status other = CheckPeer({1235, kRunnerUid, kRunnerUid}, e, kAddr, 0);
  ASSERT_EQ(other.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(other.message()),
              HasSubstr("(pid 1235, uid 900) is not the runner — expected pid 1234 (the runner "
                        "of sandbox ab12)"));
}

TEST(CheckPeerTest, AnExpectedUidIsExact) {
  PeerExpectation e;
  e.uid = 1000;
  EXPECT_TRUE(CheckPeer({5, 1000, 1000}, e, kAddr, 0).ok());
  absl::Status root = CheckPeer({5, 0, 0}, e, kAddr, 0);
  EXPECT_EQ(root.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(root.message()), HasSubstr("expected uid 1000 (--peer-uid)"));
  e.pid = 5;
  EXPECT_FALSE(CheckPeer({5, 0, 0}, e, kAddr, 0).ok()) << "pid and uid must both match";
  EXPECT_TRUE(CheckPeer({5, 1000, 1000}, e, kAddr, 0).ok());
}

class PeerSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sagewai-peer-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    chmod(dir_.c_str(), 0777);  // a listener of another uid binds here
    path_ = dir_ + "/runner.sock";
  }
  void TearDown() override {
    if (child_ > 0) {
      release_.reset();  // the listener exits when this pipe closes
      waitpid(child_, nullptr, 0);
    }
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  // A child that becomes `uid` (when not -1), listens on path_ and stays
  // until release_ closes. Returns once it listens.
  void StartListener(uid_t uid) {
    int ready[2], release[2];
    ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
    ASSERT_EQ(pipe2(release, O_CLOEXEC), 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::memcpy(sa.sun_path, path_.data(), path_.size());
    child_ = fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      close(ready[0]);
      close(release[1]);
      if (uid != static_cast<uid_t>(-1) && (setgid(uid) != 0 || setuid(uid) != 0)) _exit(2);
      int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
          listen(fd, 4) != 0) {
        _exit(3);
      }
      char c = 'r';
      if (write(ready[1], &c, 1) != 1) _exit(4);
      (void)read(release[0], &c, 1);
      _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    release_ = UniqueFd(release[1]);
    char c = 0;
    ASSERT_EQ(read(ready[0], &c, 1), 1) << "the listener did not start";
    close(ready[0]);
  }

  std::string dir_, path_;
  pid_t child_ = -1;
  UniqueFd release_;
};

TEST_F(PeerSocketTest, ReadsTheListenersCredentials) {
  StartListener(static_cast<uid_t>(-1));
  absl::StatusOr<UniqueFd> fd = ConnectUnixSocket(path_);
  ASSERT_TRUE(fd.ok()) << fd.status();
  absl::StatusOr<PeerCredentials> peer = ReadPeerCredentials(fd->get());
  ASSERT_TRUE(peer.ok()) << peer.status();
  EXPECT_EQ(peer->pid, child_);
  EXPECT_EQ(peer->uid, geteuid());
  EXPECT_TRUE(ConnectCheckedPeer(path_, "unix://" + path_, {}).ok());
  PeerExpectation wrong_pid;
  wrong_pid.pid = child_ + 1;
  absl::StatusOr<UniqueFd> refused = ConnectCheckedPeer(path_, "unix://" + path_, wrong_pid);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(PeerSocketTest, AListenerOfAnotherUserIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to start a listener as nobody (65534)";
  StartListener(65534);
  absl::StatusOr<UniqueFd> fd = ConnectCheckedPeer(path_, "unix://" + path_, {});
  ASSERT_EQ(fd.status().code(), absl::StatusCode::kPermissionDenied) << fd.status();
  EXPECT_THAT(std::string(fd.status().message()),
              HasSubstr(absl::StrCat("(pid ", child_, ", uid 65534) is not the runner")));
  PeerExpectation nobody;
  nobody.uid = 65534;
  EXPECT_TRUE(ConnectCheckedPeer(path_, "unix://" + path_, nobody).ok())
      << "--peer-uid names whom to expect";
}

TEST_F(PeerSocketTest, ConnectErrorsNameThePath) {
  absl::StatusOr<UniqueFd> missing = ConnectUnixSocket(path_);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(path_));
  // A socket file nobody listens on any more.
  StartListener(static_cast<uid_t>(-1));
  release_.reset();
  waitpid(child_, nullptr, 0);
  child_ = -1;
  absl::StatusOr<UniqueFd> stale = ConnectUnixSocket(path_);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(stale.status().message()), HasSubstr("nothing is listening"));
  EXPECT_EQ(ConnectUnixSocket(std::string(200, 'x')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(PeerCredentialsTest, SocketPairShowsOurselves) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd a(sv[0]), b(sv[1]);
  absl::StatusOr<PeerCredentials> peer = ReadPeerCredentials(a.get());
  ASSERT_TRUE(peer.ok());
  EXPECT_EQ(peer->pid, getpid());
  EXPECT_EQ(peer->uid, geteuid());
  EXPECT_EQ(peer->gid, getegid());
  int not_a_socket[2];
  ASSERT_EQ(pipe(not_a_socket), 0);
  EXPECT_FALSE(ReadPeerCredentials(not_a_socket[0]).ok());
  close(not_a_socket[0]);
  close(not_a_socket[1]);
}

}  // namespace
}  // namespace sagewai::cli
