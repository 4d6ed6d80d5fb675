#!/usr/bin/python3
"""A Python gRPC client (Debian's python3-grpcio) against the real
sagewai-tool-runner: proves the API works from another language, with stubs
generated from proto/ at build time, through the authentication helper in
clients/python (the token is proved, never sent).

Run by CTest with PYTHONPATH pointing at the generated stubs and
SAGEWAI_BIN_DIR at the built binaries. Exit 77 (CTest: skipped) when the
runner is not built.
"""
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from concurrent import futures

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
TOKEN = "python-client-token-5f3c2a"
SKIP_CODE = 77


class RunnerClientTest(unittest.TestCase):
    runner = None

    @classmethod
    def setUpClass(cls):
        if not os.access(RUNNER, os.X_OK):
            raise unittest.SkipTest(f"{RUNNER} is not built")
        cls.dir = tempfile.mkdtemp(prefix="sagewai-py-")
        cls.workdir = os.path.join(cls.dir, "work")
        os.mkdir(cls.workdir)
        cls.socket = os.path.join(cls.dir, "runner.sock")
        token_file = os.path.join(cls.dir, "token")
        with open(os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(TOKEN + "\n")
        cls.runner = subprocess.Popen(
            [RUNNER, "serve", "--keep-identity", "--listen", "unix://" + cls.socket, "--token-file", token_file,
             "--workdir", cls.workdir],
            env=dict(os.environ, SAGEWAI_LOG_LEVEL="warn"))
        # Without the helper: for health (open) and for crafted headers.
        cls.raw_channel = grpc.insecure_channel("unix://" + cls.socket)
        health = health_pb2_grpc.HealthStub(cls.raw_channel)
        deadline = time.monotonic() + 20
        while True:
            try:
                reply = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            if cls.runner.poll() is not None:
                raise RuntimeError(f"the runner exited with {cls.runner.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("the runner did not become SERVING within 20 s")
            time.sleep(0.02)
        cls.channel = sagewai_sandbox_auth.connect("unix://" + cls.socket, TOKEN)
        cls.bash = pb_grpc.BashStub(cls.channel)
        cls.info = pb_grpc.RunnerStub(cls.channel)
        cls.raw_bash = pb_grpc.BashStub(cls.raw_channel)
        cls.raw_info = pb_grpc.RunnerStub(cls.raw_channel)

    @classmethod
    def tearDownClass(cls):
        if cls.runner is not None:
            cls.channel.close()
            cls.raw_channel.close()
            cls.runner.terminate()
            try:
                cls.runner.wait(timeout=5)
            except subprocess.TimeoutExpired:
                cls.runner.kill()
                cls.runner.wait()
            shutil.rmtree(cls.dir, ignore_errors=True)

    def test_bash_run_echo_with_token(self):
        result = self.bash.Run(pb.BashRequest(command="echo hello from python"),
                               timeout=30)
        self.assertEqual(result.stdout, b"hello from python\n")
        self.assertEqual(result.stderr, b"")
        self.assertEqual(result.exit_code, 0)
        self.assertEqual(result.signal, 0)
        self.assertFalse(result.timed_out)
        self.assertGreater(result.pid, 0)

    def test_bash_run_env_cwd_stdin_and_exit_code(self):
        result = self.bash.Run(
            pb.BashRequest(command='echo "$GREETING"; pwd; cat; exit 3', env={"GREETING": "hi"},
                           cwd="/tmp", stdin=b"from stdin"),
            timeout=30)
        self.assertEqual(result.stdout, b"hi\n/tmp\nfrom stdin")
        self.assertEqual(result.exit_code, 3)

    def test_unauthenticated_without_token(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.raw_bash.Run(pb.BashRequest(command="echo no"), timeout=30)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("Auth.Challenge", caught.exception.details())

    def test_unauthenticated_with_wrong_or_plain_token(self):
        # Even the right token in plain: this runner has no --allow-bearer.
        for header in ("Bearer wrong-token", "Bearer " + TOKEN + "x", "Bearer " + TOKEN, TOKEN,
                       "bearer"):
            with self.subTest(header=header):
                with self.assertRaises(grpc.RpcError) as caught:
                    self.raw_info.GetInfo(pb.GetInfoRequest(),
                                          metadata=(("authorization", header),), timeout=30)
                self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
                self.assertNotIn(TOKEN, caught.exception.details())

    def test_a_replayed_header_is_refused(self):
        session = sagewai_sandbox_auth.challenge(self.raw_channel, TOKEN)
        header = (("authorization", session.authorization("/sagewai.sandbox.v1.Runner/GetInfo")),)
        self.assertEqual(self.raw_info.GetInfo(pb.GetInfoRequest(), metadata=header,
                                               timeout=30).version, self._version())
        with self.assertRaises(grpc.RpcError) as caught:
            self.raw_info.GetInfo(pb.GetInfoRequest(), metadata=header, timeout=30)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertTrue(caught.exception.details().startswith("replayed call"),
                        caught.exception.details())
        # Signed for one method, sent to another.
        moved = (("authorization", session.authorization("/sagewai.sandbox.v1.Runner/GetInfo")),)
        with self.assertRaises(grpc.RpcError) as caught:
            self.raw_bash.Run(pb.BashRequest(command="echo x"), metadata=moved, timeout=30)
        self.assertTrue(caught.exception.details().startswith("bad mac"),
                        caught.exception.details())

    def test_the_wrong_token_is_refused_before_any_call(self):
        with self.assertRaises(sagewai_sandbox_auth.SandboxAuthError) as caught:
            sagewai_sandbox_auth.connect("unix://" + self.socket, TOKEN + "-wrong")
        self.assertIn("could not prove it holds the session key", str(caught.exception))

    def test_peer_check_names_whom_it_expected(self):
        with self.assertRaises(sagewai_sandbox_auth.SandboxAuthError) as caught:
            sagewai_sandbox_auth.connect("unix://" + self.socket, TOKEN,
                                         peer_uid=os.geteuid() + 1)
        self.assertIn(f"pid {self.runner.pid}, uid {os.geteuid()}", str(caught.exception))
        self.assertIn("nothing was sent", str(caught.exception))
        channel = sagewai_sandbox_auth.connect("unix://" + self.socket, TOKEN,
                                               peer_pid=self.runner.pid)
        self.assertEqual(pb_grpc.RunnerStub(channel).GetInfo(pb.GetInfoRequest(),
                                                             timeout=30).pid, self.runner.pid)
        channel.close()

    def _version(self):
        return self.info.GetInfo(pb.GetInfoRequest(), timeout=30).version

    def test_health_serving_without_token(self):
        health = health_pb2_grpc.HealthStub(self.channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        self.assertEqual(reply.status, health_pb2.HealthCheckResponse.SERVING)

    def _stream(self, requests, on_event=None, timeout=30):
        """Runs Bash.Stream fed from the `requests` queue (None ends the
        request stream); returns (stdout, stderr, exit result, event kinds)."""
        out, err, kinds, result = b"", b"", [], None
        responses = self.bash.Stream(iter(requests.get, None), timeout=timeout)
        try:
            for event in responses:
                kind = event.WhichOneof("kind")
                kinds.append(kind)
                if kind == "stdout":
                    out += event.stdout
                elif kind == "stderr":
                    err += event.stderr
                elif kind == "exit":
                    result = event.exit
                if on_event is not None:
                    on_event(event, out)
        finally:
            requests.put(None)
        return out, err, result, kinds

    def test_bash_stream_with_stdin(self):
        requests = queue.Queue()
        requests.put(pb.BashStreamRequest(start=pb.BashRequest(command="cat; echo done >&2")))
        requests.put(pb.BashStreamRequest(stdin=b"hello "))
        requests.put(pb.BashStreamRequest(stdin=b"world"))
        requests.put(pb.BashStreamRequest(stdin_close=pb.StdinClose()))
        out, err, result, kinds = self._stream(requests)
        self.assertEqual(out, b"hello world")
        self.assertEqual(err, b"done\n")
        self.assertIsNotNone(result)
        self.assertEqual(result.exit_code, 0)
        self.assertEqual(kinds[0], "started")
        self.assertEqual(kinds[-1], "exit")
        self.assertEqual(kinds.count("exit"), 1)

    def test_bash_stream_signal(self):
        requests = queue.Queue()
        requests.put(pb.BashStreamRequest(start=pb.BashRequest(command="echo ready; sleep 30")))
        sent = []

        def on_event(event, out):
            if b"ready\n" in out and not sent:
                sent.append(15)
                requests.put(pb.BashStreamRequest(signal=15))

        started = time.monotonic()
        out, _, result, _ = self._stream(requests, on_event)
        self.assertEqual(out, b"ready\n")
        self.assertEqual(sent, [15])
        self.assertIsNotNone(result)
        self.assertEqual(result.signal, 15)
        self.assertEqual(result.exit_code, 128 + 15)
        self.assertLess(time.monotonic() - started, 20)

    def test_get_info_fields(self):
        info = self.info.GetInfo(pb.GetInfoRequest(), timeout=30)
        self.assertRegex(info.version, r"^0\.1\.\d+$")
        self.assertEqual(info.uid, os.getuid())
        self.assertEqual(info.gid, os.getgid())
        self.assertIn("bash", info.capabilities)
        self.assertEqual(info.workdir, self.workdir)
        self.assertEqual(info.pid, self.runner.pid)
        self.assertEqual(info.hostname, socket.gethostname())
        self.assertGreater(info.limits.max_output_bytes, 0)
        self.assertGreater(info.limits.default_timeout_ms, 0)
        self.assertGreaterEqual(info.limits.max_timeout_ms, info.limits.default_timeout_ms)
        self.assertEqual(list(info.auth_schemes), ["sagewai-hmac-sha256-v1"])


class _Impostor(grpc.GenericRpcHandler):
    """Answers Auth.Challenge with a proof it cannot make, and records every
    call it receives with its metadata."""

    def __init__(self):
        self.calls = []

    def service(self, handler_call_details):
        self.calls.append((handler_call_details.method,
                           dict(handler_call_details.invocation_metadata)))
        if handler_call_details.method == sagewai_sandbox_auth.CHALLENGE_METHOD:
            return grpc.unary_unary_rpc_method_handler(self._challenge)
        return grpc.unary_unary_rpc_method_handler(lambda request, context: b"")

    @staticmethod
    def _challenge(request, context):
        return pb.ChallengeResponse(scheme="sagewai-hmac-sha256-v1", server_nonce=os.urandom(32),
                                    server_proof=os.urandom(32)).SerializeToString()


class HelperTest(unittest.TestCase):
    def test_pinned_vectors_match_the_cpp_side(self):
        # The same bytes as common/session_auth_test.cc.
        key = sagewai_sandbox_auth.derive_key("test-token-0123456789")
        self.assertEqual(key.hex(),
                         "64b8604497415765c637e0280549a6edd9d9b80e6a770614b49db1fcffb75785")
        client_nonce, server_nonce = bytes(range(32)), bytes(range(0x80, 0xa0))
        self.assertEqual(sagewai_sandbox_auth.server_proof(key, client_nonce, server_nonce).hex(),
                         "25585ffe96b3ce83d8cadc4a0c31d2a65c9dbfe192632dacd49ea990e3003fba")
        session = sagewai_sandbox_auth.Session(key, server_nonce)
        self.assertEqual(
            session.authorization("/sagewai.sandbox.v1.Bash/Run"),
            "Sagewai-HMAC-SHA256 nonce=" + server_nonce.hex() +
            ", seq=1, mac=659aaa087cd7f6ba5fdf8a35b78e307441356f0e4fa8ea8caa48fda44d89bd6c")
        self.assertIn(", seq=2, mac=55b63d4a26d89ff43438ee3e91bd835a7b5f5ff80391e5663455975d96acc5c0",
                      session.authorization("/sagewai.sandbox.v1.Filesystem/Write"))

    def test_a_server_whose_proof_is_wrong_gets_nothing(self):
        impostor = _Impostor()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[impostor])
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        try:
            with self.assertRaises(sagewai_sandbox_auth.SandboxAuthError) as caught:
                sagewai_sandbox_auth.connect(f"127.0.0.1:{port}", "a-token-the-impostor-wants")
            self.assertIn("could not prove it holds the session key", str(caught.exception))
            self.assertIn("nothing secret was sent", str(caught.exception))
            self.assertEqual([method for method, _ in impostor.calls],
                             [sagewai_sandbox_auth.CHALLENGE_METHOD])
            self.assertNotIn("authorization", impostor.calls[0][1])
        finally:
            server.stop(None)

    def test_a_socket_of_another_user_is_refused_before_connecting(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to listen as nobody (65534)")
        directory = tempfile.mkdtemp(prefix="sagewai-py-peer-")
        os.chmod(directory, 0o777)
        path = os.path.join(directory, "runner.sock")
        ready_r, ready_w = os.pipe()
        release_r, release_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(ready_r)
                os.close(release_w)
                os.setgid(65534)
                os.setuid(65534)
                listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                listener.bind(path)
                listener.listen(4)
                os.write(ready_w, b"r")
                os.read(release_r, 1)
            finally:
                os._exit(0)
        os.close(ready_w)
        os.close(release_r)
        try:
            self.assertEqual(os.read(ready_r, 1), b"r", "the listener did not start")
            with self.assertRaises(sagewai_sandbox_auth.SandboxAuthError) as caught:
                sagewai_sandbox_auth.connect("unix://" + path, "a-token")
            self.assertIn(f"(pid {pid}, uid 65534) is not the runner", str(caught.exception))
        finally:
            os.close(release_w)
            os.close(ready_r)
            os.waitpid(pid, 0)
            shutil.rmtree(directory, ignore_errors=True)


def main():
    suite = unittest.TestSuite()
    suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(HelperTest))
    suite.addTests(unittest.defaultTestLoader.loadTestsFromTestCase(RunnerClientTest))
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    ran = max(0, result.testsRun - len(result.skipped))
    print(f"python grpc client (grpcio {grpc.__version__}): {ran} run, "
          f"{len(result.failures)} failed, {len(result.errors)} errors, "
          f"{len(result.skipped)} skipped")
    if result.wasSuccessful() and ran == 0:
        return SKIP_CODE
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
