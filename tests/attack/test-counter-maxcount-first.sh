#!/usr/bin/env bash
# Issue 12 (docs/rollback.md, "Delete the index and define it again ...
# A first authorization can never write a counter written already").  The
# attack (a find, now defended): b is rolled back (counter C below its
# last accepted L); the attacker, with the owner's authorization, defines a
# helper counter, increments it to L + 1 and deletes it (the TPM's highest
# counter value, maxCount, is now L + 1), deletes b's counter and defines
# it again with the same public area (the authPolicy of b's enrollment
# record), so the redefined index has the enrolled Name and is unwritten.
# Then one "first" authorization (a nonce request for machine a, enrolled
# and never attested, with b's nonceTPM) would write it at maxCount + 1 =
# L + 2, within b's window once nonce requests for b had widened it.
# Defended: a's first authorization is approved for a's machine id, the
# policyRef of a's counter policy only, and b's outstanding authorizations
# are all for [L, L] (no window to widen).  Asserted: the nonce requests
# for b give bounds [L, L]; a's first authorization on b's redefined
# counter is refused at NV_Increment (TPM_RC_POLICY_FAIL, 0x99d), the index
# stays unwritten (the attester's NV_Certify then fails, 0x14a, exit 4); the
# next ordinary attestation of b cannot certify the unwritten counter either
# (exit 4, no evidence sent): b's accepted counter stays L and its history
# has no verdict after the rollback, never a PASS.
for c in tpm2_nvread tpm2_nvdefine tpm2_nvundefine tpm2_nvincrement; do
  command -v $c >/dev/null || { echo "SKIP: no $c"; exit 77; }
done
TPA=$1; . "$(dirname "$0")/lib.sh"
IDX=0x01000101 HELP=0x01000140
tpm_new a; tpm_new b; tls_setup
SERVE_COUNTERS= serve_start
for m in a b; do
  use_tpm $m
  "$TPA" enroll --server "$URL" --ca "$W/tls/ca.pem" --id-file "$W/tpm-$m/id" >"$W/enroll-$m.out" 2>&1 ||
    { cat "$W/enroll-$m.out" >&2; fail "enroll --server $m"; }
done
nvval() { use_tpm "$1"; printf %d "0x$(tpm2_nvread -C "$2" -s 8 "$2" 2>/dev/null | od -An -tx1 | tr -d ' \n')"; }
att() {
  use_tpm "$1"
  "$TPA" attest --server "$URL" --ca "$W/tls/ca.pem" --id-file "$W/tpm-$1/id" --eventlog "$LOG" --json >"$2" 2>"$2.err"
}
up() { swtpm_up "$1"; use_tpm "$1"; "$TPA" eventlog extend "$LOG" >/dev/null || fail "extend on $1"; }
verdict() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("verdict"), d.get("failed_check"))' "$1"; }

att b "$W/v1" || fail "b's first attestation: $(cat "$W/v1" "$W/v1.err")"
swtpm_down b; cp -a "$W/tpm-b/state" "$W/snapshot"; up b
for i in 2 3 4; do att b "$W/v$i" || fail "b's attestation $i: $(cat "$W/v$i" "$W/v$i.err")"; done
L=$(nvval b $IDX)
swtpm_down b; rm -rf "$W/tpm-b/state"; cp -a "$W/snapshot" "$W/tpm-b/state"; up b
swtpm_down b; up b
C=$(nvval b $IDX)
[ "$C" -lt "$L" ] || fail "restored: b's counter $C is not below $L"

# the owner's moves (its authorization is empty here; an attacker with it
# is in the claim): maxCount to L + 1 with a helper counter
use_tpm b
tpm2_nvdefine -C o -s 8 -a "nt=counter|ownerwrite|ownerread|authread|authwrite|no_da" $HELP >/dev/null 2>"$W/err" ||
  fail "helper nvdefine: $(cat "$W/err")"
for i in $(seq 200); do
  tpm2_nvincrement -C o $HELP >/dev/null 2>"$W/err" || fail "helper nvincrement: $(cat "$W/err")"
  [ "$(nvval b $HELP)" -ge $((L + 1)) ] && break
done
[ "$(nvval b $HELP)" -eq $((L + 1)) ] || fail "the helper counter is $(nvval b $HELP), not $((L + 1))"
tpm2_nvundefine -C o $HELP 2>"$W/err" || fail "helper nvundefine: $(cat "$W/err")"
# b's counter deleted and defined again, the same public area
# (the policy b's counter was enrolled with: its record says)
python3 - "$W/policy.bin" <<'PY' || fail "b's counter policy"
import sys
from atk import *
open(sys.argv[1], "wb").write(bytes.fromhex(show(machine_id("b"))["enrollment"]["counter"]["authorized_by_policy"]))
PY
tpm2_nvundefine -C o $IDX 2>"$W/err" || fail "nvundefine: $(cat "$W/err")"
tpm2_nvdefine -C o -s 8 -a "nt=counter|policywrite|authread|ownerread|no_da" -L "$W/policy.bin" $IDX >/dev/null 2>"$W/err" ||
  fail "nvdefine: $(cat "$W/err")"

python3 - <<PY || fail "the attack's requests"
import json, os, subprocess
from atk import *
a, b = machine_id("a"), machine_id("b")
# b's window "widened": nonce requests with made-up nonceTPMs; the bounds are exact
for i in range(3):
    r = req("POST", f"/v1/machines/{b}/nonce", {"nonce_tpm": os.urandom(32).hex()})
    au = r.status == 200 and r.json["counter_authorization"]
    check(au and au["first"] is False and au["low"] == au["high"] == $L, f"b's nonce: not [{$L}, {$L}]: {r}")
print("  b's outstanding authorizations:", show(b)["counter_auths"])
# one first authorization, a's, on b's TPM
q = subprocess.Popen([TPA, "quote", "--exchange", "--eventlog", "none", "--out", f"{W}/x.json"],
                     env=tpm_env("b"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
nt = json.loads(q.stdout.readline())["nonce_tpm"]
r = req("POST", f"/v1/machines/{a}/nonce", {"nonce_tpm": nt})
check(r.status == 200 and r.json["counter_authorization"]["first"] is True, f"a's nonce: {r}")
out, err = q.communicate((json.dumps({"nonce": r.json["nonce"], "counter_authorization": r.json["counter_authorization"]}) + "\n").encode(), timeout=120)
# refused at NV_Increment; the index stays unwritten, so the attester's
# TPM2_NV_Certify cannot certify it either (0x14a) and it stops (exit 4)
e = err.decode()
check(q.returncode == 4 and "TPM2_NV_Increment refused the authorized policy (TPM_RC_POLICY_FAIL, 0x99d)" in e
      and "TPM2_NV_Certify" in e and "(0x14a)" in e,
      f"a's first authorization on b's redefined counter not refused at NV_Increment (0x99d): exit {q.returncode}: {out.decode()[-300:]} {e[-600:]}")
print("  a's first authorization on b's redefined counter: refused (0x99d), then NV_Certify of the unwritten index (0x14a), exit 4")
PY
use_tpm b
tpm2_nvread -C $IDX -s 8 $IDX >/dev/null 2>&1 && fail "b's redefined counter was written: $(nvval b $IDX)"
echo "  b's redefined counter: unwritten (restored $C, accepted $L)"
att b "$W/after"; st=$?
echo "  b after the rollback: exit $st, $(tail -1 "$W/after.err" | cut -c1-200)"
# the defended outcome: no PASS.  The redefined index is unwritten: b's own
# authorization [L, L] cannot read it (PolicyNV, 0x14a) and NV_Certify
# cannot certify it (0x14a), so the attester sends no evidence (exit 4)
[ "$st" = 4 ] && grep -q "TPM2_NV_Certify.*(0x14a)" "$W/after.err" ||
  fail "rolled back, counter redefined over a raised maxCount, one foreign first authorization: exit $st, b's counter $(nvval b $IDX): $(head -c 600 "$W/after") $(tail -c 600 "$W/after.err")"
python3 - <<PY || fail "b's record after the attack"
from atk import *
b = machine_id("b")
s = show(b)
check(s["state"]["counter"]["value"] == $L, f"b's accepted counter moved: {s['state']}")
h = history(b)
check(len(h) == 4 and all(x["verdict"] == "pass" for x in h), f"b's history after the rollback: {[x['verdict'] for x in h]}")
print("  b's record: accepted counter $L, no verdict after the rollback (4 passes before it)")
PY
pass
