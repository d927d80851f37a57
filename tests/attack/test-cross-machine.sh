#!/usr/bin/env bash
# Two real TPMs, A and B, both enrolled.  B (or anyone holding B's
# evidence) attacks A: B's quote over A's nonce sent as A's; A's nonce used
# for B; B's held log hash sent for A; A's evidence with B's nonce.  And the
# event log A's server keeps: a log that comes with a FAIL is never held,
# the hash header refers to the held log only, with or without a log in the
# body.  Nothing of A (last verdict, history, state, held log) may change
# but by A's own TPM.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tpm_new b; tls_setup; serve_start; enroll a ma; enroll b mb
python3 - <<'PY' || fail "cross-machine"
from atk import *
A, B = machine_id("a"), machine_id("b")
logb = open(LOG, "rb").read()
held = sha256hex(logb)
r = fresh_attest("a"); check(r.get("verdict") == "pass", f"A first: {r}")
sa = show(A); ha = len(history(A))
# B's quote over a nonce of A's, sent as A's evidence
na = nonce(A)
evb = quote("b", na)
r = attest(A, evb)
check(r.status == 200 and r.get("verdict") == "fail" and r.get("failed_check") == "signature"
      and r.get("recorded") is False, f"B's quote as A's: {r}")
# the same, with A's AK public area pasted in (the server must use the enrolled AK)
evb2 = dict(evb, nonce=nonce(A))
evb2 = quote("b", evb2["nonce"]); evb2["ak"] = quote("a", nonce(A))["ak"]
r = attest(A, evb2)
check(r.status == 200 and r.get("failed_check") == "signature" and r.get("recorded") is False,
      f"B's quote with A's ak member: {r}")
sa2 = show(A)
for k in ("last_verdict", "last_seq", "state", "last_at"):
    check(sa2.get(k) == sa.get(k), f"A's {k} changed by B's evidence: {sa.get(k)} -> {sa2.get(k)}")
check(len(history(A)) == ha, "A's history grew by B's evidence")
# A's nonce used by B (quote by B over it, sent as B's): not B's nonce
na = nonce(A)
r = attest(B, quote("b", na))
check(r.status == 403 and r.get("error") == "nonce", f"A's nonce for B: {r}")
# the nonce is still A's: A can use it
r = attest(A, quote("a", na))
check(r.status == 200 and r.get("verdict") == "pass", f"A after B tried its nonce: {r}")
# B's nonce used by A
nb = nonce(B)
r = attest(A, quote("a", nb))
check(r.status == 403 and r.get("error") == "nonce", f"B's nonce for A: {r}")
# B holds no log: the hash of the log A's server holds, sent for B
nb = nonce(B)
check(req("POST", f"/v1/machines/{B}/nonce").json["eventlog_sha256"] is None, "B holds a log")
evb = quote("b", nb); evb["eventlog"] = None
r = attest(B, evb, headers={"Tpmattest-Eventlog-Sha256": held})
check(r.status == 409 and r.get("error") == "eventlog_unknown", f"A's log hash for B: {r}")
# header and a log in the body: refused
ev = quote("a", nonce(A))
r = attest(A, ev, headers={"Tpmattest-Eventlog-Sha256": held})
check(r.status == 400 and r.get("error") == "malformed", f"header and log: {r}")
# malformed headers
ev["eventlog"] = None
for bad in (held.upper(), held[:63], held + "0", "", held[:62] + "zz"):
    r = attest(A, ev, headers={"Tpmattest-Eventlog-Sha256": bad})
    check(r.status == 400 and r.get("error") == "malformed", f"header {bad!r}: {r}")
r = attest(A, ev, headers={"Tpmattest-Eventlog-Sha256": "00" * 32})
check(r.status == 409 and r.get("error") == "eventlog_unknown", f"unknown hash: {r}")
# the hash-only attestation with the held log
r = attest(A, quote("a", nonce(A)) | {"eventlog": None}, headers={"Tpmattest-Eventlog-Sha256": held})
check(r.status == 200 and r.get("verdict") == "pass", f"hash only: {r}")
# a log that does not replay (one more event on PCR 4): FAIL, and not held
bad = append_events(logb, [(4, 0x80000003, b"not booted")])
ev = quote("a", nonce(A)); ev["eventlog"] = b64(bad)
r = attest(A, ev)
check(r.status == 200 and r.get("verdict") == "fail" and r.get("recorded") is True,
      f"non-replaying log: {r}")
r = req("POST", f"/v1/machines/{A}/nonce")
check(r.json["eventlog_sha256"] == held,
      f"the log of a FAIL became the held one: {r.json['eventlog_sha256']} (held {held})")
r = attest(A, quote("a", r.json["nonce"]) | {"eventlog": None},
           headers={"Tpmattest-Eventlog-Sha256": sha256hex(bad)})
check(r.status == 409, f"hash of the FAIL's log: {r}")
r = attest(A, quote("a", nonce(A)) | {"eventlog": None}, headers={"Tpmattest-Eventlog-Sha256": held})
check(r.status == 200 and r.get("verdict") == "pass", f"hash only after a FAIL: {r}")
PY
pass
