#!/usr/bin/env bash
# Issue 12 (docs/rollback.md): a restored snapshot must never pass again.
# The attack: every machine's verifier-authorized counter has the same
# Name (same index 0x01000101, attributes, size and authPolicy =
# PolicyAuthorize(the one verifier key)), so the PolicyNV bounds of an
# authorization, which name the counter by that Name, do not tell one
# machine's counter from another's.  Machine a has attested once (accepted
# counter L_A).  Machine b is rolled back: its counter C is below its last
# accepted L_B, its own authorizations (PolicyNV counter >= L_B) are refused
# by the TPM.  b's attacker starts a policy session on b's TPM, sends its
# nonceTPM in a nonce request for a (unauthenticated; each one also widens
# a's window [L_A, L_A + issued]) and satisfies b's counter policy with a's
# authorization while L_A <= C: b climbs back to L_B, and the next ordinary
# attestation of b passes.  Asserted: the defended outcome (the rolled-back
# b never passes); the steps on the way as they happen today.
command -v tpm2_nvread >/dev/null || { echo "SKIP: no tpm2_nvread"; exit 77; }
TPA=$1; . "$(dirname "$0")/lib.sh"
IDX=0x01000101
tpm_new a; tpm_new b; tls_setup
SERVE_COUNTERS= serve_start
for m in a b; do
  use_tpm $m
  "$TPA" enroll --server "$URL" --ca "$W/tls/ca.pem" --id-file "$W/tpm-$m/id" >"$W/enroll-$m.out" 2>&1 ||
    { cat "$W/enroll-$m.out" >&2; fail "enroll --server $m"; }
done
nvval() { use_tpm "$1"; printf %d "0x$(tpm2_nvread -C $IDX -s 8 $IDX 2>/dev/null | od -An -tx1 | tr -d ' \n')"; }
att() { # att NAME OUT: tpmattest attest on NAME's TPM, the verdict in OUT
  use_tpm "$1"
  "$TPA" attest --server "$URL" --ca "$W/tls/ca.pem" --id-file "$W/tpm-$1/id" --eventlog "$LOG" --json >"$2" 2>"$2.err"
}
# up NAME: swtpm started again, its boot replayed into the PCRs
up() { swtpm_up "$1"; use_tpm "$1"; "$TPA" eventlog extend "$LOG" >/dev/null || fail "extend on $1"; }
verdict() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("verdict"), d.get("failed_check"))' "$1"; }

# a: one attestation (its counter's first increment): a has an accepted counter
att a "$W/va" || fail "a's attestation: $(cat "$W/va" "$W/va.err")"
LA=$(nvval a)
# b: first attestation (the counter's first increment), snapshot, two more
att b "$W/v1" || fail "b's first attestation: $(cat "$W/v1" "$W/v1.err")"
swtpm_down b; cp -a "$W/tpm-b/state" "$W/snapshot"; up b
C=$(nvval b)
for i in 2 3; do att b "$W/v$i" || fail "b's attestation $i: $(cat "$W/v$i" "$W/v$i.err")"; done
L=$(nvval b)
[ "$L" -eq $((C + 2)) ] || fail "b's counter $L is not $C + 2"
python3 - <<PY || fail "the accepted counter"
from atk import *
s = show(machine_id("b"))
check(s["state"]["counter"]["value"] == $L, f"b's accepted counter: {s['state']}")
a = show(machine_id("a"))
# every machine's counter has the same Name: same index, attributes, policy
check(a["state"]["counter"]["value"] == $LA, f"a's accepted counter: {a['state']}")
# the same Name, on two TPMs
check(a["state"]["counter"]["name"] == s["state"]["counter"]["name"], f"the counters' Names differ: {a['state']} {s['state']}")
print("  both counters' Name:", a["state"]["counter"]["name"])
PY

# the rollback; a restart for a new resetCount (the clock check passes on
# a new boot); the naive attestation is refused on the counter
swtpm_down b; rm -rf "$W/tpm-b/state"; cp -a "$W/snapshot" "$W/tpm-b/state"; up b
swtpm_down b; up b
[ "$(nvval b)" -eq "$C" ] || fail "restored: b's counter is $(nvval b), not $C"
att b "$W/naive"; st=$?
[ "$st" = 1 ] && [ "$(verdict "$W/naive")" = "fail counter" ] || fail "naive rollback: exit $st: $(cat "$W/naive")"
grep -q "TPM_RC_POLICY" "$W/naive.err" "$W/naive" || fail "naive rollback: the TPM did not refuse b's own authorization's PolicyNV: $(cat "$W/naive.err")"
[ "$(nvval b)" -eq "$C" ] || fail "naive rollback moved the counter"

[ "$LA" -le "$C" ] || fail "a's accepted counter $LA is above b's restored $C: this swtpm starts counters otherwise"
# the attack: a's authorizations on b's TPM, one increment each
python3 - <<PY || fail "a's authorizations on b"
import json, subprocess
from atk import *
a = machine_id("a")
for i in range($L - $C):
    q = subprocess.Popen([TPA, "quote", "--exchange", "--eventlog", "none", "--out", f"{W}/x{i}.json"],
                         env=tpm_env("b"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    nt = json.loads(q.stdout.readline())["nonce_tpm"]
    r = req("POST", f"/v1/machines/{a}/nonce", {"nonce_tpm": nt})
    check(r.status == 200 and r.json["counter_authorization"]["first"] is False, f"a's nonce: {r}")
    out, err = q.communicate((json.dumps({"nonce": r.json["nonce"],
                                          "counter_authorization": r.json["counter_authorization"]}) + "\n").encode(), timeout=120)
    s = json.loads(out.decode().strip().splitlines()[-1])
    au = r.json["counter_authorization"]
    print(f"  a's authorization [{au['low']}, {au['high']}] on b's TPM:", "incremented" if s.get("incremented") else s.get("refused"))
    check(q.returncode == 0, f"quote --exchange: {q.returncode} {err.decode()[-400:]}")
PY
echo "  b's counter after the attack: $(nvval b) (restored $C, accepted $L)"
att b "$W/after"; st=$?
echo "  b after the rollback and a's authorizations: exit $st, $(verdict "$W/after")"
# the defended outcome: the rolled-back TPM never passes
[ "$st" = 1 ] && [ "$(verdict "$W/after")" = "fail counter" ] ||
  fail "rolled back, then pushed forward with another machine's (bounded) authorizations: exit $st, verdict $(verdict "$W/after"), b's counter $(nvval b): $(head -c 600 "$W/after")"
pass
