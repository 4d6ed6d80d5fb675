#!/usr/bin/python3
"""A Python gRPC client (Debian's python3-grpcio) against the real
sagewai-tool-runner: proves the API works from another language, with stubs
generated from proto/ at build time.

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

import grpc

import health_pb2
import health_pb2_grpc
from sagewai.sandbox.v1 import sandbox_pb2 as pb
from sagewai.sandbox.v1 import sandbox_pb2_grpc as pb_grpc

BIN_DIR = os.environ.get("SAGEWAI_BIN_DIR", "")
RUNNER = os.path.join(BIN_DIR, "sagewai-tool-runner")
TOKEN = "python-client-token-5f3c2a"
AUTH = (("authorization", "Bearer " + TOKEN),)
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
        cls.channel = grpc.insecure_channel("unix://" + cls.socket)
        health = health_pb2_grpc.HealthStub(cls.channel)
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
        cls.bash = pb_grpc.BashStub(cls.channel)
        cls.info = pb_grpc.RunnerStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        if cls.runner is not None:
            cls.channel.close()
            cls.runner.terminate()
            try:
                cls.runner.wait(timeout=5)
            except subprocess.TimeoutExpired:
                cls.runner.kill()
                cls.runner.wait()
            shutil.rmtree(cls.dir, ignore_errors=True)

    def test_bash_run_echo_with_token(self):
        result = self.bash.Run(pb.BashRequest(command="echo hello from python"), metadata=AUTH,
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
            metadata=AUTH, timeout=30)
        self.assertEqual(result.stdout, b"hi\n/tmp\nfrom stdin")
        self.assertEqual(result.exit_code, 3)

    def test_unauthenticated_without_token(self):
        with self.assertRaises(grpc.RpcError) as caught:
            self.bash.Run(pb.BashRequest(command="echo no"), timeout=30)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)

    def test_unauthenticated_with_wrong_token(self):
        for header in ("Bearer wrong-token", "Bearer " + TOKEN + "x", TOKEN, "bearer"):
            with self.subTest(header=header):
                with self.assertRaises(grpc.RpcError) as caught:
                    self.info.GetInfo(pb.GetInfoRequest(), metadata=(("authorization", header),),
                                      timeout=30)
                self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)

    def test_health_serving_without_token(self):
        health = health_pb2_grpc.HealthStub(self.channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        self.assertEqual(reply.status, health_pb2.HealthCheckResponse.SERVING)

    def _stream(self, requests, on_event=None, timeout=30):
        """Runs Bash.Stream fed from the `requests` queue (None ends the
        request stream); returns (stdout, stderr, exit result, event kinds)."""
        out, err, kinds, result = b"", b"", [], None
        responses = self.bash.Stream(iter(requests.get, None), metadata=AUTH, timeout=timeout)
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
        info = self.info.GetInfo(pb.GetInfoRequest(), metadata=AUTH, timeout=30)
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


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(RunnerClientTest)
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
