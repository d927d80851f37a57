#!/usr/bin/env bash
# Every answer waits ~40 ms: the server writes an answer in more than one
# TCP segment (TLS records for the headers and the body) without
# TCP_NODELAY, so Nagle holds the second segment until the client's
# delayed ACK of the first.  A plain client (no TCP_QUICKACK) sees 40+ ms
# per request on a fresh or a kept-alive connection, and bench-serve's
# p50 measures the ACK timer, not the server.  Bound: 20 kept-alive
# /healthz below 10 ms each on average, 20 fresh-connection ones below 20.
TPA=$1; . "$(dirname "$0")/lib.sh"
tls_setup; mkdir -p "$W/roots"; cp "$W/tls/ca.pem" "$W/roots/"; serve_start --quiet
python3 - <<'PY' || fail "answer latency"
import time
from atk import *
s = tls_socket()
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); read_answer(s, 10)
t0 = time.time()
for i in range(20):
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    check(read_answer(s, 10)[0] == 200, "healthz")
ka = (time.time() - t0) / 20 * 1000
t0 = time.time()
for i in range(20):
    check(req("GET", "/healthz").status == 200, "healthz")
fresh = (time.time() - t0) / 20 * 1000
print(f"kept-alive {ka:.1f} ms, fresh connection {fresh:.1f} ms per /healthz")
check(ka < 10 and fresh < 20, f"per request: kept-alive {ka:.1f} ms, fresh connection {fresh:.1f} ms")
PY
pass
