#!/usr/bin/env bash
# Issue 12 (docs/rollback.md, "Delete the index and define it again ...
# Raising the TPM's highest counter value first does not help: the new
# index is never written").  It is written, with one authorization: b is
# rolled back (counter C below its last accepted L); the attacker, with the
# owner's authorization, defines a helper counter, increments it to L + 1
# and deletes it (the TPM's highest counter value, maxCount, is now L + 1),
# deletes b's counter and defines it again with the same public area
# (authPolicy from GET /v1/counter-key).  One "first" authorization (a nonce
# request for machine a, enrolled and never attested, with b's nonceTPM:
# it names neither machine nor index) writes it: a counter's first
# increment starts from maxCount, so b's counter is L + 2 at once, and the
# redefined index has the enrolled Name.  Nonce requests for b with any
# nonceTPM (unauthenticated) widen b's window (L, L + issued] past it; the
# next ordinary attestation of b passes.  One authorization for any gap.
# Asserted: the defended outcome (no PASS after the rollback).
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
# b's window widened: nonce requests with made-up nonceTPMs
for i in range(3):
    r = req("POST", f"/v1/machines/{b}/nonce", {"nonce_tpm": os.urandom(32).hex()})
    check(r.status == 200 and r.json["counter_authorization"] is not None, f"b's nonce: {r}")
print("  b's outstanding authorizations:", show(b)["counter_auths"])
# one first authorization, a's, on b's TPM
q = subprocess.Popen([TPA, "quote", "--exchange", "--eventlog", "none", "--out", f"{W}/x.json"],
                     env=tpm_env("b"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
nt = json.loads(q.stdout.readline())["nonce_tpm"]
r = req("POST", f"/v1/machines/{a}/nonce", {"nonce_tpm": nt})
check(r.status == 200 and r.json["counter_authorization"]["first"] is True, f"a's nonce: {r}")
out, err = q.communicate((json.dumps({"nonce": r.json["nonce"], "counter_authorization": r.json["counter_authorization"]}) + "\n").encode(), timeout=120)
check(q.returncode == 0, f"quote --exchange: {q.returncode} {err.decode()[-400:]}")
print("  a's first authorization on b's redefined counter:", out.decode().strip()[-200:])
PY
echo "  b's counter: $(nvval b $IDX) (restored $C, accepted $L)"
att b "$W/after"; st=$?
echo "  b after the rollback: exit $st, $(verdict "$W/after")"
[ "$st" = 1 ] && [ "$(verdict "$W/after")" = "fail counter" ] ||
  fail "rolled back, counter redefined over a raised maxCount, one foreign first authorization: exit $st, verdict $(verdict "$W/after"), b's counter $(nvval b $IDX): $(head -c 600 "$W/after")"
pass
