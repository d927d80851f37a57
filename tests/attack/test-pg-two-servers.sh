#!/usr/bin/env bash
# Two `tpmattest serve` on one PostgreSQL (issue 11; docs/api.md, "Several
# servers"): any server serves any request, and racing across servers
# leaves each machine's state as one server would.
#  - enrolled at A (challenge at A, activation at B), attested at B: PASS
#  - a nonce issued by A: its evidence accepted at B once; again at B and at
#    A: 403 nonce; the same evidence sent to A and B at once: one 200 PASS,
#    the other 403 nonce or 409 conflict
#  - 20 rounds of the machine attesting at A and B at once (a nonce from
#    each, two quotes, both sent together): every round at least one PASS,
#    nothing but 200 or 409 conflict, and the PASS counters in the history
#    strictly increasing, the stored counter the highest
#  - a policy assigned through A rules at B at once
# PostgreSQL from Debian's packages (tests/pg/pg.sh); skipped without it.
export TPA_TEST_STORE=postgresql
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup
serve_start --workers 2; PA=$PORT; PIDS+=("$SRV_PID"); SRV_PID=
serve_start --workers 2; PB=$PORT
export PA PB
python3 - <<'PY' || fail "two servers on one PostgreSQL"
import threading
from atk import *
PA, PB = int(os.environ["PA"]), int(os.environ["PB"])

# enrollment: the challenge from A, the activation at B
d = f"{W}/tpm-a"
with at(PA):
    r1 = req("POST", "/v1/enroll", {"name": "alpha", "request": json.load(open(f"{d}/req.json"))})
check(r1.status == 200, f"enroll at A: {r1}")
json.dump(r1.json["challenge"], open(f"{d}/ch.json", "w"))
p = subprocess.run([TPA, "enroll", "activate", f"{d}/ch.json", "--out", f"{d}/resp.json"],
                   env=tpm_env("a"), capture_output=True, timeout=60)
check(p.returncode == 0, p.stderr.decode())
with at(PB):
    r2 = req("POST", "/v1/enroll/activate", open(f"{d}/resp.json", "rb").read())
check(r2.status == 200, f"activate at B of A's challenge: {r2}")
A = r2.json["machine_id"]
open(f"{d}/id", "w").write(A + "\n")
with at(PA):
    s = show(A)
check(s["name"] == "alpha", f"A does not see the machine B enrolled: {s}")

# a nonce of A, the evidence at B: once
with at(PA):
    n = nonce(A)
ev = quote("a", n)
with at(PB):
    r = attest(A, ev)
check(r.status == 200 and r.get("verdict") == "pass", f"A's nonce at B: {r}")
for where, p in (("B", PB), ("A", PA)):
    with at(p):
        r = attest(A, ev)
    check(r.status == 403 and r.get("error") == "nonce", f"A's nonce again, at {where}: {r}")

# the same evidence at A and B at once, five times
for i in range(5):
    with at(PB):
        n = nonce(A)
    ev = quote("a", n)
    out = {}
    def send(p):
        with at(p):
            out[p] = attest(A, ev)
    ts = [threading.Thread(target=send, args=(p,)) for p in (PA, PB)]
    for t in ts: t.start()
    for t in ts: t.join(60)
    ok = [p for p, r in out.items() if r.status == 200 and r.get("verdict") == "pass"]
    check(len(out) == 2 and len(ok) == 1, f"round {i}: one evidence at both: {out}")
    other = out[PA if ok[0] == PB else PB]
    check((other.status == 403 and other.get("error") == "nonce") or
          (other.status == 409 and other.get("error") == "conflict"), f"round {i}: the loser: {other}")

# 20 rounds of two attestations at once, one at each server
with at(PA):
    last = show(A)["state"]["counter"]["value"]
for i in range(20):
    with at(PA):
        na = nonce(A)
    with at(PB):
        nb = nonce(A)
    eva, evb = quote("a", na), quote("a", nb)
    out = {}
    def send(p, ev):
        with at(p):
            out[p] = attest(A, ev)
    ts = [threading.Thread(target=send, args=a) for a in ((PA, eva), (PB, evb))]
    for t in ts: t.start()
    for t in ts: t.join(60)
    check(len(out) == 2, f"round {i}: an attestation unanswered: {out}")
    for p, r in out.items():
        check(r.status == 200 or (r.status == 409 and r.get("error") == "conflict"),
              f"round {i}: at {'A' if p == PA else 'B'}: {r}")
    check(any(r.status == 200 and r.get("verdict") == "pass" for r in out.values()),
          f"round {i}: no PASS: {out}")
    # a PASS moved the stored counter forward, on both servers' view
    with at(PB if i % 2 else PA):
        now = show(A)["state"]["counter"]["value"]
    check(now > last, f"round {i}: the stored counter went from {last} to {now}")
    last = now
with at(PB):
    h = history(A, "?limit=1000")
passes = [e for e in h if e["verdict"] == "pass"]
check(len(passes) >= 1 + 5 + 20, f"{len(passes)} PASS in the history")
seqs = [e["seq"] for e in h]
check(seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs), f"history seqs: {seqs}")

# a policy assigned at A rules at B at once
strict = json.dumps({"version": 2, "pcrs": {"sha256": [0]},
                     "pcr_values": {"sha256": {"0": ["00" * 32]}}})
with at(PA):
    check(admin("PUT", "/v1/policies/strict", strict).status == 200, "PUT strict at A")
    check(admin("PUT", f"/v1/machines/{A}/policy", {"policy": "strict"}).status == 200, "assign at A")
with at(PB):
    r = fresh_attest("a")
check(r.status == 200 and r.get("verdict") == "fail" and (r.get("failed_check") or "").startswith("policy"),
      f"at B after A assigned a failing policy: {r}")
print(f"{len(passes)} PASS over both servers", file=sys.stderr)
PY
pass
