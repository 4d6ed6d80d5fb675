#!/usr/bin/env python3
"""The host's half of the security tests: searches what an impostor captured
(or what a tool managed to read) for the session token and anything derived
from it that could authenticate.

  capture.py calls TOKEN_FILE CAPTURE...  HTTP/2 bytes an impostor received,
                                          one file per connection
  capture.py dump TOKEN_FILE FILE...      raw bytes (process memory, files)

Prints one JSON object: bytes seen, the request headers (HPACK-decoded; a
value longer than 80 characters is cut), and `findings`, each naming what
was found where. Exit 0 when nothing was found, 1 otherwise.
"""

import base64
import hashlib
import hmac
import json
import re
import sys

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def secret_forms(token):
    """Byte strings that would hand over the token or its derived key."""
    raw = bytes.fromhex(token) if re.fullmatch(r"[0-9a-fA-F]+", token) and len(token) % 2 == 0 else b""
    key = hmac.new(token.encode(), b"sagewai-sandbox-v1 key", hashlib.sha256).digest()
    forms = {
        "the token": token.encode(),
        "the token (upper-case hex)": token.upper().encode(),
        "the token (base64)": base64.b64encode(token.encode()),
        "the token's SHA-256": hashlib.sha256(token.encode()).digest(),
        "the token's SHA-256 (hex)": hashlib.sha256(token.encode()).hexdigest().encode(),
        "the derived key K": key,
        "the derived key K (hex)": key.hex().encode(),
        "the derived key K (base64)": base64.b64encode(key).rstrip(b"="),
    }
    if raw:
        forms["the token's bytes"] = raw
        forms["the token's bytes (base64)"] = base64.b64encode(raw).rstrip(b"=")
    # A half of the token is as good as a hint; 16 characters are not chance.
    forms["the token's first 16 characters"] = token[:16].encode()
    forms["the token's last 16 characters"] = token[-16:].encode()
    return forms


def search(label, data, forms, findings):
    for name, needle in forms.items():
        if needle and needle in data:
            findings.append(f"{name} in {label}")
            if name == "the token":
                return  # its parts are no news then


def short(path):
    return path.rsplit("/", 1)[-1]


def frames(data):
    if data.startswith(PREFACE):
        data = data[len(PREFACE):]
    while len(data) >= 9:
        length = int.from_bytes(data[0:3], "big")
        if len(data) < 9 + length:
            break
        yield data[3], data[4], int.from_bytes(data[5:9], "big") & 0x7FFFFFFF, data[9:9 + length]
        data = data[9 + length:]


def header_blocks(data):
    """HEADERS (+ CONTINUATION) fragments joined, padding and priority cut."""
    block = None
    for ftype, flags, _, payload in frames(data):
        if ftype == 1:
            pad = payload[0] if flags & 0x8 else 0
            start = (1 if flags & 0x8 else 0) + (5 if flags & 0x20 else 0)
            block = payload[start:len(payload) - pad]
        elif ftype == 9 and block is not None:
            block += payload
        else:
            continue
        if flags & 0x4:
            yield block
            block = None


def analyse_calls(token, forms, paths, out):
    import hpack  # python3-hpack; lib.sh installs it

    findings = out["findings"]
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        out["bytes"] += len(data)
        search(short(path), data, forms, findings)
        decoder = hpack.Decoder()
        try:
            for block in header_blocks(data):
                for name, value in decoder.decode(block, raw=True):
                    n, v = name.decode("latin-1"), value.decode("latin-1")
                    shown = v.replace(token, "<the token>")
                    out["headers"].append([n, shown if len(shown) <= 80 else shown[:80] + "…"])
                    if n.lower() == "authorization":
                        findings.append(f"an authorization header ({v.split(' ')[0]} …) in {short(path)}")
                    elif re.search(r"(?i)bearer|mac=|sagewai-hmac", v):
                        findings.append(f"credential-like header {n} in {short(path)}")
        except Exception as e:  # noqa: BLE001 - any decoding failure is a finding
            findings.append(f"header block of {short(path)} not decodable ({e}): cannot prove the token is absent")


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("calls", "dump"):
        raise SystemExit(__doc__)
    with open(sys.argv[2]) as f:
        token = f.read().strip()
    if len(token) < 32:
        raise SystemExit(f"{sys.argv[2]}: no token in it")
    forms = secret_forms(token)
    out = {"bytes": 0, "files": len(sys.argv) - 3, "headers": [], "findings": []}
    if sys.argv[1] == "calls":
        analyse_calls(token, forms, sys.argv[3:], out)
    else:
        for path in sys.argv[3:]:
            with open(path, "rb") as f:
                data = f.read()
            out["bytes"] += len(data)
            search(short(path), data, forms, out["findings"])
    print(json.dumps(out))
    return 1 if out["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
