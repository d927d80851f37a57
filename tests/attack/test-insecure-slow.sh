#!/usr/bin/env bash
# --insecure-http (loopback only) keeps the same limits as HTTPS: the
# request deadline and the connection cap are hung on the TLS object
# (http.c bevcb), which plain HTTP does not have, so there a client
# trickling one header byte a second holds its connection for as long as it
# likes (evhttp's idle timeout restarts with every byte); --max-connections
# is not enforced either (not tested here: the kernel's backlog looks the
# same from outside).
TPA=$1; . "$(dirname "$0")/lib.sh"
tls_setup; mkdir -p "$W/roots"; cp "$W/tls/ca.pem" "$W/roots/"
serve_start --insecure-http --request-timeout 2 --max-connections 4
python3 - <<'PY' || fail "plain HTTP limits"
import socket, time
from atk import *
problems = []
s = socket.create_connection(("127.0.0.1", port()), timeout=10)
s.settimeout(1)
t0 = time.time(); alive = True
req_bytes = b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 100
for b in req_bytes:
    if time.time() - t0 > 7:
        break
    try:
        s.send(bytes([b]))
        if s.recv(100) == b"":
            alive = False; break
    except socket.timeout:
        pass
    except OSError:
        alive = False; break
if alive:
    problems.append(f"a client trickling header bytes held its connection {time.time() - t0:.0f} s with --request-timeout 2")
s.close()
if problems:
    fail("; ".join(problems))
PY
pass
