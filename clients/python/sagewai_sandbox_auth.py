"""Connect to a Sagewai sandbox runner from Python's grpcio without ever
sending the session token.

The runner speaks the "sagewai-hmac-sha256-v1" scheme (see `service Auth` in
proto/sagewai/sandbox/v1/sandbox.proto and the README, "Authentication and
the host's peer check"):

    K = HMAC-SHA256(key=SESSION_TOKEN, "sagewai-sandbox-v1 key")

`connect()` sends a fresh random client nonce to Auth.Challenge, checks the
runner's proof HMAC(K, "sagewai-sandbox-v1 server\\n" || client_nonce ||
server_nonce) before anything else is sent, and returns a channel that adds
`authorization: Sagewai-HMAC-SHA256 nonce=..., seq=..., mac=...` to every
call (unary and streaming), one new seq per call. An impostor listening
where the runner should be learns a random nonce and nothing else.

Example (Debian's python3-grpcio and stubs generated from proto/):

    import sagewai_sandbox_auth
    from sagewai.sandbox.v1 import sandbox_pb2 as pb, sandbox_pb2_grpc as pb_grpc

    token = open("/path/to/state/token").read().strip()
    channel = sagewai_sandbox_auth.connect("unix:///run/sagewai/tool-runner.sock", token)
    print(pb_grpc.BashStub(channel).Run(pb.BashRequest(command="echo hi")).stdout)

Unix sockets: before connecting, `connect()` checks who listens on the
socket (SO_PEERCRED): uid 900 (the runner user), 0 or our own euid, unless
peer_uid / peer_pid say whom to expect. grpcio cannot be handed an already
connected fd, so this check runs on a probe connection of its own and gRPC
connects again afterwards: it is a best-effort early refusal, not a
guarantee. What protects the token is the mutual authentication above,
which holds whoever answers.

Needs nothing but grpcio: the two Auth messages are encoded here by hand, so
the generated stubs are not required for connecting.
"""

import hashlib
import hmac
import os
import socket
import struct
import threading

import grpc

SCHEME = "sagewai-hmac-sha256-v1"
AUTHORIZATION_WORD = "Sagewai-HMAC-SHA256"
CHALLENGE_METHOD = "/sagewai.sandbox.v1.Auth/Challenge"
RUNNER_UID = 900
SERVER_NONCE_SIZE = 32
_OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.", "/sagewai.sandbox.v1.Auth/")


class SandboxAuthError(Exception):
    """The peer is not trusted (wrong proof, wrong peer), or the challenge
    could not be run. The message says which, and that no secret was sent."""


# ------------------------------------------------------------- the scheme --

def derive_key(token):
    """K for a session token (str or bytes)."""
    if isinstance(token, str):
        token = token.encode()
    return hmac.new(token, b"sagewai-sandbox-v1 key", hashlib.sha256).digest()


def server_proof(key, client_nonce, server_nonce):
    return hmac.new(key, b"sagewai-sandbox-v1 server\n" + client_nonce + server_nonce,
                    hashlib.sha256).digest()


def call_mac(key, server_nonce, seq, method):
    message = (b"sagewai-sandbox-v1 call\n" + server_nonce + b"\n" + str(seq).encode() + b"\n" +
               method.encode())
    return hmac.new(key, message, hashlib.sha256).digest()


def format_authorization(server_nonce, seq, mac):
    return f"{AUTHORIZATION_WORD} nonce={server_nonce.hex()}, seq={seq}, mac={mac.hex()}"


class Session:
    """K and the runner's nonce after a verified challenge. Thread-safe:
    each authorization() takes the next seq."""

    def __init__(self, key, server_nonce):
        self._key = key
        self.server_nonce = server_nonce
        self._seq = 0
        self._lock = threading.Lock()

    def authorization(self, method):
        """The `authorization` metadata value for one call of `method`
        (the full path, e.g. "/sagewai.sandbox.v1.Bash/Run")."""
        with self._lock:
            self._seq += 1
            seq = self._seq
        return format_authorization(self.server_nonce, seq,
                                    call_mac(self._key, self.server_nonce, seq, method))


# ------------------------------------------ the two messages, by hand --

def _varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _encode_challenge_request(client_nonce):
    return b"\x0a" + _varint(len(client_nonce)) + client_nonce


def _decode_fields(data):
    """{field number: last value} of a protobuf message (varints and
    length-delimited fields only, which is all ChallengeResponse has)."""
    fields, i = {}, 0

    def varint():
        nonlocal i
        shift = value = 0
        while True:
            if i >= len(data) or shift > 63:
                raise SandboxAuthError("the challenge answer is not a valid message")
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while i < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            fields[number] = varint()
        elif wire == 2:
            size = varint()
            if i + size > len(data):
                raise SandboxAuthError("the challenge answer is not a valid message")
            fields[number] = data[i:i + size]
            i += size
        else:
            raise SandboxAuthError("the challenge answer is not a valid message")
    return fields


# ------------------------------------------------------- the peer check --

def _unix_path(target):
    if target.startswith("unix://"):
        return target[len("unix://"):]
    if target.startswith("unix:"):
        return target[len("unix:"):]
    return None


def check_peer(path, peer_uid=None, peer_pid=None):
    """Raises SandboxAuthError unless the process listening on the unix
    socket `path` is the one expected (see the module docstring)."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            probe.connect(path)
        except OSError as e:
            raise SandboxAuthError(f"cannot connect to {path}: {e.strerror} — is the sandbox "
                                   f"running? is the socket path right?") from e
        creds = probe.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    finally:
        probe.close()
    pid, uid, _ = struct.unpack("3i", creds)
    if peer_pid is not None and pid != peer_pid:
        expected = f"pid {peer_pid}"
    elif peer_uid is not None and uid != peer_uid:
        expected = f"uid {peer_uid}"
    elif peer_pid is None and peer_uid is None and uid not in (RUNNER_UID, 0, os.geteuid()):
        expected = f"uid {RUNNER_UID} (the runner user), 0 or {os.geteuid()} (yours)"
    else:
        return
    raise SandboxAuthError(
        f"refusing to talk to unix://{path}: the process listening there (pid {pid}, uid {uid}) "
        f"is not the runner — expected {expected}; nothing was sent. Pass peer_uid= or "
        f"peer_pid= if the runner is known to run as another user")


# -------------------------------------------------------- the challenge --

def challenge(channel, token, *, target="the runner", timeout=10):
    """Runs Auth.Challenge on `channel` and verifies the answer; returns a
    Session. Raises SandboxAuthError when the peer cannot prove it holds K."""
    key = derive_key(token)
    client_nonce = os.urandom(32)
    call = channel.unary_unary(CHALLENGE_METHOD, request_serializer=_encode_challenge_request,
                               response_deserializer=_decode_fields)
    try:
        fields = call(client_nonce, timeout=timeout)
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.UNIMPLEMENTED:
            raise SandboxAuthError(
                f"{target} has no Auth.Challenge (an old runner, or not a sagewai-tool-runner): "
                f"refusing to send the token in plain; nothing secret was sent") from e
        if e.code() == grpc.StatusCode.FAILED_PRECONDITION:
            raise SandboxAuthError(
                f"{target} says it has no session token, but one was given: it is not the "
                f"sandbox that token belongs to; nothing secret was sent") from e
        raise SandboxAuthError(f"Auth.Challenge at {target} failed ({e.code().name}: "
                               f"{e.details()}); nothing secret was sent") from e
    scheme = fields.get(1, b"")
    server_nonce = fields.get(2, b"")
    proof = fields.get(3, b"")
    if scheme != SCHEME.encode():
        raise SandboxAuthError(f"{target} answered with scheme {scheme[:40]!r}, not {SCHEME}; "
                               f"nothing secret was sent")
    if (len(server_nonce) != SERVER_NONCE_SIZE or
            not hmac.compare_digest(proof, server_proof(key, client_nonce, server_nonce))):
        raise SandboxAuthError(
            f"the peer at {target} could not prove it holds the session key: it is not this "
            f"sandbox's runner, or the token is wrong — nothing secret was sent")
    return Session(key, server_nonce)


# ----------------------------------------------------------- the channel --

class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, details, metadata):
        self.method = details.method
        self.timeout = details.timeout
        self.metadata = metadata
        self.credentials = details.credentials
        self.wait_for_ready = details.wait_for_ready
        self.compression = details.compression


class _AuthInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                       grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):

    def __init__(self, session):
        self._session = session

    def _signed(self, details):
        method = details.method
        if isinstance(method, bytes):
            method = method.decode()
        metadata = list(details.metadata or [])
        if not method.startswith(_OPEN_PREFIXES) and not any(
                k == "authorization" for k, _ in metadata):
            metadata.append(("authorization", self._session.authorization(method)))
        return _CallDetails(details, metadata)

    def intercept_unary_unary(self, continuation, details, request):
        return continuation(self._signed(details), request)

    def intercept_unary_stream(self, continuation, details, request):
        return continuation(self._signed(details), request)

    def intercept_stream_unary(self, continuation, details, request_iterator):
        return continuation(self._signed(details), request_iterator)

    def intercept_stream_stream(self, continuation, details, request_iterator):
        return continuation(self._signed(details), request_iterator)


def connect(target, token, *, peer_uid=None, peer_pid=None, timeout=10):
    """A grpc.Channel to the runner at `target` ("unix:///path" or
    "host:port") whose every call is authenticated. Raises
    SandboxAuthError when the peer is refused or cannot prove itself."""
    path = _unix_path(target)
    if path is not None:
        check_peer(path, peer_uid=peer_uid, peer_pid=peer_pid)
    channel = grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", -1)])
    try:
        session = challenge(channel, token, target=target, timeout=timeout)
    except BaseException:
        channel.close()
        raise
    return grpc.intercept_channel(channel, _AuthInterceptor(session))
