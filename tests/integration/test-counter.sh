#!/usr/bin/env bash
# The NV counter grows by exactly one per quote, and the evidence says so.
. "$(dirname "$0")/lib.sh"
start_swtpm
prev=
for i in 1 2 3 4 5; do
  run 0 "$TPA" quote --nonce "$(openssl rand -hex 32)" --eventlog none --out "$W/ev$i.json" --raw-dir "$W/raw$i"
  v=$(json "$W/ev$i.json" 'd["counter"]["value"]')
  [ -z "$prev" ] || [ "$v" = $((prev + 1)) ] || fail "quote $i: counter $v after $prev"
  prev=$v
  # the certified value is the one in the signed TPMS_NV_CERTIFY_INFO (its last 8 bytes)
  [ "$(tail -c 8 "$W/raw$i/counter.attest" | od -An -tx1 | tr -d ' \n')" = "$(printf %016x "$v")" ] || fail "counter.attest does not carry $v"
done
# tpm2-tools reads the same value
tpm2_nvread -C 0x01000100 -s 8 0x01000100 2>/dev/null | od -An -tx1 | tr -d ' \n' >"$W/nv" || fail "tpm2_nvread"
[ "$(cat "$W/nv")" = "$(printf %016x "$prev")" ] || fail "tpm2_nvread says $(cat "$W/nv"), evidence $prev"
# the counter index is a TPM_NT_COUNTER with the documented attributes
tpm2_nvreadpublic 0x01000100 >"$W/pub" 2>&1 || fail "tpm2_nvreadpublic"
grep -q "nt=0x1" "$W/pub" || grep -q "nt=counter" "$W/pub" || fail "not a counter: $(cat "$W/pub")"
pass
