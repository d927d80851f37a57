#!/usr/bin/env bash
# An old genuine evidence of machine A (e.g. an --evidence-out file, a
# captured request) re-sent by anyone, with a fresh nonce of A's (nonces
# are given to any caller) written into its "nonce" member: the quote's
# signature still verifies, only the nonce check fails.  Such a verdict is
# not authenticated as A's answer to this nonce, so it must change nothing
# of A: not its last verdict, not its history (docs/api.md: "A verdict
# whose quote signature did not verify is not authenticated" -- a quote
# over another nonce is just as unauthenticated for this attestation).
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start; enroll a
python3 - <<'PY' || fail "replay of an old quote under a fresh nonce"
from atk import *
mid = machine_id("a")
n1 = nonce(mid)
ev = quote("a", n1)
r = attest(mid, ev)
check(r.status == 200 and r.get("verdict") == "pass", f"first attestation: {r}")
before = show(mid)
hist = history(mid)
check(before["last_verdict"] == "pass" and len(hist) == 1, f"after PASS: {before} {hist}")
# the attacker: no TPM, only the old evidence
for i in range(3):
    ev2 = dict(ev, nonce=nonce(mid))
    r = attest(mid, ev2)
    check(r.status in (200, 403), f"replay {i}: {r}")
    if r.status == 200:
        check(r.get("verdict") == "fail", f"replay {i} passed: {r}")
        check(r.get("recorded") is False,
              f"replay {i}: a quote over another nonce was recorded as A's verdict "
              f"(recorded={r.get('recorded')}, failed_check={r.get('failed_check')})")
after = show(mid)
check(after["last_verdict"] == "pass",
      f"A's last_verdict changed by an unauthenticated replay: {after['last_verdict']}")
check(len(history(mid)) == 1, f"A's history grew by replays: {len(history(mid))} rows")
PY
pass
