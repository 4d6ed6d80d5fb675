#!/usr/bin/python3
"""The Filesystem service from Python (Debian's python3-grpcio) against the
real sagewai-tool-runner: streaming writes and reads, a name that is not
UTF-8 carried in the *_bytes fields (grpcio refuses invalid UTF-8 in string
fields), error codes, and a Watch that waits for the response headers.

Run by CTest with PYTHONPATH at the stubs generated for tests/python and
SAGEWAI_BIN_DIR at the binaries; exit 77 (skipped) when the runner is not
built.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
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
TOKEN = "python-fs-token-0a1b2c"


class FilesystemClientTest(unittest.TestCase):
    runner = None

    @classmethod
    def setUpClass(cls):
        if not os.access(RUNNER, os.X_OK):
            raise unittest.SkipTest(f"{RUNNER} is not built")
        cls.dir = tempfile.mkdtemp(prefix="sagewai-py-fs-")
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
        health_channel = grpc.insecure_channel("unix://" + cls.socket)
        health = health_pb2_grpc.HealthStub(health_channel)
        deadline = time.monotonic() + 20
        while True:
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            if cls.runner.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the runner did not become SERVING")
            time.sleep(0.02)
        health_channel.close()
        # Every call below is signed by the helper: the streaming kinds too.
        cls.channel = sagewai_sandbox_auth.connect("unix://" + cls.socket, TOKEN)
        cls.fs = pb_grpc.FilesystemStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        if cls.runner is not None:
            cls.channel.close()
            cls.runner.terminate()
            try:
                # Slow under ASan on a loaded machine (leak check at exit).
                cls.runner.wait(timeout=60)
            except subprocess.TimeoutExpired:
                # Say where it hangs before failing: every thread's stack.
                if shutil.which("gdb"):
                    subprocess.run(["gdb", "-p", str(cls.runner.pid), "-batch",
                                    "-ex", "thread apply all bt"], check=False, timeout=120)
                cls.runner.kill()
                raise
        shutil.rmtree(cls.dir, ignore_errors=True)

    def write(self, first, chunks):
        def requests():
            yield first
            for c in chunks:
                yield pb.WriteRequest(data=c)
        return self.fs.Write(requests(), timeout=60)

    def read(self, **kwargs):
        return b"".join(c.data for c in
                        self.fs.Read(pb.ReadRequest(**kwargs), timeout=60))

    def test_streaming_round_trip_with_checksum(self):
        chunks = [os.urandom(1 << 20) for _ in range(5)] + [b"tail"]
        whole = b"".join(chunks)
        reply = self.write(pb.WriteRequest(path="py/data.bin", create_parents=True), chunks)
        self.assertEqual(reply.bytes_written, len(whole))
        self.assertEqual(reply.sha256, hashlib.sha256(whole).hexdigest())
        self.assertEqual(self.read(path="py/data.bin"), whole)
        self.assertEqual(self.read(path="py/data.bin", offset=7, length=9), whole[7:16])

    def test_names_that_are_not_utf8(self):
        raw = b"caf\xe9 \xff.txt"  # Latin-1, as an old tool would write it
        reply = self.write(pb.WriteRequest(path_bytes=raw), [b"bytes"])
        self.assertEqual(reply.info.name_bytes, raw)
        listing = self.fs.List(pb.ListRequest(), timeout=30)
        entry = [e for e in listing.entries if e.name_bytes == raw]
        self.assertEqual(len(entry), 1)
        self.assertEqual(entry[0].name, "caf\\xe9 \\xff.txt")
        self.assertEqual(self.read(path_bytes=entry[0].path_bytes), b"bytes")
        self.assertTrue(os.path.exists(os.path.join(os.fsencode(self.workdir), raw)))

    def test_error_codes(self):
        with self.assertRaises(grpc.RpcError) as e:
            self.read(path="missing")
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)
        self.assertIn("No such file or directory", e.exception.details())
        os.mkdir(os.path.join(self.workdir, "dir"))
        with self.assertRaises(grpc.RpcError) as e:
            self.read(path="dir")
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)
        with self.assertRaises(grpc.RpcError) as e:
            self.fs.MakeDir(pb.MakeDirRequest(path="dir"), timeout=30)
        self.assertEqual(e.exception.code(), grpc.StatusCode.ALREADY_EXISTS)

    def test_watch_after_its_headers(self):
        os.mkdir(os.path.join(self.workdir, "watched"))
        call = self.fs.Watch(pb.WatchRequest(path="watched"), timeout=30)
        call.initial_metadata()  # the watch is in place
        with open(os.path.join(self.workdir, "watched", "new"), "w") as f:
            f.write("x")
        event = next(call)
        self.assertEqual(event.kind, pb.WatchEvent.KIND_CREATE)
        self.assertEqual(event.path, os.path.join(self.workdir, "watched", "new"))
        call.cancel()


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(FilesystemClientTest)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    ran = max(0, result.testsRun - len(result.skipped))
    if result.wasSuccessful() and ran == 0:
        return 77
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
