#!/usr/bin/python3
"""Drives a sandbox with a 256 MiB memory limit from the host over its socket
(Debian's python3-grpcio, the stubs of tests/python) and checks the result
fields a caller sees when the kernel's OOM killer ends a tool: a Bash.Run
past the limit is signal 9 with oom_killed (a shell pipeline: exit 137); the
same runner answers the next call (oom_killed false); a timeout and a kill -9
of the command's own shell are not called OOM kills, even while another call
is OOM-killed; an interpreter killed the same way ends its eval context_dead
with oom_killed.

    oom_client.py ADDR TOKEN_FILE

Prints one line per check (PASS:/FAIL:) and exits 1 when any failed.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "clients", "python"))
import sagewai_sandbox_auth  # noqa: E402

from sagewai.sandbox.v1 import sandbox_pb2 as pb  # noqa: E402
from sagewai.sandbox.v1 import sandbox_pb2_grpc as pb_grpc  # noqa: E402

CALL_DEADLINE_S = 120
FAILURES = []

# 600 MiB, every page touched: far past the 256 MiB the container may use.
ALLOCATE = "b = bytearray(600 << 20); b[::4096] = b'x' * len(b[::4096]); print(len(b))"


def check(ok, what):
    print(("PASS: " if ok else "FAIL: ") + what, flush=True)
    if not ok:
        FAILURES.append(what)


def describe(r):
    return (f"exit_code={r.exit_code} signal={r.signal} oom_killed={r.oom_killed} "
            f"timed_out={r.timed_out} stderr={r.stderr[-300:]!r}")


def bash_checks(bash):
    r = bash.Run(pb.BashRequest(command=f'exec python3 -c "{ALLOCATE}"', timeout_ms=60000),
                 timeout=CALL_DEADLINE_S)
    check(r.signal == 9 and r.exit_code == 137 and r.oom_killed,
          f"an allocation past the limit: signal 9, oom_killed ({describe(r)})")

    # A pipeline: bash itself lives and reports its child's SIGKILL as 137.
    r = bash.Run(pb.BashRequest(command=f'echo | python3 -c "{ALLOCATE}"', timeout_ms=60000),
                 timeout=CALL_DEADLINE_S)
    check(r.exit_code == 137 and r.oom_killed,
          f"an allocation in a pipeline: exit 137, oom_killed ({describe(r)})")

    r = bash.Run(pb.BashRequest(command="echo ok"), timeout=CALL_DEADLINE_S)
    check(r.exit_code == 0 and r.stdout == b"ok\n" and not r.oom_killed,
          f"the same runner answers the next call, oom_killed false ({describe(r)})")

    r = bash.Run(pb.BashRequest(command="exec sleep 30", timeout_ms=500), timeout=CALL_DEADLINE_S)
    check(r.timed_out and not r.oom_killed,
          f"a command killed by its timeout is not an OOM kill ({describe(r)})")

    # The runner's own SIGKILL (a timeout whose SIGTERM is ignored) while an
    # OOM kill raises the count: still not an OOM kill.
    stubborn = bash.Run.future(pb.BashRequest(command="trap '' TERM; exec sleep 30",
                                              timeout_ms=3000), timeout=CALL_DEADLINE_S)
    r = bash.Run(pb.BashRequest(command=f'exec python3 -c "{ALLOCATE}"', timeout_ms=60000),
                 timeout=CALL_DEADLINE_S)
    check(r.oom_killed, f"an allocation beside a timed-out call: oom_killed ({describe(r)})")
    r = stubborn.result()
    check(r.timed_out and r.signal == 9 and not r.oom_killed,
          f"a timeout's SIGKILL during an OOM kill is not one ({describe(r)})")

    r = bash.Run(pb.BashRequest(command="kill -9 $$"), timeout=CALL_DEADLINE_S)
    check(r.signal == 9 and not r.oom_killed,
          f"a SIGKILL without an OOM kill is not one ({describe(r)})")


def eval_checks(evals):
    ctx = evals.CreateContext(pb.CreateContextRequest(language="python"), timeout=CALL_DEADLINE_S)
    r = evals.Eval(pb.EvalRequest(context_id=ctx.context_id, code=ALLOCATE, timeout_ms=60000),
                   timeout=CALL_DEADLINE_S)
    check(r.context_dead and r.oom_killed and "OOM killer" in r.error.message,
          f"an interpreter past the limit: context_dead, oom_killed (context_dead="
          f"{r.context_dead} oom_killed={r.oom_killed} error={r.error.message!r})")
    evals.DeleteContext(pb.DeleteContextRequest(context_id=ctx.context_id),
                        timeout=CALL_DEADLINE_S)

    r = evals.Eval(pb.EvalRequest(code="print(6 * 7)", timeout_ms=60000), timeout=CALL_DEADLINE_S)
    check(r.stdout == b"42\n" and not r.context_dead and not r.oom_killed,
          f"the next eval runs, oom_killed false (stdout={r.stdout!r} oom_killed={r.oom_killed})")


def main():
    addr, token_file = sys.argv[1], sys.argv[2]
    with open(token_file) as f:
        channel = sagewai_sandbox_auth.connect(addr, f.read().strip())
    bash_checks(pb_grpc.BashStub(channel))
    eval_checks(pb_grpc.CodeEvalStub(channel))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
