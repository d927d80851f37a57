#!/usr/bin/env bash
# Issue 12 (docs/rollback.md): a restored snapshot must never pass again.
# The attack (a find, now defended): machine a has attested once (accepted
# counter L_A).  Machine b is rolled back: its counter C is below its last
# accepted L_B, and its own authorizations (PolicyNV bounds [L_B, L_B]) are
# refused by the TPM.  b's attacker starts a policy session on b's TPM,
# sends its nonceTPM in a nonce request for a (unauthenticated) and tries
# to satisfy b's counter policy with a's bounded authorization [L_A, L_A],
# which fits b's counter's value when L_A = C.  When every machine's counter
# had the same Name this took b back to L_B and the next attestation
# passed.  Defended: each machine's counter policy is PolicyAuthorize(the
# verifier key, policyRef = its machine id), so the counters' Names differ
# and a's approval (over a's machine id) is not b's policy.  Asserted: a's
# and b's counters have different Names; the naive rollback is FAIL
# counter; each of a's authorizations on b's TPM is refused by the TPM
# (when its bounds fit b's counter, L_A = C, PolicyNV holds but the
# session's digest names b's counter and the approval a's:
# TPM2_VerifySignature TPM_RC_SIGNATURE 0x2db, the attester stops, exit 4;
# otherwise PolicyNV TPM_RC_POLICY 0x126, no increment, the quote goes on);
# b's counter stays C; the next attestation of b is FAIL counter, never
# PASS.
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
check(a["state"]["counter"]["value"] == $LA, f"a's accepted counter: {a['state']}")
# the same index and attributes, another policy (policyRef = machine id): another Name
check(a["state"]["counter"]["name"] != s["state"]["counter"]["name"], f"the counters' Names are the same: {a['state']} {s['state']}")
check(a["enrollment"]["counter"]["authorized_by_policy"] != s["enrollment"]["counter"]["authorized_by_policy"],
      "the counters' policies are the same")
print("  the counters' Names: a", a["state"]["counter"]["name"], "b", s["state"]["counter"]["name"])
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

[ "$LA" -eq "$C" ] || echo "  note: a's accepted counter $LA is not b's restored $C: PolicyNV refuses a's bounds before the policy is compared"
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
    au = r.json["counter_authorization"]
    check(au["low"] == au["high"] == $LA, f"a's authorization's bounds are not [{$LA}, {$LA}]: {au}")
    lines = out.decode().strip().splitlines()
    if $LA == $C:
        # PolicyNV holds (b's counter is a's value), but the session's digest
        # names b's counter (its Name) and a's approval a's: the TPM refuses
        # the approval's signature, the attester stops (exit 4)
        check(q.returncode == 4 and "TPM2_VerifySignature" in err.decode() and "(0x2db)" in err.decode(),
              f"a's authorization on b's TPM not refused by VerifySignature (0x2db): exit {q.returncode}: {out.decode()[-300:]} {err.decode()[-600:]}")
        print(f"  a's authorization [{au['low']}, {au['high']}] on b's TPM: refused,", err.decode().strip().splitlines()[-1][-140:])
    else:
        # PolicyNV refuses a's bounds: no increment, the quote goes on
        check(q.returncode == 0 and lines, f"quote --exchange: {q.returncode} {err.decode()[-400:]}")
        s = json.loads(lines[-1])
        check(not s.get("incremented") and "(TPM_RC_POLICY, 0x126)" in (s.get("refused") or ""),
              f"a's authorization on b's TPM (a's counter {$LA}, b's {$C}) was not refused by PolicyNV (0x126): {s}")
        print(f"  a's authorization [{au['low']}, {au['high']}] on b's TPM:", s.get("refused"))
PY
[ "$(nvval b)" -eq "$C" ] || fail "a's authorizations moved b's counter: $(nvval b), restored $C"
echo "  b's counter after the attack: $(nvval b) (restored $C, accepted $L)"
att b "$W/after"; st=$?
echo "  b after the rollback and a's authorizations: exit $st, $(verdict "$W/after")"
# the defended outcome: the rolled-back TPM never passes
[ "$st" = 1 ] && [ "$(verdict "$W/after")" = "fail counter" ] ||
  fail "rolled back, then pushed forward with another machine's (bounded) authorizations: exit $st, verdict $(verdict "$W/after"), b's counter $(nvval b): $(head -c 600 "$W/after")"
pass
