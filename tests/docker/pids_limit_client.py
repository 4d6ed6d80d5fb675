#!/usr/bin/python3
"""Drives a sandbox started with a small --pids-limit from the host over its
socket (Debian's python3-grpcio, the stubs of tests/python): bursts of many
more concurrent calls than the limit allows, then calls while one command
holds every pid of the container. Every call must end inside its deadline,
either OK or RESOURCE_EXHAUSTED with a message that names the limit; the
runner must answer normally afterwards.

    pids_limit_client.py ADDR TOKEN_FILE PIDS_LIMIT

Prints one line per check (PASS:/FAIL:) and exits 1 when any failed.
"""
import os
import queue
import sys
import threading

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "clients", "python"))
import sagewai_sandbox_auth  # noqa: E402

import health_pb2  # noqa: E402
import health_pb2_grpc  # noqa: E402
from sagewai.sandbox.v1 import sandbox_pb2 as pb  # noqa: E402
from sagewai.sandbox.v1 import sandbox_pb2_grpc as pb_grpc  # noqa: E402

# Deadlines bound every wait of this client: a call that hangs fails with
# DEADLINE_EXCEEDED instead of holding the test.
CALL_DEADLINE_S = 60
FAILURES = []

# Forks until the kernel refuses (Python does not retry as bash does), says
# how many it holds, and keeps them until its stdin ends; then it reaps them
# all before it exits, so that its exit event means the pids are free.
FILLER = r"""
import os, sys
r, w = os.pipe()
held = 0
while True:
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    held += 1
print("full", held, flush=True)
sys.stdin.buffer.read()
os.close(w)
for _ in range(held):
    os.wait()
"""


def check(ok, what):
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        FAILURES.append(what)


def names_a_limit(message, pids_limit):
    """The two refusals a caller may get: a call slot, or a process."""
    return ("too many calls in flight" in message or
            f"pids.max {pids_limit}" in message)


class Outcomes:
    """Tallies the codes of finished calls; remembers one message each."""

    def __init__(self):
        self.lock = threading.Lock()
        self.codes = {}
        self.example = {}
        self.bad = []

    def add(self, code, message, acceptable):
        with self.lock:
            self.codes[code.name] = self.codes.get(code.name, 0) + 1
            self.example.setdefault(code.name, message)
            if not acceptable:
                self.bad.append(f"{code.name}: {message}")

    def summary(self):
        return ", ".join(f"{n} {c}" for c, n in sorted(self.codes.items()))


def classify(outcomes, pids_limit, error):
    code, message = error.code(), error.details() or ""
    outcomes.add(code, message,
                 code == grpc.StatusCode.RESOURCE_EXHAUSTED and names_a_limit(message, pids_limit))


def burst(bash, pids_limit, callers, command):
    """`callers` concurrent Bash.Run calls of `command`; waits for all."""
    outcomes = Outcomes()
    futures = [bash.Run.future(pb.BashRequest(command=command, timeout_ms=30000),
                               timeout=CALL_DEADLINE_S) for _ in range(callers)]
    for f in futures:
        try:
            f.result()
            outcomes.add(grpc.StatusCode.OK, "", True)
        except grpc.RpcError as e:
            classify(outcomes, pids_limit, e)
    return outcomes


def report(what, outcomes):
    print(f"{what}: {outcomes.summary()}", flush=True)
    for code, message in sorted(outcomes.example.items()):
        if message:
            print(f"  e.g. {code}: {message}", flush=True)
    check(not outcomes.bad, f"{what}: every call OK or RESOURCE_EXHAUSTED naming the limit" +
          ("" if not outcomes.bad else f" (first bad: {outcomes.bad[0]})"))


class Filler:
    """A Bash.Stream running FILLER: holds every free pid until stopped."""

    def __init__(self, bash):
        self.requests = queue.Queue()
        self.requests.put(pb.BashStreamRequest(start=pb.BashRequest(
            command='exec python3 -c "$FILLER"', env={"FILLER": FILLER}, timeout_ms=120000)))
        self.events = bash.Stream(iter(self.requests.get, None), timeout=CALL_DEADLINE_S * 2)

    def wait_full(self):
        out = b""
        for event in self.events:
            if event.HasField("exit"):
                return None
            out += event.stdout
            if b"\n" in out:
                return out.decode(errors="replace").strip()
        return None

    def stop(self):
        """Ends its stdin; returns the exit event's code once all is reaped."""
        self.requests.put(pb.BashStreamRequest(stdin_close=pb.StdinClose()))
        self.requests.put(None)
        for event in self.events:
            if event.HasField("exit"):
                return event.exit.exit_code
        return None


def while_full(channel, pids_limit):
    """Every kind of call that starts a process, with no pid left: one at a
    time (a burst here would make gRPC grow its thread pools, which it
    cannot while no pid is left; see the README)."""
    bash = pb_grpc.BashStub(channel)
    evals = pb_grpc.CodeEvalStub(channel)
    outcomes = Outcomes()
    calls = [
        lambda: bash.Run(pb.BashRequest(command="echo ok"), timeout=CALL_DEADLINE_S),
        lambda: list(bash.Stream(iter([pb.BashStreamRequest(
            start=pb.BashRequest(command="echo ok"))]), timeout=CALL_DEADLINE_S)),
        lambda: evals.Eval(pb.EvalRequest(code="print(1)", language="python"),
                           timeout=CALL_DEADLINE_S),
        # Twice: the first may take a spare interpreter started earlier.
        lambda: evals.CreateContext(pb.CreateContextRequest(language="bash"),
                                    timeout=CALL_DEADLINE_S),
        lambda: evals.CreateContext(pb.CreateContextRequest(language="bash"),
                                    timeout=CALL_DEADLINE_S),
    ]
    for call in calls * 2:
        try:
            call()
            outcomes.add(grpc.StatusCode.OK, "", True)
        except grpc.RpcError as e:
            classify(outcomes, pids_limit, e)
    return outcomes


def healthy(channel):
    try:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(),
                                                          timeout=10)
        return reply.status == health_pb2.HealthCheckResponse.SERVING
    except grpc.RpcError as e:
        print(f"  health: {e.code().name}: {e.details()}", flush=True)
        return False


def main():
    addr, token_file, pids_limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(token_file) as f:
        channel = sagewai_sandbox_auth.connect(addr, f.read().strip())
    bash = pb_grpc.BashStub(channel)
    info = pb_grpc.RunnerStub(channel).GetInfo(pb.GetInfoRequest(), timeout=CALL_DEADLINE_S)
    print(f"runner {info.version}: max concurrent calls {info.limits.max_concurrent_calls} "
          f"under --pids-limit {pids_limit}", flush=True)
    check(info.limits.max_concurrent_calls < pids_limit,
          "the call limit leaves room under the pids limit")

    callers = pids_limit * 4
    report(f"{callers} concurrent `echo ok; sleep 1`", burst(bash, pids_limit, callers,
                                                           "echo ok; sleep 1"))

    filler = Filler(bash)
    full = filler.wait_full()
    check(full is not None and full.startswith("full "), f"a command holds every pid ({full})")
    if full is not None:
        report("calls while no pid is left", while_full(channel, pids_limit))
        check(healthy(channel), "Health answers SERVING while no pid is left")
        check(filler.stop() == 0, "the command holding the pids ended")

    check(healthy(channel), "Health answers SERVING afterwards")
    try:
        reply = bash.Run(pb.BashRequest(command="echo after"), timeout=CALL_DEADLINE_S)
        check(reply.exit_code == 0 and reply.stdout == b"after\n",
              f"a plain call succeeds afterwards ({reply.exit_code}, {reply.stdout!r})")
    except grpc.RpcError as e:
        check(False, f"a plain call succeeds afterwards ({e.code().name}: {e.details()})")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
