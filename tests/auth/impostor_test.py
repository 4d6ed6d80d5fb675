#!/usr/bin/python3
"""Impostors where the runner should be, against the real sagewai-sandbox.

A fake runner answers the HTTP/2 preface with a SETTINGS frame, records
every byte it receives, and then either says nothing, answers Auth.Challenge
with a random proof, or answers as an old runner without Auth (UNIMPLEMENTED).
It listens on (a) a unix socket bound by another user (nobody), (b) a unix
socket of our own uid, so that only the challenge stops it, and (c) the TCP
port of a real runner that was killed. `sagewai-sandbox exec` must exit
non-zero with a message that says what it refused, and the bytes the fake
captured (HEADERS decoded with HPACK) must hold no `authorization` header,
no call but Auth.Challenge, and neither the token nor K in any form.

Run by CTest with SAGEWAI_BIN_DIR at the built binaries; /usr/bin/python3
with Debian's python3-grpcio and python3-hpack. Exit 77 (skipped) when
something it needs is missing.
"""
import base64
import hashlib
import hmac
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import unittest

SKIP = 77
try:
    import grpc
    import hpack
except ImportError as e:  # pragma: no cover - reported as a skip
    print(f"impostor tests: {e} — install python3-grpcio and python3-hpack "
          f"(scripts/install-deps.sh)")
    sys.exit(SKIP)

BIN_DIR = os.environ.get("SAGEWAI_BIN_DIR", "")
CLI = os.path.join(BIN_DIR, "sagewai-sandbox")
RUNNER = os.path.join(BIN_DIR, "sagewai-tool-runner")
TOKEN = "impostor-test-token-" + os.urandom(8).hex()
KEY = hmac.new(TOKEN.encode(), b"sagewai-sandbox-v1 key", hashlib.sha256).digest()
CHALLENGE = "/sagewai.sandbox.v1.Auth/Challenge"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
NOBODY = 65534

# HTTP/2 frame types and flags (RFC 9113).
DATA, HEADERS, SETTINGS, PING, CONTINUATION = 0, 1, 4, 6, 9
END_STREAM, END_HEADERS, ACK, PADDED, PRIORITY = 0x1, 0x4, 0x1, 0x8, 0x20


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + \
        struct.pack(">I", stream) + payload


def proto_bytes(number, value):
    out, n = bytearray([number << 3 | 2]), len(value)
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out) + value


def forms(secret):
    """Every spelling of a secret that could end up in a header."""
    raw = secret if isinstance(secret, bytes) else secret.encode()
    return [raw, raw.hex().encode(), raw.hex().upper().encode(), base64.b64encode(raw),
            base64.urlsafe_b64encode(raw).rstrip(b"=")]


class Capture:
    """What one connection sent: the raw bytes, and each request's headers."""

    def __init__(self, raw):
        self.raw = raw
        self.requests = []  # one list of (name, value) per HEADERS block
        if not raw:
            return
        assert raw.startswith(PREFACE), "the client did not send the HTTP/2 preface"
        decoder, data, block = hpack.Decoder(), raw[len(PREFACE):], b""
        while len(data) >= 9:
            length = int.from_bytes(data[:3], "big")
            kind, flags = data[3], data[4]
            payload = data[9:9 + length]
            data = data[9 + length:]
            if kind in (HEADERS, CONTINUATION):
                if kind == HEADERS:
                    if flags & PADDED:
                        payload = payload[1:len(payload) - payload[0]]
                    if flags & PRIORITY:
                        payload = payload[5:]
                block += payload
                if flags & END_HEADERS:
                    self.requests.append([(n.decode() if isinstance(n, bytes) else n,
                                           v.decode() if isinstance(v, bytes) else v)
                                          for n, v in decoder.decode(block, raw=True)])
                    block = b""

    def names(self):
        return {n for headers in self.requests for n, _ in headers}

    def paths(self):
        return [v for headers in self.requests for n, v in headers if n == ":path"]

    def text(self):
        return self.raw + "".join(f"{n}: {v}\n" for headers in self.requests
                                  for n, v in headers).encode()


class FakeRunner:
    """Accepts connections on `listener` until stopped; `mode` is "silent",
    "proof" (a random proof) or "old" (UNIMPLEMENTED)."""

    def __init__(self, listener, mode):
        self.listener, self.mode = listener, mode
        self.captures = []
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self):
        os.write(self._stop_w, b"x")
        self._thread.join()
        self.listener.close()
        os.close(self._stop_r)
        os.close(self._stop_w)
        return [Capture(raw) for raw in self.captures]

    def _loop(self):
        while True:
            ready, _, _ = select.select([self.listener, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            conn, _ = self.listener.accept()
            self.captures.append(self._serve(conn))

    def _serve(self, conn):
        raw, parsed = b"", 0
        encoder = hpack.Encoder()
        conn.sendall(frame(SETTINGS, 0, 0))
        with conn:
            while True:
                ready, _, _ = select.select([conn, self._stop_r], [], [])
                if self._stop_r in ready and conn not in ready:
                    # The client has gone (the CLI exited): take what is left.
                    conn.settimeout(5)
                    try:
                        while chunk := conn.recv(65536):
                            raw += chunk
                    except OSError:
                        pass
                    return raw
                try:
                    chunk = conn.recv(65536)
                except ConnectionResetError:  # the CLI hung up after refusing
                    return raw
                if not chunk:
                    return raw
                raw += chunk
                try:
                    parsed = self._answer(conn, raw, parsed, encoder)
                except (BrokenPipeError, ConnectionResetError):
                    return raw

    def _answer(self, conn, raw, parsed, encoder):
        """Answers the frames in raw[parsed:] that need an answer; returns how
        far it got."""
        if len(raw) < len(PREFACE):
            return parsed
        at = max(parsed, len(PREFACE))
        while len(raw) - at >= 9:
            length = int.from_bytes(raw[at:at + 3], "big")
            if len(raw) - at < 9 + length:
                break
            kind, flags = raw[at + 3], raw[at + 4]
            stream = int.from_bytes(raw[at + 5:at + 9], "big") & 0x7FFFFFFF
            at += 9 + length
            if kind == SETTINGS and not flags & ACK:
                conn.sendall(frame(SETTINGS, ACK, 0))
            elif kind == PING and not flags & ACK:
                conn.sendall(frame(PING, ACK, 0, raw[at - length:at]))
            elif kind == HEADERS and self.mode == "old":
                conn.sendall(frame(HEADERS, END_HEADERS | END_STREAM, stream, encoder.encode(
                    [(":status", "200"), ("content-type", "application/grpc"),
                     ("grpc-status", "12"), ("grpc-message", "unknown service")])))
            elif kind == HEADERS and self.mode == "proof":
                answer = (proto_bytes(1, b"sagewai-hmac-sha256-v1") +
                          proto_bytes(2, os.urandom(32)) + proto_bytes(3, os.urandom(32)))
                conn.sendall(
                    frame(HEADERS, END_HEADERS, stream, encoder.encode(
                        [(":status", "200"), ("content-type", "application/grpc")])) +
                    frame(DATA, 0, stream, b"\x00" + struct.pack(">I", len(answer)) + answer) +
                    frame(HEADERS, END_HEADERS | END_STREAM, stream,
                          encoder.encode([("grpc-status", "0")])))
        return at


def unix_listener(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(8)
    return s


def tcp_listener(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    return s


class ImpostorTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for binary in (CLI, RUNNER):
            if not os.access(binary, os.X_OK):
                raise unittest.SkipTest(f"{binary} is not built")
        cls.dir = tempfile.mkdtemp(prefix="sagewai-impostor-")
        os.chmod(cls.dir, 0o755)
        cls.token_file = os.path.join(cls.dir, "token")
        with open(os.open(cls.token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(TOKEN + "\n")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def exec_cli(self, addr, *extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SAGEWAI_")}
        return subprocess.run([CLI, "exec", *extra, "--addr", addr, "--token-file",
                               self.token_file, "--", "echo", "hi"], env=env,
                              capture_output=True, text=True, timeout=120)

    def assert_learned_nothing(self, captures, expect_challenge=True):
        """The whole point: whatever the impostor got is worthless."""
        self.assertTrue(captures, "the CLI never connected: the test proves nothing")
        for capture in captures:
            self.assertNotIn("authorization", capture.names(),
                             f"the CLI sent authorization to an impostor: {capture.requests}")
            self.assertTrue(set(capture.paths()) <= {CHALLENGE},
                            f"the CLI sent a call before the runner proved itself: "
                            f"{capture.paths()}")
            for secret in forms(TOKEN) + forms(KEY):
                self.assertNotIn(secret, capture.text(), "a form of the token or of K was sent")
        if expect_challenge:
            self.assertIn(CHALLENGE, [p for c in captures for p in c.paths()],
                          "the impostor should have seen (only) the challenge")

    def test_decoder_sees_a_bearer_token(self):
        """Control: the capture would catch the old behaviour (a client that
        sends `authorization: Bearer <token>`), Huffman-coded or not."""
        listener = tcp_listener(0)
        fake = FakeRunner(listener, "old")
        channel = grpc.insecure_channel(f"127.0.0.1:{listener.getsockname()[1]}")
        call = channel.unary_unary("/sagewai.sandbox.v1.Bash/Run")
        with self.assertRaises(grpc.RpcError):
            call(b"", metadata=(("authorization", "Bearer " + TOKEN),), timeout=10)
        channel.close()
        captures = fake.stop()
        self.assertIn("authorization", captures[0].names())
        self.assertIn(TOKEN.encode(), captures[0].text())
        with self.assertRaises(AssertionError):
            self.assert_learned_nothing(captures, expect_challenge=False)

    def test_a_socket_bound_by_another_user_gets_no_byte(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to bind a socket as nobody")
        sub = os.path.join(self.dir, "nobody")
        os.mkdir(sub)
        os.chown(sub, NOBODY, NOBODY)
        path = os.path.join(sub, "tool-runner.sock")
        ready_r, ready_w = os.pipe()
        bytes_r, bytes_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the impostor: another uid, as a tool would be
            try:
                os.close(ready_r)
                os.close(bytes_r)
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                listener = unix_listener(path)
                os.write(ready_w, b"r")
                conn, _ = listener.accept()
                conn.sendall(frame(SETTINGS, 0, 0))
                raw = b""
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    raw += chunk
                os.write(bytes_w, raw)
            finally:
                os._exit(0)
        os.close(ready_w)
        os.close(bytes_w)
        self.assertEqual(os.read(ready_r, 1), b"r", "the impostor did not start")
        os.close(ready_r)
        result = self.exec_cli("unix://" + path)
        # Should the CLI not have connected, this lets the impostor finish.
        nudge = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            nudge.connect(path)
        except OSError:
            pass
        nudge.close()
        received = b""
        while True:
            chunk = os.read(bytes_r, 65536)
            if not chunk:
                break
            received += chunk
        os.close(bytes_r)
        os.waitpid(pid, 0)
        self.assertEqual(result.returncode, 77, result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertIn(f"uid {NOBODY}) is not the runner", result.stderr)
        self.assertIn("nothing was sent", result.stderr)
        self.assertEqual(received, b"", "the peer check must refuse before any byte is sent")

    def same_uid(self, mode):
        path = os.path.join(self.dir, f"{mode}.sock")
        fake = FakeRunner(unix_listener(path), mode)
        result = self.exec_cli("unix://" + path)
        return result, fake.stop()

    def test_same_uid_impostor_with_a_random_proof(self):
        result, captures = self.same_uid("proof")
        self.assertEqual(result.returncode, 77, result.stderr)
        self.assertIn("could not prove it holds the session key", result.stderr)
        self.assertIn("nothing secret was sent", result.stderr)
        self.assert_learned_nothing(captures)

    def test_same_uid_impostor_that_says_nothing(self):
        result, captures = self.same_uid("silent")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("did not answer Auth.Challenge", result.stderr)
        self.assertIn("nothing secret was sent", result.stderr)
        self.assert_learned_nothing(captures)

    def test_same_uid_impostor_posing_as_an_old_runner(self):
        result, captures = self.same_uid("old")
        self.assertEqual(result.returncode, 77, result.stderr)
        self.assertIn("has no Auth.Challenge", result.stderr)
        self.assertIn("--allow-bearer", result.stderr)
        self.assert_learned_nothing(captures)

    def test_allow_bearer_is_what_would_hand_the_token_over(self):
        """Why --allow-bearer is off by default, and proof that these checks
        see the CLI's own traffic: with it, an impostor posing as an old
        runner gets the token in plain."""
        path = os.path.join(self.dir, "bearer.sock")
        fake = FakeRunner(unix_listener(path), "old")
        result = self.exec_cli("unix://" + path, "--allow-bearer")
        captures = fake.stop()
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("sending the session token in plain", result.stderr)
        self.assertIn(("authorization", "Bearer " + TOKEN),
                      [h for c in captures for r in c.requests for h in r])
        with self.assertRaises(AssertionError):
            self.assert_learned_nothing(captures)

    def test_the_tcp_port_of_a_killed_runner(self):
        probe = tcp_listener(0)
        port = probe.getsockname()[1]
        probe.close()
        runner = subprocess.Popen(
            [RUNNER, "serve", "--keep-identity", "--listen", f"tcp://127.0.0.1:{port}",
             "--token-file", self.token_file, "--workdir", self.dir],
            env=dict(os.environ, SAGEWAI_LOG_LEVEL="warn"), stderr=subprocess.DEVNULL)
        try:
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            grpc.channel_ready_future(channel).result(timeout=30)
            channel.close()
        finally:
            runner.send_signal(signal.SIGKILL)
            runner.wait()
        fake = FakeRunner(tcp_listener(port), "proof")
        result = self.exec_cli(f"tcp://127.0.0.1:{port}")
        captures = fake.stop()
        self.assertEqual(result.returncode, 77, result.stderr)
        self.assertIn("could not prove it holds the session key", result.stderr)
        self.assert_learned_nothing(captures)


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(ImpostorTest)
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    ran = max(0, result.testsRun - len(result.skipped))
    if result.wasSuccessful() and ran == 0:
        return SKIP
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
