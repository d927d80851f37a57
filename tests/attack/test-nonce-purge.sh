#!/usr/bin/env bash
# A consumed nonce dropped while an attestation over it is under way (group
# commit; consumed nonces are kept "until they expire").  A quote Q over
# nonce N (N expires at second E, --nonce-lifetime 2):
#  P: Q with a log that does not replay, sent at E+0.4: a recorded FAIL
#     (the AK signed Q over N), N consumed;
#  S: Q with its genuine log and 24,000 PCR 10 events (PCR 10 is not
#     quoted; under 4 MiB, the default max_body): all but its last byte
#     sent early, the last byte just before E+1, so the server starts it in
#     second E and reads the JSON for some ms;
#  B: another recorded attestation (fresh nonce, bad log) started at E+1 on
#     another connection: its batch drops consumed nonces with
#     expires < E+1, N among them, while S is still being read.
# Defended: N is consumed once, so S is refused (403 nonce or 409
# conflict): never a second recorded verdict over N.  At most 10 rounds.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start --quiet --workers 4 --nonce-lifetime 2; enroll a
python3 - <<'PY' || fail "one nonce consumed twice"
import threading
from atk import *
A = machine_id("a")
logb = open(LOG, "rb").read()
algs, _ = log_algs(logb)
bad = logb + event2(algs, 4, 13, b"not booted")      # PCR 4 replays wrong
big = logb + event2(algs, 10, 13, b"x") * 24000       # PCR 10 is not quoted
path = f"/v1/machines/{A}/attest"

def at(t):
    d = t - time.time()
    if d > 0:
        time.sleep(d)

def head(b):
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(b)}\r\nConnection: close\r\n\r\n").encode()

def answer(sock, out, key):
    try:
        a = read_answer(sock, 30)
        out[key] = (a[0], json.loads(a[2]))
    except Exception as e:
        out[key] = (None, {"exception": repr(e)})
    finally:
        out[key + "t"] = time.time()
        sock.close()

def desc(st, j, t, E):
    return (f"{st} {j.get('verdict') or j.get('error')} recorded={j.get('recorded')} "
            f"seq={j.get('seq')} at E+{t - E:.3f}")

lines = []
for rnd in range(10):
    last_byte = (0.990, 0.993, 0.996, 0.998)[rnd % 4]
    r = req("POST", f"/v1/machines/{A}/nonce")
    check(r.status == 200, f"nonce: {r}")
    N, E = r.json["nonce"], r.json["expires_at"]
    q = quote("a", N)
    S = json.dumps(dict(q, eventlog=b64(big))).encode()
    check(len(S) < 4 << 20, f"S is {len(S)} bytes, above max_body")
    at(E + 0.4)
    p = attest(A, dict(q, eventlog=b64(bad)))
    check(p.status == 200 and p.get("recorded") is True and p.get("verdict") == "fail",
          f"round {rnd}: P, a broken log over N, should be a recorded fail: {p}")
    qb = quote("a", nonce(A))
    B = json.dumps(dict(qb, eventlog=b64(bad))).encode()
    out = {}
    ss = tls_socket()
    ss.sendall(head(S) + S[:-1])
    ts = threading.Thread(target=answer, args=(ss, out, "S"))
    ts.start()
    at(E + last_byte)
    ss.sendall(S[-1:])
    at(E + last_byte + 0.002)
    sb = tls_socket()            # accepted while S's worker is busy
    at(E + 1.0005)
    sb.sendall(head(B) + B)
    answer(sb, out, "B")
    ts.join(30)
    line = (f"round {rnd}: P 200 fail recorded seq={p.get('seq')}; S {desc(*out['S'], out['St'], E)}; "
            f"B {desc(*out['B'], out['Bt'], E)}")
    print(line, flush=True)
    st, j = out["S"]
    if st == 200 and j.get("recorded"):
        seqs = {h["seq"]: h["verdict"] for h in history(A, "?limit=1000")}
        fail(f"nonce {N[:16]}... consumed twice: recorded {p.get('verdict')} as seq {p.get('seq')} "
             f"at E+0.4, then the same quote over the same nonce recorded {j.get('verdict')} as seq "
             f"{j.get('seq')} (history: seq {p.get('seq')}={seqs.get(p.get('seq'))}, "
             f"seq {j.get('seq')}={seqs.get(j.get('seq'))}); {line}")
    check((st == 403 and j.get("error") == "nonce") or (st == 409 and j.get("error") == "conflict"),
          f"round {rnd}: S should be 403 nonce or 409 conflict: {line}")
print("N never consumed twice in 10 rounds")
PY
pass
