#!/usr/bin/env bash
# Issue 12 (docs/rollback.md): a restored snapshot must never pass again.
# The attack (a find, now defended): machine b is rolled back (its counter
# C below the last accepted L).  Its own authorizations carry PolicyNV
# bounds [L, L] and the TPM refuses them.  A "first" authorization is
# issued for any enrolled machine that has no accepted counter yet (here
# machine a, enrolled and never attested; the nonce request is
# unauthenticated), so b's attacker starts a policy session on b's TPM,
# sends its nonceTPM in a nonce request for a, and tries to satisfy b's
# counter policy with a's first authorization, once per increment to L.
# Defended: the approval covers a's machine id, which is the policyRef of
# a's counter policy only (PolicyAuthorize(verifier key, machine id)), so
# b's counter has another policy and Name.  Asserted: the naive rollback is
# FAIL counter, refused by the TPM's PolicyNV; each of a's first
# authorizations on b's TPM is refused at NV_Increment (TPM_RC_POLICY_FAIL,
# 0x99d), the quote goes on and b's counter stays C; the next attestation
# of b is FAIL counter (never PASS).
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
# a has no accepted counter: the server issues first authorizations for it
check(a.get("state") in (None, {}) or not a["state"].get("counter"), f"a has a counter: {a}")
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

# the attack: a's first authorizations on b's TPM, one increment each
python3 - <<PY || fail "a's first authorizations on b"
import json, subprocess
from atk import *
a = machine_id("a")
for i in range($L - $C):
    q = subprocess.Popen([TPA, "quote", "--exchange", "--eventlog", "none", "--out", f"{W}/x{i}.json"],
                         env=tpm_env("b"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    nt = json.loads(q.stdout.readline())["nonce_tpm"]
    r = req("POST", f"/v1/machines/{a}/nonce", {"nonce_tpm": nt})
    check(r.status == 200 and r.json["counter_authorization"]["first"] is True, f"a's nonce: {r}")
    out, err = q.communicate((json.dumps({"nonce": r.json["nonce"],
                                          "counter_authorization": r.json["counter_authorization"]}) + "\n").encode(), timeout=120)
    s = json.loads(out.decode().strip().splitlines()[-1])
    print("  a's first authorization on b's TPM:", "incremented" if s.get("incremented") else s.get("refused"))
    check(q.returncode == 0, f"quote --exchange: {q.returncode} {err.decode()[-400:]}")
    check(not s.get("incremented") and "TPM_RC_POLICY_FAIL, 0x99d" in (s.get("refused") or ""),
          f"a's first authorization on b's TPM was not refused at NV_Increment (0x99d): {s}")
PY
[ "$(nvval b)" -eq "$C" ] || fail "a's first authorizations moved b's counter: $(nvval b), restored $C"
echo "  b's counter after the attack: $(nvval b) (restored $C, accepted $L)"
att b "$W/after"; st=$?
echo "  b after the rollback and a's first authorizations: exit $st, $(verdict "$W/after")"
# the defended outcome: the rolled-back TPM never passes
[ "$st" = 1 ] && [ "$(verdict "$W/after")" = "fail counter" ] ||
  fail "rolled back, then pushed forward with another machine's first authorizations: exit $st, verdict $(verdict "$W/after"), b's counter $(nvval b): $(head -c 600 "$W/after")"
pass
