#!/usr/bin/python3
"""Bad input over gRPC against the real sagewai-tool-runner: raw garbage as
request messages, a message over the runner's 64 MiB receive limit, NUL
bytes and bad names in strings, bad working directories and timeouts, hostile
file paths, writes that fail or are cancelled midway. Each gets its exact
status and message, nothing is left behind, and after every case Health and
a plain `echo ok` still work on the same runner process.

Run by CTest with PYTHONPATH at the generated stubs and SAGEWAI_BIN_DIR at
the binaries; exit 77 (skipped) when the runner is not built.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "clients", "python"))
import sagewai_sandbox_auth  # noqa: E402

import health_pb2
import health_pb2_grpc
from sagewai.sandbox.v1 import sandbox_pb2 as pb
from sagewai.sandbox.v1 import sandbox_pb2_grpc as pb_grpc

BIN_DIR = os.environ.get("SAGEWAI_BIN_DIR", "")
RUNNER = os.path.join(BIN_DIR, "sagewai-tool-runner")
TOKEN = "bad-input-token-0b7e19"
SKIP_CODE = 77
API = "/sagewai.sandbox.v1."
IDENTITY = dict(request_serializer=lambda b: b, response_deserializer=lambda b: b)
# Bytes that are no protobuf message: a truncated varint, a bad wire type.
GARBAGE = (b"\xff\xff\xff\xff\x0f garbage", b"\x0a\x7fshort", b"\x07\x00\x01\x02",
           bytes(range(256)))


def wait_until(predicate, what, timeout=20):
    """Polls `predicate` with a deadline: for state the runner gives no
    event for (an fd of its own closing), never to prove an ordering."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {timeout} s")
        time.sleep(0.01)


class GrpcBadInputTest(unittest.TestCase):
    runner = None

    @classmethod
    def setUpClass(cls):
        if not os.access(RUNNER, os.X_OK):
            raise unittest.SkipTest(f"{RUNNER} is not built")
        cls.dir = tempfile.mkdtemp(prefix="sagewai-bad-grpc-")
        cls.workdir = os.path.join(cls.dir, "work")
        os.mkdir(cls.workdir)
        sock = os.path.join(cls.dir, "runner.sock")
        token_file = os.path.join(cls.dir, "token")
        with open(os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(TOKEN + "\n")
        cls.runner = subprocess.Popen(
            [RUNNER, "serve", "--keep-identity", "--listen", "unix://" + sock, "--token-file",
             token_file, "--workdir", cls.workdir],
            env=dict(os.environ, SAGEWAI_LOG_LEVEL="error"))
        cls.raw_channel = grpc.insecure_channel("unix://" + sock)
        cls.health = health_pb2_grpc.HealthStub(cls.raw_channel)
        deadline = time.monotonic() + 20
        while True:
            try:
                if cls.health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            if cls.runner.poll() is not None:
                raise RuntimeError(f"the runner exited with {cls.runner.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("the runner did not become SERVING within 20 s")
            time.sleep(0.02)  # polling for start-up with a deadline, not proving anything
        cls.pid = cls.runner.pid
        cls.channel = sagewai_sandbox_auth.connect("unix://" + sock, TOKEN)
        cls.bash = pb_grpc.BashStub(cls.channel)
        cls.fs = pb_grpc.FilesystemStub(cls.channel)
        cls.eval = pb_grpc.CodeEvalStub(cls.channel)
        cls.info = pb_grpc.RunnerStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        if cls.runner is not None:
            cls.channel.close()
            cls.raw_channel.close()
            cls.runner.terminate()
            try:
                cls.runner.wait(timeout=20)
            except subprocess.TimeoutExpired:
                cls.runner.kill()
                cls.runner.wait()
            shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        self.before = sorted(os.listdir(self.workdir))

    def tearDown(self):
        # After every case: still serving, the same process, an ordinary call works.
        self.assertIsNone(self.runner.poll(), "the runner exited")
        self.assertEqual(self.health.Check(health_pb2.HealthCheckRequest(), timeout=10).status,
                         health_pb2.HealthCheckResponse.SERVING)
        self.assertEqual(self.bash.Run(pb.BashRequest(command="echo ok"), timeout=30).stdout,
                         b"ok\n")
        self.assertEqual(self.info.GetInfo(pb.GetInfoRequest(), timeout=30).pid, self.pid)

    def assert_status(self, call, code, message=None):
        with self.assertRaises(grpc.RpcError) as caught:
            call()
        self.assertEqual(caught.exception.code(), code, caught.exception.details())
        if message is not None:
            self.assertEqual(caught.exception.details(), message)
        return caught.exception.details()

    def unary(self, method, data):
        return lambda: self.channel.unary_unary(API + method, **IDENTITY)(data, timeout=30)

    def run_bash(self, **fields):
        return self.bash.Run(pb.BashRequest(**fields), timeout=30)

    def write(self, *requests):
        return self.fs.Write(iter(requests), timeout=30)

    # ---- messages that are not messages ----

    UNARY = ("Bash/Run", "Filesystem/Stat", "Filesystem/List", "Filesystem/MakeDir",
             "Filesystem/Remove", "Filesystem/Move", "CodeEval/Eval", "CodeEval/CreateContext",
             "CodeEval/DeleteContext")

    def test_garbage_messages_are_refused_and_harm_nothing(self):
        for method in self.UNARY:
            for data in GARBAGE:
                with self.subTest(method=method, data=data[:8]):
                    with self.assertRaises(grpc.RpcError) as caught:
                        self.unary(method, data)()
                    self.assertNotEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        read = self.channel.unary_stream(API + "Filesystem/Read", **IDENTITY)
        self.assertRaises(grpc.RpcError, lambda: list(read(GARBAGE[0], timeout=30)))
        # A stream whose first message does not parse never starts a write.
        write = self.channel.stream_unary(API + "Filesystem/Write", **IDENTITY)
        self.assert_status(lambda: write(iter([GARBAGE[0]]), timeout=30),
                           grpc.StatusCode.INVALID_ARGUMENT,
                           "the stream ended before its first message (with `path`)")
        self.assertEqual(sorted(os.listdir(self.workdir)), self.before)

    def test_garbage_messages_get_invalid_argument_with_a_message(self):
        # gRPC 1.51's callback server answers a request that does not parse
        # (garbage, invalid UTF-8 in a string field) with UNIMPLEMENTED and an
        # empty message before any handler of ours runs.
        self.skipTest("server/ bug: a request that does not parse gets UNIMPLEMENTED with no "
                      "message instead of INVALID_ARGUMENT naming the bad message")
        for method in self.UNARY:
            with self.subTest(method=method):
                details = self.assert_status(self.unary(method, GARBAGE[0]),
                                             grpc.StatusCode.INVALID_ARGUMENT)
                self.assertTrue(details)

    def test_invalid_utf8_in_a_string_field_is_refused(self):
        # Field 1 (command), 3 bytes that are no UTF-8: protobuf refuses to parse it.
        with self.assertRaises(grpc.RpcError):
            self.unary("Bash/Run", b"\x0a\x03\xff\xfe\xfd")()

    def test_unknown_fields_are_ignored(self):
        # No request has an enum; a field number from the future is skipped.
        reply = pb.BashResult.FromString(self.unary(
            "Bash/Run", pb.BashRequest(command="echo x").SerializeToString() + b"\xf8\x07\x05")())
        self.assertEqual(reply.stdout, b"x\n")

    def test_a_message_over_the_receive_limit(self):
        details = self.assert_status(
            lambda: self.run_bash(command="true", stdin=b"x" * (65 << 20)),
            grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertIn("Received message larger than max", details)
        self.assertIn("vs. 67108864", details)
        self.assert_status(lambda: self.write(pb.WriteRequest(path="big", data=b"x" * (65 << 20))),
                           grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertFalse(os.path.exists(os.path.join(self.workdir, "big")))

    # ---- Bash.Run fields ----

    def test_nul_in_a_command(self):
        # execve would cut it at the NUL: "echo a\0rm -rf x" must not run "echo a".
        self.assert_status(lambda: self.run_bash(command="echo a\0rm -rf x"),
                           grpc.StatusCode.INVALID_ARGUMENT)

    def test_bad_env_names_and_values(self):
        for name, shown in (("A=B", "A=B"), ("A\0B", "A\0B"), ("", "")):
            with self.subTest(name=name):
                self.assert_status(
                    lambda: self.run_bash(command="true", env={name: "v"}),
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f'invalid environment variable name "{shown}": names must be non-empty '
                    "and contain no '=' or NUL")
        self.assert_status(lambda: self.run_bash(command="true", env={"X": "a\0b"}),
                           grpc.StatusCode.INVALID_ARGUMENT,
                           "environment variable X contains a NUL byte")
        self.assert_status(lambda: self.eval.Eval(pb.EvalRequest(code="1", language="python",
                                                                 env={"A=B": "x"}), timeout=30),
                           grpc.StatusCode.INVALID_ARGUMENT)

    def test_ten_thousand_env_entries(self):
        env = {f"V{i}": str(i) for i in range(10000)}
        result = self.run_bash(command='echo "$V0 $V9999"; env | grep -c "^V[0-9]*="', env=env)
        self.assertEqual(result.stdout, b"0 9999\n10000\n")

    def test_bad_cwd(self):
        with open(os.path.join(self.workdir, "afile"), "w") as f:
            f.write("x")
        self.assert_status(lambda: self.run_bash(command="pwd", cwd="/nonexistent"),
                           grpc.StatusCode.NOT_FOUND,
                           "chdir /nonexistent: No such file or directory")
        self.assert_status(lambda: self.run_bash(command="pwd", cwd="afile"),
                           grpc.StatusCode.FAILED_PRECONDITION,
                           f"chdir {self.workdir}/afile: Not a directory")
        self.assert_status(
            lambda: self.eval.Eval(pb.EvalRequest(code="print(1)", language="python", cwd="afile"),
                                   timeout=30), grpc.StatusCode.FAILED_PRECONDITION)
        # Outside the work directory is the agent's to reach (DESIGN.md: the
        # kernel and the agent's uid decide, not a path check).
        self.assertEqual(self.run_bash(command="pwd", cwd=self.dir).stdout,
                         self.dir.encode() + b"\n")
        os.unlink(os.path.join(self.workdir, "afile"))

    def test_nul_in_cwd(self):
        os.mkdir(os.path.join(self.workdir, "a"))
        try:
            # chdir would cut it at the NUL: "a\0b" must not run in "a".
            self.assert_status(lambda: self.run_bash(command="pwd", cwd="a\0b"),
                               grpc.StatusCode.INVALID_ARGUMENT)
        finally:
            os.rmdir(os.path.join(self.workdir, "a"))

    def test_timeouts(self):
        result = self.run_bash(command="sleep 30", timeout_ms=1)
        self.assertTrue(result.timed_out)
        self.assertEqual(result.signal, 15)
        # The largest uint32 and a negative number on the wire (which proto
        # reads as a huge uint32) are capped at the runner's maximum: the call runs.
        self.assertEqual(self.run_bash(command="echo x", timeout_ms=0xFFFFFFFF).stdout, b"x\n")
        negative = pb.BashRequest(command="echo y").SerializeToString() + b"\x28" + \
            b"\xff" * 9 + b"\x01"
        self.assertEqual(pb.BashResult.FromString(self.unary("Bash/Run", negative)()).stdout,
                         b"y\n")

    def test_code_eval_bad_names(self):
        self.assert_status(
            lambda: self.eval.Eval(pb.EvalRequest(code="1", language="cobol"), timeout=30),
            grpc.StatusCode.INVALID_ARGUMENT, 'unknown language "cobol": use python, node or bash')
        details = self.assert_status(
            lambda: self.eval.Eval(pb.EvalRequest(code="1", context_id="no-such\0ctx"),
                                   timeout=30), grpc.StatusCode.NOT_FOUND)
        self.assertIn("create one with CreateContext", details)

    # ---- file paths ----

    def test_paths_with_nul_or_empty(self):
        nul = "`path` contains a NUL byte"
        for call in (lambda: self.fs.Stat(pb.StatRequest(path="a\0b"), timeout=30),
                     lambda: list(self.fs.Read(pb.ReadRequest(path="a\0b"), timeout=30)),
                     lambda: self.write(pb.WriteRequest(path="a\0b", data=b"x")),
                     lambda: self.fs.MakeDir(pb.MakeDirRequest(path="x\0"), timeout=30),
                     lambda: self.fs.Remove(pb.RemoveRequest(path_bytes=b"x\0y"), timeout=30)):
            self.assert_status(call, grpc.StatusCode.INVALID_ARGUMENT, nul)
        self.assert_status(lambda: self.fs.Remove(pb.RemoveRequest(path=""), timeout=30),
                           grpc.StatusCode.INVALID_ARGUMENT, "`path` is empty")
        self.assert_status(lambda: self.write(pb.WriteRequest(data=b"x")),
                           grpc.StatusCode.INVALID_ARGUMENT, "`path` is empty")
        self.assertEqual(sorted(os.listdir(self.workdir)), self.before)

    def test_paths_that_are_not_utf8(self):
        # Through path_bytes; the message shows the bytes escaped.
        self.assert_status(lambda: self.fs.Stat(pb.StatRequest(path_bytes=b"\xff\xfe"), timeout=30),
                           grpc.StatusCode.NOT_FOUND,
                           f"stat {self.workdir}/\\xff\\xfe: No such file or directory")
        info = self.write(pb.WriteRequest(path_bytes=b"n\xffx", data=b"z")).info
        self.assertEqual(info.name_bytes, b"n\xffx")
        os.unlink(os.path.join(self.workdir.encode(), b"n\xffx"))

    def test_long_names(self):
        self.assert_status(
            lambda: self.fs.Stat(pb.StatRequest(path="a" * 10000), timeout=30),
            grpc.StatusCode.INVALID_ARGUMENT,
            "`path` is 10000 bytes long; paths must be shorter than 4096 bytes (PATH_MAX)")
        self.assert_status(lambda: self.write(pb.WriteRequest(path="/".join(["b" * 200] * 60),
                                                              data=b"x")),
                           grpc.StatusCode.INVALID_ARGUMENT)
        # A component over NAME_MAX: the kernel's ENAMETOOLONG, with the path.
        details = self.assert_status(lambda: self.write(pb.WriteRequest(path="c" * 300, data=b"x")),
                                     grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("File name too long", details)
        self.assertEqual(sorted(os.listdir(self.workdir)), self.before)

    def test_dot_dot_reaches_what_the_agent_may(self):
        # No path check of ours: ".." is the kernel's business (the agent's
        # uid decides); here the runner's own identity reads the token file.
        data = b"".join(c.data for c in self.fs.Read(pb.ReadRequest(path="../token"), timeout=30))
        self.assertEqual(data, (TOKEN + "\n").encode())

    def test_symlink_loops(self):
        os.symlink("loop2", os.path.join(self.workdir, "loop1"))
        os.symlink("loop1", os.path.join(self.workdir, "loop2"))
        loop = f"{self.workdir}/loop1: Too many levels of symbolic links"
        try:
            self.assert_status(
                lambda: self.fs.Stat(pb.StatRequest(path="loop1", follow_symlinks=True),
                                     timeout=30), grpc.StatusCode.FAILED_PRECONDITION,
                "stat " + loop)
            self.assert_status(lambda: list(self.fs.Read(pb.ReadRequest(path="loop1"),
                                                         timeout=30)),
                               grpc.StatusCode.FAILED_PRECONDITION, "read " + loop)
            self.assert_status(lambda: self.write(pb.WriteRequest(path="loop1", data=b"x")),
                               grpc.StatusCode.FAILED_PRECONDITION, "write " + loop)
            self.assert_status(lambda: self.write(pb.WriteRequest(path="loop1/x", data=b"x")),
                               grpc.StatusCode.FAILED_PRECONDITION)
            self.assertEqual(sorted(os.listdir(self.workdir)), ["loop1", "loop2"])
        finally:
            os.unlink(os.path.join(self.workdir, "loop1"))
            os.unlink(os.path.join(self.workdir, "loop2"))

    def test_directories_and_files_confused(self):
        os.mkdir(os.path.join(self.workdir, "d"))
        with open(os.path.join(self.workdir, "f"), "w") as f:
            f.write("keep")
        try:
            self.assert_status(lambda: list(self.fs.Read(pb.ReadRequest(path="d"), timeout=30)),
                               grpc.StatusCode.FAILED_PRECONDITION,
                               f"read {self.workdir}/d: Is a directory")
            self.assert_status(lambda: self.write(pb.WriteRequest(path="d", data=b"x")),
                               grpc.StatusCode.FAILED_PRECONDITION,
                               f"write {self.workdir}/d: Is a directory")
            self.assert_status(lambda: self.fs.List(pb.ListRequest(path="f"), timeout=30),
                               grpc.StatusCode.FAILED_PRECONDITION,
                               f"list {self.workdir}/f: Not a directory")
            self.assert_status(lambda: self.write(pb.WriteRequest(path="f/x", data=b"x")),
                               grpc.StatusCode.FAILED_PRECONDITION)
            self.assertEqual(os.listdir(os.path.join(self.workdir, "d")), [])
            with open(os.path.join(self.workdir, "f")) as f:
                self.assertEqual(f.read(), "keep")
        finally:
            shutil.rmtree(os.path.join(self.workdir, "d"))
            os.unlink(os.path.join(self.workdir, "f"))

    def _runner_fds_in(self, directory):
        out = []
        fd_dir = f"/proc/{self.pid}/fd"
        for fd in os.listdir(fd_dir):
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith(directory + "/"):
                out.append(target)
        return out

    def test_a_write_cancelled_midway_leaves_the_old_file(self):
        target = os.path.join(self.workdir, "target")
        with open(target, "wb") as f:
            f.write(b"old content")
        self.before = sorted(os.listdir(self.workdir))
        release = threading.Event()

        def requests():
            yield pb.WriteRequest(path="target", data=b"n" * (1 << 20))
            yield pb.WriteRequest(data=b"e" * (1 << 20))
            release.wait(60)

        future = self.fs.Write.future(requests(), timeout=60)
        try:
            # The runner holds its (unnamed, O_TMPFILE) temp file in the target dir.
            wait_until(lambda: self._runner_fds_in(self.workdir), "no temp file opened")
            self.assertTrue(future.cancel())
        finally:
            release.set()
        self.assertTrue(future.cancelled())
        wait_until(lambda: not self._runner_fds_in(self.workdir),
                   "the cancelled write's temp file is still open")
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"old content")
        self.assertEqual(sorted(os.listdir(self.workdir)), self.before)
        os.unlink(target)


def main():
    result = unittest.main(exit=False, verbosity=2).result
    if result.skipped and not result.failures and not result.errors and result.testsRun == len(
            result.skipped):
        return SKIP_CODE
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
