#!/usr/bin/env bash
# Odd HTTP on the wire: no path trick reaches an admin endpoint without a
# certificate or a handler it should not (double slashes, percent-encoding,
# dot segments, absolute URIs, fragments, upper-case ids); bodies above
# --max-body refused whether sized or chunked (before they are read: a
# 100 MB Content-Length is answered at once); Content-Length with
# Transfer-Encoding refused; pipelined and keep-alive requests answered in
# order; HTTP/1.0 and bare LF served; trailers and chunk extensions capped;
# nothing read after a 413.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start --max-body 65536; enroll a
python3 - <<'PY' || fail "odd HTTP"
import time
from atk import *
A = machine_id("a")
H = "Host: 127.0.0.1\r\n"
def st(data, cert=None):
    a = raw(data, cert, timeout=15)
    return a[0] if a else None
def js(data, cert=None):
    a = raw(data, cert, timeout=15)
    return (a[0], json.loads(a[2]) if a and a[2].startswith(b"{") else None) if a else (None, None)
# admin endpoints, however spelt, without a certificate
admin_paths = ["/v1/machines", "/v1/machines/", f"/v1/machines/{A}", f"/v1/machines/{A}/history",
               "/v1/policies", "/v1/policies/x", "/metrics", "/v1/machines#frag",
               f"https://127.0.0.1:{port()}/v1/machines", f"/v1/machines?x=/nonce",
               f"/v1/machines/{A}/history?limit=1#/nonce"]
for p in admin_paths:
    s, j = js(f"GET {p} HTTP/1.1\r\n{H}\r\n".encode())
    check(s == 401 and j["error"] == "admin_certificate_required", f"GET {p} without a certificate: {s} {j}")
for m, p in (("DELETE", f"/v1/machines/{A}"), ("PUT", f"/v1/machines/{A}/policy"), ("PUT", "/v1/policies/x")):
    s, j = js(f"{m} {p} HTTP/1.1\r\n{H}Content-Length: 2\r\n\r\n{{}}".encode())
    check(s == 401, f"{m} {p} without a certificate: {s} {j}")
# paths that must not route anywhere
for p in ("//v1//machines", "/v1//machines", "/v1/%6dachines", f"/v1/machines/{A}/%6eonce",
          f"/v1/machines/{A}/nonce/../../machines", f"/v1/machines/{A}/./nonce",
          f"/v1/machines/{A}//nonce", "/v1/machines/../policies", "/V1/machines", "/v2/machines",
          f"/v1/machines/{A}/nonce/x", f"/v1/machines/{A}/attest/x/y"):
    s, j = js(f"POST {p} HTTP/1.1\r\n{H}Content-Length: 0\r\n\r\n".encode())
    # unknown paths under /v1/machines are the admin's: 401 first is fine;
    # empty, dot and percent-escaped segments are refused as malformed
    check(s in (400, 401, 404) and j and j["error"] in ("malformed", "not_found", "admin_certificate_required"),
          f"POST {p}: {s} {j}")
    s, j = js(f"GET {p} HTTP/1.1\r\n{H}\r\n".encode(), cert="admin")
    check(s in (400, 404, 405) and j, f"GET {p} as admin: {s} {j}")
for p in (f"/v1/machines/{A.upper()}/nonce", f"/v1/machines/{A[:63]}/nonce", f"/v1/machines/{A}0/nonce"):
    s, j = js(f"POST {p} HTTP/1.1\r\n{H}Content-Length: 0\r\n\r\n".encode())
    check(s == 400 and j["error"] == "malformed", f"POST {p}: {s} {j}")
s, j = js(f"POST /v1/machines/{'0'*64}/nonce HTTP/1.1\r\n{H}Content-Length: 0\r\n\r\n".encode())
check(s == 404 and j["error"] == "not_found", f"nonce of an unknown machine: {s} {j}")
# the attester endpoints by absolute URI, with a query, a trailing slash, HTTP/1.0, bare LF
for data in (f"POST https://127.0.0.1:{port()}/v1/machines/{A}/nonce HTTP/1.1\r\n{H}Content-Length: 0\r\n\r\n",
             f"POST /v1/machines/{A}/nonce?x=1 HTTP/1.1\r\n{H}Content-Length: 0\r\n\r\n",
             f"POST /v1/machines/{A}/nonce/ HTTP/1.1\r\n{H}Content-Length: 0\r\n\r\n",
             f"POST /v1/machines/{A}/nonce HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
             f"POST /v1/machines/{A}/nonce HTTP/1.1\nHost: x\nContent-Length: 0\n\n"):
    check(st(data.encode()) == 200, f"{data!r}")
# bodies above the cap: sized (answered before the body is sent) and chunked
t0 = time.time()
check(st(f"POST /v1/machines/{A}/attest HTTP/1.1\r\n{H}Content-Length: 100000000\r\n\r\n".encode()) == 413,
      "100 MB Content-Length")
check(time.time() - t0 < 5, "the 100 MB Content-Length was not answered at once")
chunk = b"4000\r\n" + b"a" * 0x4000 + b"\r\n"
check(st(f"POST /v1/machines/{A}/attest HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\n\r\n".encode()
         + chunk * 5 + b"0\r\n\r\n") == 413, "chunked body above --max-body")
check(st(f"POST /v1/machines/{A}/attest HTTP/1.1\r\n{H}Transfer-Encoding: chunked\r\n\r\n".encode()
         + b"ffffffffffffffff0\r\n") in (400, 413, None), "chunk size overflow")
check(st(f"POST /v1/machines/{A}/nonce HTTP/1.1\r\n{H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".encode()) == 400,
      "Content-Length and Transfer-Encoding")
check(st(f"POST /v1/machines/{A}/attest HTTP/1.1\r\n{H}Content-Length: -1\r\n\r\n".encode()) == 400, "negative length")
check(st(f"GET /{'a'*20000} HTTP/1.1\r\n{H}\r\n".encode()) in (400, 413, 414), "20 kB request line")
# pipelined: three nonces and an admin request, answered in order on one connection
s = tls_socket()
s.sendall((f"POST /v1/machines/{A}/nonce HTTP/1.1\r\n{H}Content-Length: 0\r\n\r\n" * 3 +
           f"GET /v1/machines HTTP/1.1\r\n{H}\r\n").encode())
got = [read_answer(s, 10)[0] for _ in range(4)]
check(got == [200, 200, 200, 401], f"pipelined: {got}")
s.close()
# trailers above the header cap, a 5 MB chunk extension: refused, nothing held
s = tls_socket(timeout=20)
s.sendall(b"POST /v1/enroll/activate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n")
closed = False
try:
    for i in range(100):
        s.sendall((b"X-Trailer-%d: " % i) + b"a" * 100000 + b"\r\n")
except (OSError, ssl.SSLError):
    closed = True
check(closed, "10 MB of trailers were read")
s.close()
check(st(b"POST /v1/enroll/activate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;" + b"e" * 5000000 + b"\r\n{}\r\n0\r\n\r\n") in (400, 413, None),
      "5 MB chunk extension")
# Expect: 100-continue above the cap: 413, and nothing more on that connection
s = tls_socket(timeout=20)
s.sendall(b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100000000\r\n\r\n")
check(read_answer(s, 5)[0] == 413, "Expect: 100-continue above the cap")
try:
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    a = read_answer(s, 5)
except (OSError, ssl.SSLError, Fail):
    a = None
check(a is None, f"a request after the 413 on the same connection was served: {a and a[0]}")
s.close()
# the server is fine after all that
check(req("GET", "/healthz").status == 200, "healthz")
PY
grep -v '^tpmattest serve: ' "$W/serve.log" | head -3 | grep -q . && fail "log lines not from tpmattest serve: $(grep -v '^tpmattest serve: ' "$W/serve.log" | head -3)"
pass
