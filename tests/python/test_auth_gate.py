#!/usr/bin/python3
"""Every method of every service behind the runner's one gate, proved from
the outside: the methods are not listed here but enumerated through the
runner's own server reflection (which, like health, needs no credential),
and each is called with no credential, a bearer guess, a MAC made with the
wrong key and a MAC signed for another method — all must be UNAUTHENTICATED.
A correctly signed call of each must get past the gate (any other answer),
so the test cannot pass by refusing everything.

Run by CTest with PYTHONPATH at the generated stubs and SAGEWAI_BIN_DIR at
the binaries; exit 77 (skipped) when the runner is not built.
"""
import os
import subprocess
import sys
import tempfile
import time
import unittest

import grpc
from google.protobuf import descriptor_pb2

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "clients", "python"))
import sagewai_sandbox_auth as auth  # noqa: E402

import health_pb2
import health_pb2_grpc

BIN_DIR = os.environ.get("SAGEWAI_BIN_DIR", "")
RUNNER = os.path.join(BIN_DIR, "sagewai-tool-runner")
TOKEN = "auth-gate-token-8d41c7"
REFLECTION = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
# Open by design (DESIGN.md, Transport): a probe or a challenge has no credential yet.
OPEN_SERVICES = {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection",
                 "grpc.reflection.v1.ServerReflection", "sagewai.sandbox.v1.Auth"}


# The reflection messages, by hand (wire format; field numbers from the
# public grpc.reflection.v1alpha definition).
def _string_field(number, value):
    data = value.encode()
    return auth._varint(number << 3 | 2) + auth._varint(len(data)) + data


def _fields(data):
    """(number, bytes) for each length-delimited field, repeated ones
    included (the helper's decoder keeps the last only); varints skipped."""
    out, i = [], 0

    def varint():
        nonlocal i
        value = shift = 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    while i < len(data):
        key = varint()
        number, kind = key >> 3, key & 7
        if kind == 0:
            varint()
        elif kind == 2:
            length = varint()
            out.append((number, data[i:i + length]))
            i += length
        else:
            raise ValueError(f"unexpected wire type {kind}")
    return out


def reflect(channel, request):
    call = channel.stream_stream(REFLECTION, request_serializer=lambda b: b,
                                 response_deserializer=lambda b: b)
    return list(call(iter([request]), timeout=10))[0]


def enumerate_methods(channel):
    """{service: [(method, client_streaming, server_streaming)]} as the runner reports it."""
    reply = reflect(channel, _string_field(7, ""))  # list_services
    services = []
    for number, body in _fields(reply):
        if number == 6:  # list_services_response
            for n2, service in _fields(body):
                if n2 == 1:
                    services += [v.decode() for n3, v in _fields(service) if n3 == 1]
    methods = {}
    for service in services:
        if service in OPEN_SERVICES:
            continue
        reply = reflect(channel, _string_field(4, service))  # file_containing_symbol
        for number, body in _fields(reply):
            if number != 4:  # file_descriptor_response
                continue
            for n2, raw in _fields(body):
                if n2 != 1:
                    continue
                fd = descriptor_pb2.FileDescriptorProto.FromString(raw)
                for s in fd.service:
                    if f"{fd.package}.{s.name}" == service:
                        methods[service] = [(m.name, m.client_streaming, m.server_streaming)
                                            for m in s.method]
    return services, methods


def call(channel, path, client_streaming, server_streaming, metadata, timeout=5):
    """Calls `path` with one empty message; returns the status code."""
    ident = dict(request_serializer=lambda b: b, response_deserializer=lambda b: b)
    try:
        if client_streaming and server_streaming:
            list(channel.stream_stream(path, **ident)(iter([b""]), metadata=metadata,
                                                     timeout=timeout))
        elif client_streaming:
            channel.stream_unary(path, **ident)(iter([b""]), metadata=metadata, timeout=timeout)
        elif server_streaming:
            list(channel.unary_stream(path, **ident)(b"", metadata=metadata, timeout=timeout))
        else:
            channel.unary_unary(path, **ident)(b"", metadata=metadata, timeout=timeout)
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


class AuthGateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(RUNNER, os.X_OK):
            raise unittest.SkipTest(f"{RUNNER} is not built")
        cls.dir = tempfile.mkdtemp(prefix="sagewai-gate-")
        workdir = os.path.join(cls.dir, "work")
        os.mkdir(workdir)
        sock = os.path.join(cls.dir, "runner.sock")
        token_file = os.path.join(cls.dir, "token")
        with open(os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(TOKEN + "\n")
        cls.runner = subprocess.Popen(
            [RUNNER, "serve", "--keep-identity", "--listen", "unix://" + sock, "--token-file",
             token_file, "--workdir", workdir],
            env=dict(os.environ, SAGEWAI_LOG_LEVEL="warn"))
        cls.channel = grpc.insecure_channel("unix://" + sock)
        health = health_pb2_grpc.HealthStub(cls.channel)
        deadline = time.monotonic() + 20
        while True:
            try:
                if health.Check(health_pb2.HealthCheckRequest(), timeout=1).status == \
                        health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.RpcError:
                pass
            if cls.runner.poll() is not None:
                raise RuntimeError(f"the runner exited with {cls.runner.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("the runner did not become SERVING within 20 s")
            time.sleep(0.02)  # polling for start-up with a deadline, not proving anything
        cls.session = auth.challenge(cls.channel, TOKEN)
        cls.services, cls.methods = enumerate_methods(cls.channel)

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "runner", None) is not None:
            cls.runner.terminate()
            cls.runner.wait(timeout=20)

    def each_method(self):
        for service, methods in sorted(self.methods.items()):
            for name, cs, ss in methods:
                yield f"/{service}/{name}", cs, ss

    def test_reflection_lists_the_whole_api_without_a_credential(self):
        for service in ("sagewai.sandbox.v1.Runner", "sagewai.sandbox.v1.Bash",
                        "sagewai.sandbox.v1.CodeEval", "sagewai.sandbox.v1.Filesystem"):
            self.assertIn(service, self.methods, self.services)
        self.assertGreaterEqual(sum(len(m) for m in self.methods.values()), 18)
        self.assertIn("sagewai.sandbox.v1.Auth", self.services)
        self.assertIn("grpc.health.v1.Health", self.services)

    def test_no_credential_is_refused_everywhere(self):
        for path, cs, ss in self.each_method():
            with self.subTest(path):
                self.assertEqual(call(self.channel, path, cs, ss, ()),
                                 grpc.StatusCode.UNAUTHENTICATED)

    def test_a_bearer_guess_is_refused_everywhere(self):
        for path, cs, ss in self.each_method():
            with self.subTest(path):
                self.assertEqual(call(self.channel, path, cs, ss,
                                      (("authorization", "Bearer not-the-token"),)),
                                 grpc.StatusCode.UNAUTHENTICATED)

    def test_a_mac_made_with_the_wrong_key_is_refused_everywhere(self):
        wrong = auth.Session(auth.derive_key("not-the-token"), self.session.server_nonce)
        for path, cs, ss in self.each_method():
            with self.subTest(path):
                self.assertEqual(call(self.channel, path, cs, ss,
                                      (("authorization", wrong.authorization(path)),)),
                                 grpc.StatusCode.UNAUTHENTICATED)

    def test_a_mac_signed_for_another_method_is_refused_everywhere(self):
        for path, cs, ss in self.each_method():
            other = ("/sagewai.sandbox.v1.Runner/GetInfo"
                     if path != "/sagewai.sandbox.v1.Runner/GetInfo"
                     else "/sagewai.sandbox.v1.Bash/Run")
            with self.subTest(path):
                self.assertEqual(call(self.channel, path, cs, ss,
                                      (("authorization", self.session.authorization(other)),)),
                                 grpc.StatusCode.UNAUTHENTICATED)

    def test_a_signed_call_gets_past_the_gate_everywhere(self):
        # The positive control: the empty message may be refused for what it
        # is (INVALID_ARGUMENT ...), or a Watch may run until the deadline.
        for path, cs, ss in self.each_method():
            with self.subTest(path):
                code = call(self.channel, path, cs, ss,
                            (("authorization", self.session.authorization(path)),), timeout=3)
                self.assertNotEqual(code, grpc.StatusCode.UNAUTHENTICATED)
                self.assertNotEqual(code, grpc.StatusCode.UNIMPLEMENTED)

    def test_health_and_challenge_stay_open(self):
        health = health_pb2_grpc.HealthStub(self.channel)
        self.assertEqual(health.Check(health_pb2.HealthCheckRequest()).status,
                         health_pb2.HealthCheckResponse.SERVING)
        # An empty client nonce is wrong for what it is, not for who sent it.
        self.assertEqual(call(self.channel, "/sagewai.sandbox.v1.Auth/Challenge", False, False, ()),
                         grpc.StatusCode.INVALID_ARGUMENT)


if __name__ == "__main__":
    result = unittest.main(exit=False).result
    if result.skipped and not result.failures and not result.errors and result.testsRun == len(
            result.skipped):
        sys.exit(77)
    sys.exit(0 if result.wasSuccessful() else 1)
