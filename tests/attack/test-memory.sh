#!/usr/bin/env bash
# Memory held for unauthenticated clients: 30 connections each send the
# headers of a 16 MB enrollment and 10 MiB of its body, then wait (within
# --request-timeout).  evhttp buffers every body whole before any handler
# runs, so the server holds max_connections x max_body (1024 x 16 MiB =
# 16 GiB by default) for whoever connects.  What is right: a budget for
# the bodies in flight overall (or a per-endpoint cap: an enrollment body
# is at most ~1 MiB, an activation a few kB), beyond which connections are
# refused or not read.  Here: the server's RSS must stay under 160 MiB.
TPA=$1; . "$(dirname "$0")/lib.sh"
tls_setup; mkdir -p "$W/roots"; cp "$W/tls/ca.pem" "$W/roots/"; serve_start --quiet
SRV=$SRV_PID python3 - <<'PY' || fail "memory held for unauthenticated clients"
import time
from atk import *
pid = int(os.environ["SRV"])
def rss():
    for l in open(f"/proc/{pid}/status"):
        if l.startswith("VmRSS"):
            return int(l.split()[1]) // 1024
base = rss()
chunk = b"[" + b"0," * (1 << 20)
socks = []
peak = base
for i in range(30):
    s = tls_socket(timeout=20)
    try:
        s.sendall(b"POST /v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 16000000\r\n\r\n")
        for _ in range(5):
            s.sendall(chunk)
    except (OSError, ssl.SSLError):
        pass                       # refused or not read: what a budget does
    socks.append(s)
    peak = max(peak, rss())
time.sleep(0.5)
peak = max(peak, rss())
check(req("GET", "/healthz").status == 200, "healthz")
print(f"RSS {base} MiB at rest, {peak} MiB with 30 unfinished 10 MiB bodies")
check(peak < 160, f"the server holds {peak} MiB for 30 unauthenticated unfinished bodies "
      f"(x {1024 // 30} at the default --max-connections)")
PY
pass
