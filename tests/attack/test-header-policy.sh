#!/usr/bin/env bash
# The hash-only attestation (Tpmattest-Eventlog-Sha256) is judged by the
# machine's policy of the moment against the held log: a log accepted with
# no policy, then the golden policy assigned (PASS, ruled), a strict one
# (FAIL naming the policy check), none again (PASS, not ruled), and a
# --policy default for machines with none.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup
use_tpm a
"$TPA" quote --nonce "$(openssl rand -hex 32)" --eventlog "$LOG" --out "$W/golden.json" >/dev/null 2>&1 || fail quote
"$TPA" policy create "$W/golden.json" --out "$W/golden-policy.json" >/dev/null 2>&1 || fail "policy create"
serve_start; enroll a
python3 - <<'PY' || fail "hash-only attestations and policies"
import hashlib
from atk import *
A = machine_id("a")
held = sha256hex(open(LOG, "rb").read())
def hash_only():
    ev = quote("a", nonce(A)); ev["eventlog"] = None
    return attest(A, ev, headers={"Tpmattest-Eventlog-Sha256": held})
r = hash_only(); check(r.status == 409 and r.get("error") == "eventlog_unknown", f"before any log is held: {r}")
r = fresh_attest("a"); check(r.get("verdict") == "pass" and r.json["policy"]["ruled"] is False, f"no policy: {r}")
golden = open(f"{W}/golden-policy.json").read()
strict = json.dumps({"version": 2, "pcrs": {"sha256": [0]}, "pcr_values": {"sha256": {"0": ["00" * 32]}}})
check(admin("PUT", "/v1/policies/golden", golden).status == 200, "PUT golden")
check(admin("PUT", "/v1/policies/strict", strict).status == 200, "PUT strict")
check(admin("PUT", f"/v1/machines/{A}/policy", {"policy": "golden"}).status == 200, "assign golden")
r = hash_only()
check(r.get("verdict") == "pass" and r.json["policy"] == {"name": "golden", "ruled": True,
      "sha256": hashlib.sha256(golden.encode()).hexdigest()}, f"golden, hash only: {r}")
check(admin("PUT", f"/v1/machines/{A}/policy", {"policy": "strict"}).status == 200, "assign strict")
r = hash_only()
check(r.get("verdict") == "fail" and r.get("failed_check", "").startswith("policy") and r.get("recorded") is True,
      f"strict, hash only: {r}")
check(show(A)["last_verdict"] == "fail", "last verdict after the strict FAIL")
check(admin("PUT", f"/v1/machines/{A}/policy", {"policy": None}).status == 200, "unassign")
r = hash_only()
check(r.get("verdict") == "pass" and r.json["policy"]["ruled"] is False and "note" in r.json, f"no policy, hash only: {r}")
PY
serve_stop
serve_start --policy "$W/golden-policy.json"
python3 - <<'PY' || fail "default policy"
from atk import *
A = machine_id("a")
held = sha256hex(open(LOG, "rb").read())
ev = quote("a", nonce(A)); ev["eventlog"] = None
r = attest(A, ev, headers={"Tpmattest-Eventlog-Sha256": held})
check(r.get("verdict") == "pass" and r.json["policy"]["ruled"] is True and r.json["policy"]["name"] is not None,
      f"the default policy, hash only: {r}")
check(admin("PUT", f"/v1/machines/{A}/policy", {"policy": "strict"}).status == 200, "assign strict")
r = fresh_attest("a")
check(r.get("verdict") == "fail" and r.json["policy"]["name"] == "strict", f"an assigned policy beats the default: {r}")
PY
pass
