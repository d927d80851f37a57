#!/usr/bin/env bash
# THREATS.md, "rolled back, then pushed forward", with the counter only the
# verifier's authorizations increment (tpmattest enroll --server against a
# server without --legacy-counters; docs/rollback.md).  Attest, snapshot the
# TPM, attest twice, restore; then everything an attacker with the owner's
# (empty) authorization can send: the clock set a day forward,
# tpm2_nvincrement with the index's auth and with the owner's (the TPM
# refuses both), the attester's own authorized increment (the TPM refuses
# the verifier's PolicyNV bound; the attestation shows the old counter:
# FAIL counter, recorded), five times more (never heals); then the index
# deleted and defined again with the same attributes and policy (unwritten:
# no authorization the verifier now issues writes it, the attestation
# cannot certify it); and a snapshot from before the first attestation
# restored.  After the restore no PASS at all.
command -v tpm2_nvincrement >/dev/null || skip "no tpm2_nvincrement"
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; SERVE_COUNTERS= serve_start
use_tpm a
IDF=$W/id-a
att() { "$TPA" attest --server "$URL" --ca "$W/tls/ca.pem" --id-file "$IDF" --eventlog "$LOG" --json >"$W/att.out" 2>"$W/att.err"; }
verdict() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["verdict"], d.get("failed_check"), d["recorded"])' "$W/att.out"; }
NV=0x01000101
"$TPA" enroll --server "$URL" --ca "$W/tls/ca.pem" --id-file "$IDF" >/dev/null 2>"$W/enroll.err" || fail "enroll: $(cat "$W/enroll.err")"
curl -s --cacert "$W/tls/ca.pem" "$URL/v1/counter-key" >"$W/key.json" || fail "counter-key"
swtpm_down a; cp -a "$W/tpm-a/state" "$W/snapshot0"; swtpm_up a
"$TPA" eventlog extend "$LOG" >/dev/null || fail "extend"
att || fail "first attestation: $(cat "$W/att.err")"
[ "$(verdict)" = "pass None True" ] || fail "first attestation: $(head -c 600 "$W/att.out")"
# the snapshot: after one accepted counter
swtpm_down a; cp -a "$W/tpm-a/state" "$W/snapshot"; swtpm_up a
"$TPA" eventlog extend "$LOG" >/dev/null || fail "extend"
for i in 1 2; do
  att || fail "attestation $i before the rollback: $(cat "$W/att.err")"
  [ "$(verdict)" = "pass None True" ] || fail "attestation $i: $(head -c 600 "$W/att.out")"
done
LAST=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checks"][[c["name"] for c in json.load(open(sys.argv[1]))["checks"]].index("counter")]["reason"])' "$W/att.out")
restore() {
  swtpm_down a; rm -rf "$W/tpm-a/state"; cp -a "$1" "$W/tpm-a/state"; swtpm_up a
  "$TPA" eventlog extend "$LOG" >/dev/null || fail "extend"
}
restore "$W/snapshot"

# the clock a day forward: the owner's authorization is empty here
clk=$(tpm2_readclock | sed -n 's/^ *clock: *\([0-9]*\).*/\1/p' | head -1)
[ -n "$clk" ] || fail "tpm2_readclock"
tpm2_setclock $((clk + 86400000)) 2>"$W/err" || fail "tpm2_setclock with the empty owner auth: $(cat "$W/err")"
# the counter: neither its own auth nor the owner's writes it
tpm2_nvincrement $NV 2>"$W/err" && fail "tpm2_nvincrement with the index's auth succeeded"
grep -q "0x0000012f" "$W/err" || fail "nvincrement (index auth): want TPM_RC_AUTH_UNAVAILABLE: $(cat "$W/err")"
tpm2_nvincrement -C o $NV 2>"$W/err" && fail "tpm2_nvincrement with the owner's auth succeeded"
grep -q "0x00000149" "$W/err" || fail "nvincrement (owner): want TPM_RC_NV_AUTHORIZATION: $(cat "$W/err")"

# the attester's own authorized increment: refused by the TPM (PolicyNV:
# the counter is below the last accepted value); the verdict names the
# rollback, and stays so however often it is tried
for i in 1 2 3 4 5 6; do
  att; rc=$?
  [ "$rc" = 1 ] || fail "attempt $i after the restore: exit $rc: $(cat "$W/att.err")"
  [ "$(verdict)" = "fail counter True" ] || fail "attempt $i after the restore: $(head -c 800 "$W/att.out")"
  grep -q "not incremented" "$W/att.err" || fail "attempt $i: the attester does not say the TPM refused the increment: $(cat "$W/att.err")"
  python3 - "$W/att.out" <<'PY' || fail "attempt $i: the reason: $(head -c 800 "$W/att.out")"
import json, sys
d = json.load(open(sys.argv[1]))
c = [c for c in d["checks"] if c["name"] == "counter"][0]
assert c["status"] == "fail" and "rolled-back" in c["reason"] and "not greater than the last accepted" in c["reason"], c
PY
done

# deleted and defined again, the same public area (so the same Name once
# written), unwritten: the verifier's authorizations carry PolicyNV, which
# cannot read it; the attestation cannot certify it: no verdict, no PASS
python3 - "$W/policy.bin" <<'PY' || fail "the enrolled counter's policy"
import sys
from atk import *
mid = open(f"{W}/id-a").read().strip()
open(sys.argv[1], "wb").write(bytes.fromhex(show(mid)["enrollment"]["counter"]["authorized_by_policy"]))
PY
tpm2_nvundefine -C o $NV 2>"$W/err" || fail "nvundefine with the owner's auth: $(cat "$W/err")"
tpm2_nvdefine -C o -s 8 -a "nt=counter|policywrite|authread|ownerread|no_da" -L "$W/policy.bin" $NV 2>"$W/err" ||
  fail "nvdefine: $(cat "$W/err")"
att; rc=$?
[ "$rc" = 4 ] || fail "the redefined counter: exit $rc (want 4: the TPM cannot certify it): $(head -c 600 "$W/att.out") $(cat "$W/att.err")"
grep -qi "NV_UNINITIALIZED\|0x14a" "$W/att.err" || fail "the redefined counter: want TPM_RC_NV_UNINITIALIZED named: $(cat "$W/att.err")"

# the snapshot from before the first attestation: its counter unwritten too
restore "$W/snapshot0"
att; rc=$?
[ "$rc" = 4 ] || fail "the snapshot before the first attestation: exit $rc: $(head -c 600 "$W/att.out") $(cat "$W/att.err")"

# the record: three PASS before the restore, then only FAIL counter
python3 - <<'PY' || fail "the history"
from atk import *
mid = open(f"{W}/id-a").read().strip()
h = history(mid)
got = [(e["verdict"], e["error"]) for e in h][::-1]
check(got == [("pass", None)] * 3 + [("fail", "counter or clock went back")] * 6, f"history: {got}")
m = show(mid)
check(m["last_verdict"] == "fail", f"last verdict {m['last_verdict']}")
PY
pass
