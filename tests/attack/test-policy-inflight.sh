#!/usr/bin/env bash
# An admin tightens a machine's policy while an attestation of it is
# verified and waiting for its commit: once PUT /v1/machines/ID/policy has
# answered 200, no verdict judged by the old policy may become the
# machine's last verdict.  The attestation is verified without a policy and
# queued; the test holds SQLite's write lock (the committer waits), lets go
# only for the assignment of a policy this machine fails, and takes it back;
# then the lock goes.  Before worker threads and group commit an
# attestation was verified and committed in one go on the one event loop,
# so an assignment could not fall in between; now the commit must notice
# (409 conflict, as for a state that moved) or the verdict must be judged
# by the policy assigned.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start --workers 2; enroll a
python3 - <<'PY' || fail "a PASS under a policy no longer assigned recorded after the assignment"
import threading
from atk import *
A = machine_id("a")
strict = json.dumps({"version": 2, "pcrs": {"sha256": [0]},
                     "pcr_values": {"sha256": {"0": ["00" * 32]}}})
r = admin("PUT", "/v1/policies/strict", strict); check(r.status == 200, f"PUT strict: {r}")
# the strict policy fails this machine
r = admin("PUT", f"/v1/machines/{A}/policy", {"policy": "strict"}); check(r.status == 200, f"{r}")
r = fresh_attest("a"); check(r.status == 200 and r.get("verdict") == "fail", f"strict: {r}")
r = admin("PUT", f"/v1/machines/{A}/policy", {"policy": None}); check(r.status == 200, f"{r}")
L = StoreLock()
for trial in range(4):
    ev = quote("a", nonce(A))
    out = []
    L.take()
    t = threading.Thread(target=lambda: out.append(attest(A, ev)))
    t.start()
    time.sleep(1.0)                       # verified (no policy) and queued
    r = L.around(admin, "PUT", f"/v1/machines/{A}/policy", {"policy": "strict"})
    check(r.status == 200, f"assign strict: {r}")
    early = bool(out)
    L.give()
    t.join(30)
    check(out, "no answer to the attestation")
    r = out[0]
    s = show(A)
    if not early:
        check(not (r.status == 200 and r.get("verdict") == "pass"),
              "the attestation verified without a policy was committed, answered and recorded "
              f"as PASS after the strict policy was assigned (200): policy {r.get('policy')}, "
              f"seq {r.get('seq')}; the machine's last verdict is now {s['last_verdict']} "
              f"under policy {s['policy']}")
        check(r.status in (409, 503) or (r.status == 200 and r.get("failed_check", "").startswith("policy")),
              f"{r}")
        sys.exit(0)
    r = admin("PUT", f"/v1/machines/{A}/policy", {"policy": None}); check(r.status == 200, f"{r}")
fail("the committer won the lock before the assignment in every trial")
PY
pass
