#!/usr/bin/env bash
# THREATS "Freshness and rollback" on swtpm: a verifier that keeps the
# machine's state accepts each new attestation once, refuses a replayed one,
# and catches a TPM whose state was saved and restored (a vTPM snapshot).
. "$(dirname "$0")/common.sh"
start_swtpm
ek_public "$W/ek.pub"
STATE=$W/machine.state.json
attest() { # attest NAME: quote with a fresh nonce, sets NONCE
  NONCE=$(openssl rand -hex 32)
  run 0 "$TPA" quote --nonce "$NONCE" --eventlog none --out "$W/$1.json" --raw-dir "$W/raw-$1"
}
restart_swtpm() {
  kill "$(cat "$W/swtpm.pid")" 2>/dev/null
  for i in $(seq 50); do kill -0 "$(cat "$W/swtpm.pid")" 2>/dev/null || break; sleep 0.1; done
  swtpm socket --tpm2 --tpmstate dir="$W/tpm/state" \
    --server type=tcp,port=$SWTPM_PORT,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1 \
    --flags not-need-init,startup-clear --daemon --pid file="$W/swtpm.pid" || fail "swtpm did not restart"
}
V() { expect_verdict "$1" "$2" "$W/$3.json" --ak "$W/raw-a1/ak.pub" --nonce "$4" --ek "$W/ek.pub" --state "$STATE" --update-state; }

attest a1; N1=$NONCE
V "first attestation" - a1 "$N1"
json "$STATE" 'd["counter"]["value"]' >"$W/c1"
expect_verdict "the same evidence again" clock "$W/a1.json" --ak "$W/raw-a1/ak.pub" --nonce "$N1" --ek "$W/ek.pub" --state "$STATE"
reason_of clock | grep -q "is not past the last accepted" || fail "$(reason_of clock)"
reason_of counter | grep -q "not greater than the last accepted" || fail "$(reason_of counter)"
expect_verdict "freshness without the EK" qualified_signer "$W/a1.json" --ak "$W/raw-a1/ak.pub" --nonce "$N1" --state "$STATE"

# snapshot the TPM (a vTPM saved while stopped), go on attesting
restart_swtpm
cp -a "$W/tpm/state" "$W/snapshot"
attest a2; V "second attestation, after a TPM restart" - a2 "$NONCE"
attest a3; V "third attestation" - a3 "$NONCE"
[ "$(json "$STATE" 'd["counter"]["value"]')" = $(( $(cat "$W/c1") + 2 )) ] || fail "state counter is not first + 2"

# restore the snapshot: the NV counter goes back (swtpm keeps its clock
# running from host time, so only the counter can tell)
kill "$(cat "$W/swtpm.pid")"; sleep 0.3
rm -rf "$W/tpm/state"; cp -a "$W/snapshot" "$W/tpm/state"
restart_swtpm
attest a4
cp "$STATE" "$W/before"
V "attestation from the restored snapshot" counter a4 "$NONCE"
reason_of counter | grep -q "replayed or rolled-back TPM state" || fail "$(reason_of counter)"
cmp -s "$STATE" "$W/before" || fail "a refused attestation changed the state"
pass
