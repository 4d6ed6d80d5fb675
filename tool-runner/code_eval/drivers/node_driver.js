// The sagewai CodeEval driver for Node.js (12+), run as `node -e <this>`.
//
// Requests arrive on fd 3: a header line "<op> <seq> <nbytes>\n" followed by
// exactly <nbytes> of payload (op "eval": UTF-8 source). Events leave on fd 4,
// one JSON object per line (see python_driver.py for the shapes). Code runs
// in this process's global context, so globals, `var`s, `let`/`const`s and
// functions survive between cells; the completion value of a cell is its
// result. SIGINT interrupts a running cell (vm's breakOnSigint) or abandons a
// promise the cell is waiting for; between cells it is ignored.
'use strict';
(function sagewaiDriver() {
  const fs = require('fs');
  const net = require('net');
  const util = require('util');
  const vm = require('vm');
  const stringify = JSON.stringify;
  const CTL_IN = 3;
  const CTL_OUT = 4;

  let seq = 0;
  let active = null; // the seq of the cell running now
  let waiting = null; // {seq} while a cell's promise is pending

  function send(event) {
    const buf = Buffer.from(stringify(event) + '\n', 'utf8');
    let off = 0;
    while (off < buf.length) {
      try {
        off += fs.writeSync(CTL_OUT, buf, off, buf.length - off);
      } catch (e) {
        if (e.code !== 'EAGAIN' && e.code !== 'EINTR') throw e;
      }
    }
  }

  function inspect(value) {
    return util.inspect(value, { depth: 4, colors: false, maxArrayLength: 200 });
  }

  function emit(data, isResult) {
    const out = {};
    const b64 = [];
    for (const [mime, value] of Object.entries(data)) {
      if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
        out[mime] = Buffer.from(value).toString('base64');
        b64.push(mime);
      } else if (typeof value === 'string') {
        out[mime] = value;
      } else {
        out[mime] = stringify(value);
      }
    }
    send({ ev: 'display', seq, data: out, b64, result: !!isResult });
  }

  // display(value): text/plain of util.inspect; display(value, mime): that
  // MIME type (Buffers are sent as bytes, objects as JSON).
  globalThis.display = function display(value, mime) {
    if (typeof mime === 'string') {
      const data = { [mime]: value };
      if (mime !== 'text/plain') data['text/plain'] = `<${mime} output>`;
      emit(data, false);
    } else {
      emit({ 'text/plain': inspect(value) }, false);
    }
  };

  function trimStack(stack) {
    const lines = String(stack).split('\n');
    const out = [];
    for (const line of lines) {
      if (/^\s+at /.test(line) && !line.includes('<cell-')) break;
      out.push(line);
    }
    return out.join('\n');
  }

  function errorOf(e) {
    if (e instanceof Error || (e && typeof e === 'object' && 'stack' in e && 'message' in e)) {
      const name = e.name || (e.constructor && e.constructor.name) || 'Error';
      return { name: String(name), message: String(e.message), traceback: trimStack(e.stack) + '\n' };
    }
    const text = inspect(e);
    return { name: 'Uncaught', message: text, traceback: `Uncaught ${text}\n` };
  }

  function finish(s, error) {
    if (waiting && waiting.seq === s) waiting = null;
    if (active === s) active = null;
    send({ ev: 'done', seq: s, error });
  }

  function show(value) {
    if (value === undefined) return;
    globalThis._ = value;
    emit({ 'text/plain': inspect(value) }, true);
  }

  function compile(code, filename) {
    try {
      return new vm.Script(code, { filename });
    } catch (e) {
      // Top-level await: run the cell as an async function. Its declarations
      // then stay local to the cell; assign to globalThis to keep them.
      if (e instanceof SyntaxError && /await/.test(e.message) && /\bawait\b/.test(code)) {
        return new vm.Script(`(async () => {\n${code}\n})()`, { filename, lineOffset: -1 });
      }
      throw e;
    }
  }

  function runCell(s, code) {
    seq = s;
    active = s;
    let value;
    try {
      value = compile(code, `<cell-${s}>`).runInThisContext({ breakOnSigint: true, displayErrors: false });
    } catch (e) {
      finish(s, errorOf(e));
      return;
    }
    if (value !== null && (typeof value === 'object' || typeof value === 'function') &&
        typeof value.then === 'function') {
      waiting = { seq: s };
      Promise.resolve(value).then(
        (v) => {
          if (!waiting || waiting.seq !== s) return;
          try {
            show(v);
            finish(s, null);
          } catch (e) {
            finish(s, errorOf(e));
          }
        },
        (e) => {
          if (waiting && waiting.seq === s) finish(s, errorOf(e));
        });
      return;
    }
    try {
      show(value);
    } catch (e) {
      finish(s, errorOf(e));
      return;
    }
    finish(s, null);
  }

  process.on('SIGINT', () => {
    if (waiting) {
      finish(waiting.seq, {
        name: 'Interrupted',
        message: 'interrupted while waiting for a promise',
        traceback: 'Interrupted: the cell was interrupted while waiting for a promise\n',
      });
    }
  });
  // process.exit() in a cell: it still gets its answer, marked dead.
  process.on('exit', (code) => {
    if (active === null) return;
    const message = `process.exit(${code}) ended the interpreter`;
    send({ ev: 'done', seq: active, dead: true,
           error: { name: 'Exit', message, traceback: `${message}\n` } });
    active = null;
  });
  process.on('uncaughtException', (e) => {
    process.stderr.write(`Uncaught ${errorOf(e).traceback}`);
  });
  process.on('unhandledRejection', (e) => {
    process.stderr.write(`Unhandled rejection: ${errorOf(e).traceback}`);
  });

  let pending = Buffer.alloc(0);
  const input = new net.Socket({ fd: CTL_IN, readable: true, writable: false });
  input.on('data', (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    for (;;) {
      const nl = pending.indexOf(10);
      if (nl < 0) return;
      const parts = pending.subarray(0, nl).toString('latin1').split(' ');
      const size = Number(parts[2]);
      if (parts.length !== 3 || !Number.isInteger(size) || size < 0) {
        process.stderr.write('sagewai: bad request header\n');
        process.exit(70);
      }
      if (pending.length < nl + 1 + size) return;
      const payload = pending.subarray(nl + 1, nl + 1 + size).toString('utf8');
      pending = pending.subarray(nl + 1 + size);
      const s = Number(parts[1]);
      if (parts[0] === 'eval') {
        runCell(s, payload);
      } else {
        finish(s, { name: 'ProtocolError', message: `unknown op ${parts[0]}`, traceback: '' });
      }
    }
  });
  input.on('end', () => process.exit(0));
  input.on('error', () => process.exit(0));

  send({ ev: 'ready', language: 'node', version: process.versions.node, pid: process.pid });
})();
