#!/usr/bin/env bash
# Anyone may ask for a nonce of any machine (POST /v1/machines/ID/nonce is
# unauthenticated) and replay any machine's enrollment request (it is public
# data).  Nonces are no longer stored (a MAC makes them recognisable, only
# consumed ones are kept), so the first part passes.  Pending enrollment
# challenges are still bounded per EK by dropping the OLDEST, so a caller
# with no TPM evicts the challenge the real machine is about to answer:
# four replays per round keep that machine from enrolling.  What is right:
# another caller's requests must not invalidate what was issued to the
# machine (e.g. a sealed, stateless challenge with a consumed set, as for
# nonces).
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tpm_new b; tls_setup; serve_start; enroll a
python3 - <<'PY' || fail "eviction by an unauthenticated caller"
from atk import *
problems = []
mid = machine_id("a")
# 1. the machine's nonce, then an attacker's four
n = nonce(mid)
ev = quote("a", n)
for _ in range(4):
    nonce(mid)
r = attest(mid, ev)
if not (r.status == 200 and r.get("verdict") == "pass"):
    problems.append(f"nonce: after 4 nonce requests by another caller, A's attestation got {r.status} {r.get('error')}")
# 2. B asks for a challenge; an attacker replays B's public request 4 times;
#    B answers its own challenge
d = f"{W}/tpm-b"
reqdoc = json.load(open(f"{d}/req.json"))
r1 = req("POST", "/v1/enroll", {"name": "b", "request": reqdoc})
check(r1.status == 200, f"enroll b: {r1}")
json.dump(r1.json["challenge"], open(f"{d}/ch.json", "w"))
for i in range(4):
    r = req("POST", "/v1/enroll", {"name": None, "request": reqdoc})
    check(r.status == 200, f"replayed request {i}: {r}")
p = subprocess.run([TPA, "enroll", "activate", f"{d}/ch.json", "--out", f"{d}/resp.json"],
                   env=tpm_env("b"), capture_output=True, timeout=120)
check(p.returncode == 0, "activate on b: %s" % p.stderr.decode())
r2 = req("POST", "/v1/enroll/activate", open(f"{d}/resp.json", "rb").read())
if r2.status != 200:
    problems.append(f"enrollment: after 4 replays of B's public request, B's activation got {r2.status} {r2.get('error')}")
if problems:
    fail("; ".join(problems))
PY
pass
