#!/usr/bin/env bash
# An attestation verified against one enrollment of a machine must not be
# committed into the next one.  The attestation is verified (enrollment E1,
# state generation 0) and queued; while the committer waits for the store
# (the test holds SQLite's write lock, letting go only for the server's own
# writes), an admin deletes the machine and it enrolls again (E2, whose
# state generation starts at 0 again).  When the lock goes, the commit of
# E1's attestation must be refused (409 conflict: "the machine was deleted
# or enrolled again meanwhile", docs/api.md), and E2 must stay without a
# verdict or state.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start --workers 2; enroll a
python3 - <<'PY' || fail "an attestation of the deleted enrollment committed into the new one"
import threading
from atk import *
A = machine_id("a")
L = StoreLock()
lock, unlock = L.take, L.give

def enroll_locked():
    """DELETE and enrollment through the API, the lock taken back after
    each of the server's writes (so the committer, which retries every
    100 ms, rarely gets it)."""
    unlock(); r = admin("DELETE", f"/v1/machines/{A}"); lock()
    check(r.status == 200, f"delete: {r}")
    d = f"{W}/tpm-a"
    unlock(); r1 = req("POST", "/v1/enroll", {"name": None, "request": json.load(open(f"{d}/req.json"))}); lock()
    check(r1.status == 200, f"enroll again: {r1}")
    json.dump(r1.json["challenge"], open(f"{d}/ch.json", "w"))
    p = subprocess.run([TPA, "enroll", "activate", f"{d}/ch.json", "--out", f"{d}/resp.json"],
                       env=tpm_env("a"), capture_output=True, timeout=60)
    check(p.returncode == 0, p.stderr.decode())
    unlock(); r2 = req("POST", "/v1/enroll/activate", open(f"{d}/resp.json", "rb").read()); lock()
    check(r2.status == 200 and r2.json["machine_id"] == A, f"activate again: {r2}")

for trial in range(4):
    s = show(A)
    check(s["state"] is None and s["last_verdict"] is None, f"trial {trial}: not a fresh enrollment: {s}")
    ev = quote("a", nonce(A))
    out = []
    lock()
    t = threading.Thread(target=lambda: out.append(attest(A, ev, headers=None)))
    t.start()
    time.sleep(1.0)                       # verified and queued; the committer waits
    if out:
        unlock(); fail(f"answered while the store was locked: {out[0]}")
    enroll_locked()
    early = bool(out)                     # the committer slipped in before the DELETE
    unlock()
    t.join(30)
    check(out, "no answer to the attestation")
    r = out[0]
    if early or (r.status == 200 and r.get("seq") is not None and show(A)["state"] is None):
        # committed into E1 before it was deleted: not this race; E2 is fresh, again
        continue
    s = show(A)
    check(r.status in (409, 503), f"E1's attestation committed after E1 was deleted and E2 enrolled: "
          f"{r.status} verdict {r.get('verdict')} recorded {r.get('recorded')} seq {r.get('seq')}; "
          f"E2 now has last_verdict {s['last_verdict']} and state {s['state']}")
    check(r.status == 503 or r.get("error") == "conflict", f"{r}")
    check(s["state"] is None and s["last_verdict"] is None, f"E2 after the refused commit: {s}")
    sys.exit(0)
fail("the committer won the lock before the re-enrollment in every trial")
PY
pass
