#!/usr/bin/python3
"""Bad input on the JSON-RPC stdio protocol of the existing Sagewai worker
(`sagewai-tool-runner` with no arguments, newline-delimited JSON-RPC 2.0 on
stdin/stdout): every hostile line gets one exact error reply (-32700 parse,
-32600 invalid request, -32601 method not found, -32602 invalid params; id 0
when the id cannot be known), nothing is lost, and the same process answers
the next valid line. One runner serves the whole class; each test ends with
an `echo ok` through it, and the last one checks it is still the same pid.

Run by CTest with SAGEWAI_BIN_DIR at the built binaries; exit 77 (skipped)
when the runner is not built.
"""
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

BIN_DIR = os.environ.get("SAGEWAI_BIN_DIR", "")
RUNNER = os.path.abspath(os.path.join(BIN_DIR, "sagewai-tool-runner"))
SKIP_CODE = 77
PARSE, INVALID_REQUEST, NO_METHOD, INVALID_PARAMS = -32700, -32600, -32601, -32602


class StdioRunner:
    """The runner in stdio mode with pipes; replies are read line by line
    with a deadline (a hang fails the test instead of blocking it)."""

    def __init__(self, workdir):
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "AGENT_WORKDIR": workdir,
               "SAGEWAI_LOG_LEVEL": "warn"}
        # As root, tools run as nobody, as the entrypoint would arrange.
        if os.geteuid() == 0:
            env["AGENT_USER"] = "nobody"
        self.proc = subprocess.Popen([RUNNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=workdir)
        self.buffer = b""

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read_line(self, timeout=30):
        """The next reply as a dict; fails on EOF or after `timeout` s."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no reply within {timeout} s; have {self.buffer[:200]!r}")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise AssertionError(
                        f"the runner closed stdout (exit {self.proc.wait()}); "
                        f"stderr: {self.proc.stderr.read()[-2000:]!r}")
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def close(self):
        """Closes stdin; returns (exit status, rest of stdout, stderr)."""
        self.proc.stdin.close()
        rest = self.buffer + self.proc.stdout.read()
        err = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return self.proc.wait(timeout=30), rest, err


def request(rid, tool="bash", args=None, **params):
    body = {"jsonrpc": "2.0", "id": rid, "method": "exec",
            "params": dict({"tool": tool, "args": args if args is not None else
                            {"command": "echo ok"}}, **params)}
    return json.dumps(body).encode() + b"\n"


class StdioBadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(RUNNER, os.X_OK):
            raise unittest.SkipTest(f"{RUNNER} is not built")
        cls.dir = tempfile.mkdtemp(prefix="sagewai-bad-stdio-")
        os.chmod(cls.dir, 0o777)
        cls.runner = StdioRunner(cls.dir)
        cls.pid = cls.runner.proc.pid
        cls.next_id = 1000

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "runner", None) is not None:
            if cls.runner.proc.poll() is None:
                cls.runner.proc.kill()
            cls.runner.proc.wait()
            shutil.rmtree(cls.dir, ignore_errors=True)

    def tearDown(self):
        self.assert_still_serving()

    def assert_still_serving(self):
        StdioBadInputTest.next_id += 1
        rid = self.next_id
        self.runner.send(request(rid, call_id=f"alive-{rid}"))
        reply = self.runner.read_line()
        self.assertEqual(reply["id"], rid, reply)
        self.assertEqual(reply["result"]["stdout"], "ok\n", reply)
        self.assertTrue(reply["result"]["ok"], reply)
        self.assertEqual(reply["result"]["call_id"], f"alive-{rid}")
        self.assertIsNone(self.runner.proc.poll(), "the runner exited")

    def expect_error(self, line, code, rid, fragment):
        self.runner.send(line)
        reply = self.runner.read_line()
        self.assertEqual(reply.get("jsonrpc"), "2.0", reply)
        self.assertEqual(reply["id"], rid, reply)
        self.assertNotIn("result", reply)
        self.assertEqual(reply["error"]["code"], code, reply)
        self.assertIn(fragment, reply["error"]["message"])
        return reply

    def test_not_json(self):
        for line in (b"this is not json", b"{oops}", b"{'id': 1}", b"exec bash echo",
                     b'{"id":1,"method":"exec",}', b"NaN", b"[1,]"):
            with self.subTest(line=line):
                self.expect_error(line + b"\n", PARSE, 0, "Parse error: invalid JSON at byte")

    def test_truncated_json(self):
        whole = request(5)
        for cut in (1, 10, len(whole) // 2, len(whole) - 3):
            with self.subTest(cut=cut):
                self.expect_error(whole[:cut] + b"\n", PARSE, 0, "Parse error")

    def test_batches_are_refused(self):
        self.expect_error(b"[" + request(1).strip() + b"," + request(2).strip() + b"]\n",
                          INVALID_REQUEST, 0, "batch requests (arrays) are not supported")
        self.expect_error(b"[]\n", INVALID_REQUEST, 0, "batch")

    def test_scalars_at_top_level(self):
        for line, kind in ((b"7", "number"), (b'"exec"', "string"), (b"null", "null"),
                           (b"true", "bool"), (b"-1.5e3", "number")):
            with self.subTest(line=line):
                reply = self.expect_error(line + b"\n", INVALID_REQUEST, 0,
                                          "Invalid Request: expected a JSON object, got ")
                self.assertIn(kind, reply["error"]["message"])

    def test_bad_id_method_or_params(self):
        cases = [
            (b'{"id":3,"params":{}}', INVALID_REQUEST, 3, "method must be a string"),
            (b'{"id":3,"method":7}', INVALID_REQUEST, 3, "method must be a string"),
            (b'{"id":3,"method":null}', INVALID_REQUEST, 3, "method must be a string"),
            (b'{"id":{"a":1},"method":"exec"}', INVALID_REQUEST, 0, "id must be"),
            (b'{"id":[1],"method":"exec"}', INVALID_REQUEST, 0, "id must be"),
            (b'{"id":true,"method":"exec"}', INVALID_REQUEST, 0, "id must be"),
            (b'{"jsonrpc":"1.0","id":3,"method":"exec"}', INVALID_REQUEST, 3, "jsonrpc must be"),
            (b'{"jsonrpc":2,"id":3,"method":"exec"}', INVALID_REQUEST, 3, "jsonrpc must be"),
            (b'{"id":3,"method":"exec"}', INVALID_PARAMS, 3, "params must be an object"),
            (b'{"id":3,"method":"exec","params":[]}', INVALID_PARAMS, 3, "params must be"),
            (b'{"id":3,"method":"exec","params":"bash"}', INVALID_PARAMS, 3, "params must be"),
            (b'{"id":3,"method":"exec","params":{}}', INVALID_PARAMS, 3, "params.tool must be"),
            (b'{"id":3,"method":"exec","params":{"tool":7}}', INVALID_PARAMS, 3,
             "params.tool must be"),
            (b'{"id":"x","method":"exec","params":{"tool":"bash","args":"echo"}}',
             INVALID_PARAMS, "x", "params.args must be an object"),
            (b'{"id":3,"method":"exec","params":{"tool":"bash","call_id":5}}', INVALID_PARAMS, 3,
             "params.call_id must be"),
        ]
        for line, code, rid, fragment in cases:
            with self.subTest(line=line):
                self.expect_error(line + b"\n", code, rid, fragment)

    def test_unknown_method_and_tool(self):
        self.expect_error(b'{"jsonrpc":"2.0","id":"m","method":"shutdown","params":{}}\n',
                          NO_METHOD, "m", 'Method not found: "shutdown"')
        self.expect_error(b'{"id":4,"method":"EXEC"}\n', NO_METHOD, 4, "Method not found")
        reply = self.expect_error(request(4, tool="teleport"), INVALID_PARAMS, 4,
                                  'unknown tool "teleport"; known tools: ')
        self.assertIn("bash", reply["error"]["message"])
        self.expect_error(request(4, tool=""), INVALID_PARAMS, 4, 'unknown tool ""')

    def test_wrong_typed_args(self):
        for args in ({"command": 7}, {"command": None}, {"command": ["echo", "x"]},
                     {"command": {"x": 1}}, {}):
            with self.subTest(args=args):
                self.expect_error(request(6, args=args), INVALID_PARAMS, 6,
                                  'Invalid params: tool "bash": ')
        self.expect_error(request(6, tool="fs.read", args={"path": 7}), INVALID_PARAMS, 6,
                          'tool "fs.read": ')

    def test_bad_timeouts(self):
        for value in (-1, 0, "10", [], {}, True, -1e308):
            with self.subTest(timeout_s=value):
                self.expect_error(request(7, timeout_s=value), INVALID_PARAMS, 7,
                                  "params.timeout_s must be a number of seconds above 0")
        # Absurdly large is lowered to the maximum, not refused: the call runs.
        self.runner.send(request(7, timeout_s=1e300))
        reply = self.runner.read_line()
        self.assertEqual(reply["result"]["stdout"], "ok\n", reply)

    def test_numbers_out_of_range(self):
        # 1e999 is no double: a parse error, not infinity.
        self.expect_error(b'{"id":8,"method":"exec","params":{"tool":"bash","timeout_s":1e999,'
                          b'"args":{"command":"echo x"}}}\n', PARSE, 0, "Parse error")
        # An id beyond int64 is echoed as written.
        self.runner.send(b'{"id":123456789012345678901234567890,"method":"nope"}\n')
        self.assertIn(b'"id":123456789012345678901234567890,', self._raw_line())

    def _raw_line(self):
        fd = self.runner.proc.stdout.fileno()
        deadline = time.monotonic() + 30
        while b"\n" not in self.runner.buffer:
            self.assertTrue(select.select([fd], [], [], max(0, deadline - time.monotonic()))[0],
                            "no reply")
            chunk = os.read(fd, 1 << 16)
            self.assertTrue(chunk, "EOF")
            self.runner.buffer += chunk
        line, self.runner.buffer = self.runner.buffer.split(b"\n", 1)
        return line

    def test_a_64_mib_line(self):
        # Not buffered whole (the limit is 16 MiB): dropped and answered once.
        line = b'{"id":9,"method":"exec","params":{"tool":"bash","args":{"command":"' + \
            b"x" * (64 << 20) + b'"}}}\n'
        self.expect_error(line, PARSE, 0, "request line longer than")

    def test_binary_garbage_and_invalid_utf8(self):
        self.expect_error(bytes(range(256)).replace(b"\n", b"") + b"\n", PARSE, 0, "Parse error")
        self.expect_error(b"\x00\x00\x00\n", PARSE, 0, "Parse error")
        self.expect_error(b"\xef\xbb\xbf" + request(10), PARSE, 0, "Parse error")  # a BOM
        self.expect_error(b'{"id":10,"method":"exec","params":{"tool":"bash","args":'
                          b'{"command":"echo \xff\xfe"}}}\n', PARSE, 0, "UTF-8")
        self.expect_error(b'{"id":10,"method":"ex\xc0\xafec"}\n', PARSE, 0, "UTF-8")
        self.expect_error(b'{"id":10,"method":"exec\\ud800"}\n', PARSE, 0, "surrogate")

    def test_nul_in_a_command(self):
        # execve would cut it at the NUL: "echo a\0rm -rf x" must not run "echo a".
        self.expect_error(request(11, args={"command": "echo a\u0000rm -rf x"}),
                          INVALID_PARAMS, 11, "NUL")

    def test_bad_fs_paths(self):
        for tool, args, fragment in (
                ("fs.read", {"path": "a\u0000b"}, "`args.path` contains a NUL byte"),
                ("fs.write", {"path": "", "content": "x"}, "`args.path` is empty"),
                ("fs.write", {"path": "x\u0000", "content": "x"}, "contains a NUL byte"),
                ("fs.write", {"path": "f"}, "args.content is required"),
                ("fs.read", {"path": "f", "offset": -1}, "must be a non-negative integer"),
                ("fs.read", {"path": "f", "encoding": "rot13"}, "args.encoding must be"),
                ("fs.stat", {"path": "a" * 10000},
                 "`args.path` is 10000 bytes long; paths must be shorter than 4096 bytes")):
            with self.subTest(tool=tool, args=args):
                self.expect_error(request(20, tool=tool, args=args), INVALID_PARAMS, 20, fragment)
        # A directory read as a file, a name over NAME_MAX: the tool ran and failed.
        for path, error in ((".", "Is a directory"), ("a" * 300, "File name too long")):
            with self.subTest(path=path[:20]):
                self.runner.send(request(21, tool="fs.read", args={"path": path}))
                reply = self.runner.read_line()["result"]
                self.assertFalse(reply["ok"])
                self.assertIn(error, reply["error"])
        self.assertEqual(os.listdir(self.dir), [])

    def test_blank_lines_and_crlf(self):
        self.runner.send(b"\n\n   \n\t\r\n\r\n" + request(12).rstrip(b"\n") + b"\r\n")
        reply = self.runner.read_line()  # the first reply is the request's: blanks get none
        self.assertEqual(reply["id"], 12, reply)
        self.assertEqual(reply["result"]["stdout"], "ok\n")

    def test_a_request_split_across_writes(self):
        whole = request(13, args={"command": "echo split"})
        for part in (whole[:1], whole[1:20], whole[20:-1], whole[-1:]):
            self.runner.send(part)
        reply = self.runner.read_line()
        self.assertEqual(reply["id"], 13)
        self.assertEqual(reply["result"]["stdout"], "split\n")

    def test_duplicated_ids_are_each_answered(self):
        self.runner.send(request(14, args={"command": "echo first"}) +
                         request(14, args={"command": "echo second"}))
        self.assertEqual(self.runner.read_line()["result"]["stdout"], "first\n")
        second = self.runner.read_line()
        self.assertEqual(second["id"], 14)
        self.assertEqual(second["result"]["stdout"], "second\n")

    def test_duplicate_keys_are_refused(self):
        # Two readers of one line must not disagree on what it asks for.
        self.expect_error(b'{"id":15,"method":"exec","params":{"tool":"bash","args":'
                          b'{"command":"echo a","command":"echo b"}}}\n', INVALID_REQUEST, 15,
                          'duplicate object key "command"')
        self.expect_error(b'{"id":15,"id":16,"method":"exec"}\n', INVALID_REQUEST, 16,
                          'duplicate object key "id"')
        self.expect_error(b'{"method":"exec","method":"exec"}\n', INVALID_REQUEST, 0,
                          'duplicate object key "method"')

    def test_deep_nesting_does_not_overflow(self):
        depth = 100_000
        self.expect_error(b"[" * depth + b"]" * depth + b"\n", PARSE, 0,
                          "nesting deeper than 128 levels")
        self.expect_error(b'{"a":' * depth + b"1" + b"}" * depth + b"\n", PARSE, 0,
                          "nesting deeper than 128 levels")
        self.expect_error(b'{"id":17,"method":"exec","params":{"tool":"bash","args":' +
                          b"[" * depth + b"\n", PARSE, 0, "nesting deeper than 128 levels")

    def test_zz_same_process_and_eof_mid_line(self):
        # Named to run last: it ends the runner.
        self.assertIsNone(self.runner.proc.poll())
        self.assertEqual(self.runner.proc.pid, self.pid)
        self.assert_still_serving()
        # A last line without '\n' is still handled at EOF; then exit 0.
        self.runner.send(request(18, args={"command": "echo last"}).rstrip(b"\n"))
        status, rest, err = self.runner.close()
        self.assertEqual(status, 0, err[-2000:])
        reply = json.loads(rest)
        self.assertEqual(reply["id"], 18)
        self.assertEqual(reply["result"]["stdout"], "last\n")
        self.assertNotIn(b"Sanitizer", err)
        StdioBadInputTest.runner = StdioRunner(self.dir)  # for tearDown's check

    def test_zz_truncated_line_at_eof(self):
        runner = StdioRunner(self.dir)
        runner.send(b'{"id":19,"method":"exec","params":{"tool":"ba')
        status, rest, err = runner.close()
        self.assertEqual(status, 0, err[-2000:])
        reply = json.loads(rest)
        self.assertEqual((reply["id"], reply["error"]["code"]), (0, PARSE), reply)


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    if result.skipped and not result.failures and not result.errors and result.testsRun == len(
            result.skipped):
        sys.exit(SKIP_CODE)
    sys.exit(0 if result.wasSuccessful() else 1)
