#!/usr/bin/env bash
# docs/api.md's statuses for what evhttp refuses by itself (libevent 2.1
# has no error callback: its own HTML page, documented as such): 413 for a
# body above max_body, sized or chunked; 400 for a header block above
# max_headers.  What the server answers itself is JSON: 405
# method_not_allowed for any other method on an existing endpoint, 400
# malformed for two Content-Length values (RFC 9112 6.3), not served with
# one of them.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start --max-body 65536; enroll a
python3 - <<'PY' || fail "error answers evhttp makes by itself"
from atk import *
A = machine_id("a")
H = "Host: 127.0.0.1\r\n"
problems = []
def js(name, data, want_status, want_code):
    a = raw(data, timeout=15)
    st = a[0] if a else None
    try:
        code = json.loads(a[2]).get("error") if a else None
    except ValueError:
        code = None if want_code is None else "(not JSON: %r)" % a[2][:30]
    if (st, code) != (want_status, want_code):
        problems.append(f"{name}: want {want_status} {want_code}, got {st} {code}")
js("body above --max-body", f"POST /v1/machines/{A}/attest HTTP/1.1\r\n{H}Content-Length: 100000\r\n\r\n".encode(),
   413, None)
js("chunked body above --max-body", f"POST /v1/machines/{A}/attest HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\n\r\n".encode()
   + (b"4000\r\n" + b"a" * 0x4000 + b"\r\n") * 5 + b"0\r\n\r\n", 413, None)
js("headers above 16 KiB", f"GET /healthz HTTP/1.1\r\n{H}X-Pad: {'a' * 20000}\r\n\r\n".encode(), 400, None)
js("3000 headers", (f"GET /healthz HTTP/1.1\r\n{H}" + "X-A: b\r\n" * 3000 + "\r\n").encode(), 400, None)
a = raw(f"HEAD /v1/machines/{A}/nonce HTTP/1.1\r\n{H}\r\n".encode(), timeout=15)
if not a or a[0] != 405:
    problems.append(f"HEAD of the nonce endpoint: want 405 (a HEAD answer has no body), got {a and a[0]}")
for m in ("OPTIONS", "PATCH", "TRACE"):
    js(f"{m} of the nonce endpoint", f"{m} /v1/machines/{A}/nonce HTTP/1.1\r\n{H}\r\n".encode(), 405, "method_not_allowed")
js("two Content-Length values", f"POST /v1/machines/{A}/nonce HTTP/1.1\r\n{H}Content-Length: 0\r\nContent-Length: 5\r\n\r\nhello".encode(),
   400, "malformed")
if problems:
    fail("; ".join(problems))
PY
pass
