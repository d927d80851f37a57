#!/usr/bin/env bash
# bench-quote.sh PATH/TO/tpmattest [N]
#
# One `tpmattest quote` against the same work done by the tpm2-tools chain
# (tpm2_nvincrement, tpm2_pcrread, tpm2_quote, tpm2_nvcertify) on one swtpm,
# alternating, in the same run, N iterations each (default 30).  Reports the
# median wall time of each and their ratio, and how many TPM commands each
# sends (counted by tests/integration/tpmproxy.py, which parses the command
# stream between the TCTI and swtpm).  Same AK, same counter, same PCR
# selection (PCRs 0-9 in every allocated bank), same nonce size.  Not a test:
# it prints numbers and asserts nothing.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${2:-30}
. "$ROOT/tests/integration/lib.sh" "$1"
start_swtpm sha1,sha256
"$TPA" init --no-ek >/dev/null || fail "tpmattest init"
AK=0x81000100 NV=0x01000100 SEL=sha1:0,1,2,3,4,5,6,7,8,9+sha256:0,1,2,3,4,5,6,7,8,9

ours() {
  "$TPA" quote --nonce "$1" --eventlog none --out "$W/ev.json" >/dev/null
}
chain() {
  tpm2_nvincrement -C "$NV" "$NV" >/dev/null &&
  tpm2_pcrread "$SEL" -o "$W/pcrs.bin" >/dev/null &&
  tpm2_quote -c "$AK" -l "$SEL" -q "$1" -m "$W/q.attest" -s "$W/q.sig" -g sha256 >/dev/null &&
  tpm2_nvcertify -C "$AK" -g sha256 -o "$W/c.sig" --attestation "$W/c.attest" -q "$1" \
    --size 8 --offset 0 -c "$NV" "$NV" >/dev/null
}
now() { date +%s%N; }

: >"$W/t_ours"; : >"$W/t_chain"
ours "$(openssl rand -hex 32)" && chain "$(openssl rand -hex 32)" || fail "warm-up run failed"
for i in $(seq "$N"); do
  nonce=$(openssl rand -hex 32)
  t0=$(now); ours "$nonce" || fail "tpmattest quote failed"; t1=$(now)
  chain "$nonce" || fail "tpm2-tools chain failed"; t2=$(now)
  echo $((t1 - t0)) >>"$W/t_ours"; echo $((t2 - t1)) >>"$W/t_chain"
done

# TPM commands each sends, through the counting proxy
start_proxy --count-file "$W/count"
export TPMATTEST_TCTI=$PROXY_TCTI TPM2TOOLS_TCTI=$PROXY_TCTI
count() { local a b; a=$(cat "$W/count" 2>/dev/null || echo 0); "$@" || fail "counted run failed"; b=$(cat "$W/count"); echo $((b - a)); }
c_ours=$(count ours "$(openssl rand -hex 32)")
c_chain=$(count chain "$(openssl rand -hex 32)")

python3 - "$W/t_ours" "$W/t_chain" "$c_ours" "$c_chain" "$N" <<'PY'
import statistics, sys
o = [int(x) / 1e6 for x in open(sys.argv[1])]
c = [int(x) / 1e6 for x in open(sys.argv[2])]
mo, mc = statistics.median(o), statistics.median(c)
print(f"iterations: {sys.argv[5]} each, alternating, one swtpm (sha1+sha256 banks, PCRs 0-9)")
print(f"tpmattest quote        median {mo:8.2f} ms  (min {min(o):.2f}, max {max(o):.2f})  TPM commands {sys.argv[3]}")
print(f"tpm2-tools chain (4)   median {mc:8.2f} ms  (min {min(c):.2f}, max {max(c):.2f})  TPM commands {sys.argv[4]}")
print(f"ratio chain/tpmattest  {mc / mo:.1f}x wall time")
PY
