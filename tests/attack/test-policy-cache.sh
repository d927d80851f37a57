#!/usr/bin/env bash
# An admin tightens a machine's policy (PUT /v1/policies/NAME with a new
# document): the next attestation must be judged by the new document.  The
# server caches parsed policies keyed by (name, stored-at second): a
# replacement within the same second as the cached one is never seen.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start; enroll a
use_tpm a
"$TPA" quote --nonce "$(openssl rand -hex 32)" --eventlog "$LOG" --out "$W/golden.json" >/dev/null 2>&1 || fail "quote"
"$TPA" policy create "$W/golden.json" --out "$W/golden-policy.json" >/dev/null 2>&1 || fail "policy create"
python3 - <<'PY' || fail "policy replaced within the same second"
import time
from atk import *
mid = machine_id("a")
golden = open(f"{W}/golden-policy.json").read()
strict = json.dumps({"version": 2, "pcrs": {"sha256": [0]},
                     "pcr_values": {"sha256": {"0": ["00" * 32]}}})
# the strict document is a policy the server takes, and it fails this machine
r = admin("PUT", "/v1/policies/probe", strict); check(r.status == 200, f"PUT strict: {r}")
r = admin("PUT", f"/v1/machines/{mid}/policy", {"policy": "probe"}); check(r.status == 200, f"assign: {r}")
r = fresh_attest("a"); check(r.status == 200 and r.get("verdict") == "fail", f"strict policy: {r}")
check(r.get("failed_check", "").startswith("policy"), f"strict policy, failed check: {r.get('failed_check')}")
r = admin("PUT", f"/v1/machines/{mid}/policy", {"policy": "golden"})
check(r.status == 404, f"assigning a policy that is not stored: {r}")
for attempt in range(4):
    e1 = quote("a", nonce(mid)); e2 = quote("a", nonce(mid))
    while time.time() % 1 > 0.3:          # start early in a second
        time.sleep(0.02)
    t = int(time.time())
    r = admin("PUT", "/v1/policies/golden", golden); check(r.status == 200, f"PUT golden: {r}")
    r = admin("PUT", f"/v1/machines/{mid}/policy", {"policy": "golden"}); check(r.status == 200, f"assign: {r}")
    r1 = attest(mid, e1)
    r = admin("PUT", "/v1/policies/golden", strict); check(r.status == 200, f"PUT strict: {r}")
    if int(time.time()) != t:
        continue                           # crossed a second: try again
    check(r1.status == 200 and r1.get("verdict") == "pass", f"golden policy: {r1}")
    r = admin("GET", "/v1/policies/golden")
    check(r.status == 200 and r.json == json.loads(strict), f"stored document: {r}")
    r2 = attest(mid, e2)
    check(r2.status == 200, f"after replacement: {r2}")
    check(r2.get("verdict") == "fail",
          "the policy was replaced by one this machine fails, and the server still "
          f"judged by the old one: verdict {r2.get('verdict')}")
    sys.exit(0)
fail("could not fit the sequence in one second 4 times")
PY
pass
