#!/usr/bin/env bash
# Slow and half-open clients (--request-timeout 3, --max-connections 40):
# 12 that connect and send nothing, 6 that stop half-way through the TLS
# handshake, 6 that send headers one byte a second, 6 that send a body one
# byte a second after complete headers, 4 that stay idle after an answer.
# Meanwhile a real attester gets its verdict at once, and every slow client
# is cut off within the timeout (+2 s).  Then the connection cap: 40 idle
# connections, and a 41st client is served once they are dropped.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start --request-timeout 3 --max-connections 40; enroll a
python3 - <<'PY' || fail "slow clients"
import socket, threading, time
from atk import *
A = machine_id("a")
H = "Host: 127.0.0.1\r\n"
TIMEOUT = 3
ev = quote("a", nonce(A))             # the real attester's quote, ready
closed = {}
def tcp():
    return socket.create_connection(("127.0.0.1", port()), timeout=20)
def watch(kind, i, s, trickle=b""):
    """Trickles bytes one a second until the server closes; records when."""
    t0 = time.time()
    s.settimeout(1)
    k = 0
    try:
        while time.time() - t0 < 20:
            if k < len(trickle):
                s.send(trickle[k:k + 1]); k += 1
            try:
                if s.recv(4096) == b"":
                    break
            except socket.timeout:
                pass
    except (OSError, ssl.SSLError):
        pass
    closed[(kind, i)] = time.time() - t0
threads = []
def go(kind, i, s, trickle=b""):
    t = threading.Thread(target=watch, args=(kind, i, s, trickle)); t.start(); threads.append(t)
for i in range(12):
    go("silent", i, tcp())
hello = None
for i in range(6):                     # a ClientHello, cut short
    s = tcp()
    s.send(bytes.fromhex("160301020001")[:5] + b"\x01\x00\x01\xfc\x03\x03" + os.urandom(20))
    go("half-tls", i, s)
for i in range(6):
    go("slow-headers", i, tls_socket(timeout=20), f"GET /healthz HTTP/1.1\r\n{H}\r\n".encode())
for i in range(6):
    s = tls_socket(timeout=20)
    s.sendall(f"POST /v1/machines/{A}/attest HTTP/1.1\r\n{H}Content-Length: 1000\r\n\r\n".encode())
    go("slow-body", i, s, b"{" * 1000)
for i in range(4):
    s = tls_socket(timeout=20)
    s.sendall(f"GET /healthz HTTP/1.1\r\n{H}\r\n".encode())
    check(read_answer(s, 5)[0] == 200, "idle-after-answer: first answer")
    go("idle-after", i, s)
time.sleep(0.5)
t0 = time.time()
r = attest(A, ev)
dt = time.time() - t0
check(r.status == 200 and r.get("verdict") == "pass", f"the real attester: {r}")
check(dt < 2, f"the real attester waited {dt:.1f} s behind slow clients")
t0 = time.time(); r = req("POST", f"/v1/machines/{A}/nonce")
check(r.status == 200 and time.time() - t0 < 2, f"a nonce behind slow clients: {time.time() - t0:.1f} s")
[t.join(30) for t in threads]
late = {k: round(v, 1) for k, v in closed.items() if v > TIMEOUT + 2}
check(len(closed) == 34, f"{len(closed)} slow clients accounted for")
check(not late, f"slow clients held longer than the timeout: {late}")
# the cap: 40 idle connections, then a real request
idle = [tcp() for _ in range(40)]
time.sleep(0.3)
t0 = time.time()
r = req("GET", "/healthz", timeout=20)
dt = time.time() - t0
check(r.status == 200, f"41st client: {r}")
check(dt < TIMEOUT + 2, f"41st client waited {dt:.1f} s")
for s in idle:
    s.close()
time.sleep(0.5)
m = metrics()
check(m.get("tpmattest_connections_open", 99) <= 2, f"connections open after all closed: {m.get('tpmattest_connections_open')}")
PY
kill -0 "$SRV_PID" || fail "server died"
pass
