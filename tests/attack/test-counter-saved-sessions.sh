#!/usr/bin/env bash
# Issue 12, docs/rollback.md "Stockpile authorizations in saved policy
# sessions".  The attack (a find, now defended): the attacker does not
# wait for the attester's session: at the snapshot, with the counter at C
# (accepted), it starts three policy sessions of its own
# (tpm2_startauthsession, the contexts saved), asks the server for an
# authorization for each (a nonce request for b with that nonceTPM),
# shuts the TPM down orderly (Shutdown(STATE)) and copies its state.  b
# attests on (resumed, Startup(STATE)) twice: accepted L = C + 2.  The
# snapshot restored and resumed: the saved session contexts are valid
# again, and tpm2-tools replay them (PolicySigned, PolicyCommandCode,
# PolicyNV x2, VerifySignature of SHA-256(approved || machine id),
# PolicyAuthorize with policyRef = machine id, NV_Increment), the clock set
# forward (owner authorization).  When the bounds were [C, C + issued] the
# stockpile took the counter back to L and the next attestation passed.
# Defended: the bounds are exact, every stockpiled authorization is
# [C, C].  Asserted: the three are [C, C]; after the restore the first
# saved session increments the counter to C + 1; the second and the third
# are refused by PolicyNV(counter <= C) (TPM_RC_POLICY, 0x126), the counter
# stays C + 1; the next ordinary attestation of b is FAIL counter, never
# PASS.  (With one attestation after the snapshot, L = C + 1, one saved
# authorization does reach L: test-counter-saved-one-step.sh.)
for c in tpm2_startauthsession tpm2_policysigned tpm2_policycommandcode tpm2_policynv tpm2_verifysignature \
         tpm2_policyauthorize tpm2_loadexternal tpm2_nvincrement tpm2_nvread tpm2_shutdown tpm2_startup tpm2_setclock tpm2_readclock; do
  command -v $c >/dev/null || { echo "SKIP: no $c"; exit 77; }
done
TPA=$1; . "$(dirname "$0")/lib.sh"
IDX=0x01000101
tpm_new b; tls_setup
SERVE_COUNTERS= serve_start
use_tpm b
"$TPA" enroll --server "$URL" --ca "$W/tls/ca.pem" --id-file "$W/tpm-b/id" >"$W/enroll.out" 2>&1 ||
  { cat "$W/enroll.out" >&2; fail "enroll --server"; }
nvval() { printf %d "0x$(tpm2_nvread -C $IDX -s 8 $IDX 2>/dev/null | od -An -tx1 | tr -d ' \n')"; }
att() { "$TPA" attest --server "$URL" --ca "$W/tls/ca.pem" --id-file "$W/tpm-b/id" --eventlog "$LOG" --json >"$1" 2>"$1.err"; }
verdict() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("verdict"), d.get("failed_check"))' "$1"; }
# resume: swtpm started without Startup, then TPM2_Startup(STATE)
resume() {
  local d=$W/tpm-b p
  p=$(cat "$d/port")
  swtpm socket --tpm2 --tpmstate dir="$d/state" --server type=tcp,port=$p,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((p + 1)),bindaddr=127.0.0.1 --flags not-need-init \
    --daemon --pid file="$d/pid" || fail "swtpm did not start"
  tpm2_startup 2>"$W/err" || fail "TPM2_Startup(STATE): $(cat "$W/err")"
}
# the tools leave the loaded key's context in the TPM: flushed each time
tf() { tpm2_flushcontext -t >/dev/null 2>&1; }
J() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

att "$W/v1" || fail "first attestation: $(cat "$W/v1" "$W/v1.err")"
C=$(nvval)
curl -s --cacert "$W/tls/ca.pem" "$URL/v1/counter-key" >"$W/key.json" || fail "counter-key"
J "$W/key.json" 'd["public"]' | base64 -d >"$W/vk.pub"
J "$W/key.json" 'd["name"]' | xxd -r -p >"$W/vk.name"
tpm2_loadexternal -C o -u "$W/vk.pub" -c "$W/vk.ctx" >/dev/null 2>"$W/err" || fail "loadexternal: $(cat "$W/err")"
# the stockpile: three sessions and an authorization for each
for i in 1 2 3; do
  tpm2_startauthsession --policy-session -S "$W/s$i.ctx" 2>"$W/err" || fail "startauthsession: $(cat "$W/err")"
  tpm2_policysigned -S "$W/s$i.ctx" -g sha256 -c "$W/vk.ctx" -x --raw-data "$W/raw$i" >/dev/null 2>"$W/err" ||
    fail "policysigned --raw-data: $(cat "$W/err")"
  tf
  python3 - "$W/raw$i" "$W/auth$i.json" "$C" <<'PY' || fail "authorization $i"
import sys, json
from atk import *
raw = open(sys.argv[1], "rb").read()
assert raw[-4:] == b"\0\0\0\0", raw.hex()
r = req("POST", f"/v1/machines/{machine_id('b')}/nonce", {"nonce_tpm": raw[:-4].hex()})
check(r.status == 200 and r.json["counter_authorization"], f"nonce: {r}")
json.dump(r.json["counter_authorization"], open(sys.argv[2], "w"))
au = r.json["counter_authorization"]
print("  stockpiled: [%d, %d]" % (au["low"], au["high"]))
check(au["first"] is False and au["low"] == au["high"] == int(sys.argv[3]), f"not [C, C] = [{sys.argv[3]}, {sys.argv[3]}]: {au}")
PY
done
tpm2_flushcontext "$W/vk.ctx" 2>/dev/null
tpm2_shutdown 2>"$W/err" || fail "Shutdown(STATE): $(cat "$W/err")"
swtpm_down b; cp -a "$W/tpm-b/state" "$W/snapshot"; resume
for i in 2 3; do
  att "$W/v$i" || fail "attestation $i: $(cat "$W/v$i" "$W/v$i.err")"
  [ "$(verdict "$W/v$i")" = "pass None" ] || fail "attestation $i: $(head -c 500 "$W/v$i")"
done
L=$(nvval)
[ "$L" -eq $((C + 2)) ] || fail "accepted $L, not $C + 2"

# the rollback: restored, resumed; the clock forward
tpm2_shutdown 2>/dev/null; swtpm_down b; rm -rf "$W/tpm-b/state"; cp -a "$W/snapshot" "$W/tpm-b/state"; resume
[ "$(nvval)" -eq "$C" ] || fail "restored: counter $(nvval), not $C"
clk=$(tpm2_readclock | sed -n 's/^ *clock: *\([0-9]*\).*/\1/p' | head -1)
tpm2_setclock $((clk + 86400000)) 2>"$W/err" || fail "setclock: $(cat "$W/err")"
tpm2_loadexternal -C o -u "$W/vk.pub" -c "$W/vk.ctx" >/dev/null 2>"$W/err" || fail "loadexternal: $(cat "$W/err")"
CNAME=$(python3 -c 'from atk import *; print(show(machine_id("b"))["state"]["counter"]["name"])')
for i in 1 2 3; do
  python3 - "$W/auth$i.json" "$W/a$i" "$CNAME" <<'PY' || fail "decoding authorization $i"
import sys, json, base64, hashlib, struct
H = lambda b: hashlib.sha256(b).digest()
a = json.load(open(sys.argv[1])); o = sys.argv[2]; cname = bytes.fromhex(sys.argv[3])
pub = base64.b64decode(a["key"])
kname = b"\x00\x0b" + H(pub[2:])
mid = bytes.fromhex(a["machine_id"])
upd = lambda d, cc, n: H(H(d + struct.pack(">I", cc) + n))
d = upd(bytes(32), 0x160, kname)
d = H(d + struct.pack(">II", 0x16C, 0x134))
for v, op in ((a["low"], 7), (a["high"], 9)):
    d = H(d + struct.pack(">I", 0x149) + H(struct.pack(">QHH", v, 0, op)) + cname)
open(o + ".approved", "wb").write(d)
open(o + ".ref", "wb").write(mid)
open(o + ".ahash", "wb").write(H(d + mid))
open(o + ".ssig", "wb").write(base64.b64decode(a["session_signature"]))
open(o + ".psig", "wb").write(base64.b64decode(a["policy_signature"]))
open(o + ".low", "wb").write(struct.pack(">Q", a["low"]))
open(o + ".high", "wb").write(struct.pack(">Q", a["high"]))
PY
done
# replay I: PolicySigned .. PolicyNV(counter >= low); rc 0, or 1 when
# PolicyNV(counter <= high) is refused (the message in $W/err)
replay() {
  local S=$W/s$1.ctx A=$W/a$1
  tpm2_policysigned -S "$S" -g sha256 -c "$W/vk.ctx" -x -s "$A.ssig" >/dev/null 2>"$W/err" || fail "replayed PolicySigned $1: $(cat "$W/err")"; tf
  tpm2_policycommandcode -S "$S" TPM2_CC_NV_Increment >/dev/null 2>"$W/err" || fail "PolicyCommandCode $1: $(cat "$W/err")"
  tpm2_policynv -S "$S" -C $IDX -i "$A.low" $IDX uge >/dev/null 2>"$W/err" || fail "PolicyNV >= $1: $(cat "$W/err")"
  tpm2_policynv -S "$S" -C $IDX -i "$A.high" $IDX ule >/dev/null 2>"$W/err" || return 1
  tpm2_verifysignature -c "$W/vk.ctx" -d "$A.ahash" -s "$A.psig" -t "$A.tk" >/dev/null 2>"$W/err" || fail "VerifySignature $1: $(cat "$W/err")"; tf
  tpm2_policyauthorize -S "$S" -i "$A.approved" -q "$A.ref" -n "$W/vk.name" -t "$A.tk" >/dev/null 2>"$W/err" || fail "PolicyAuthorize $1: $(cat "$W/err")"
  tpm2_nvincrement -C $IDX -P "session:$S" $IDX 2>"$W/err" || fail "NV_Increment with saved session $1: $(cat "$W/err")"
}
replay 1 || fail "saved session 1, [C, C] on the restored counter C: PolicyNV refused: $(cat "$W/err")"
[ "$(nvval)" -eq $((C + 1)) ] || fail "saved session 1: counter $(nvval), not $C + 1"
echo "  saved session 1 from the snapshot: incremented, counter $(nvval)"
for i in 2 3; do
  replay $i && fail "saved session $i, [C, C] on the counter C + 1: incremented, counter $(nvval)"
  grep -q "0x126" "$W/err" || fail "saved session $i: PolicyNV(counter <= $C) refused, but not with TPM_RC_POLICY (0x126): $(cat "$W/err")"
  [ "$(nvval)" -eq $((C + 1)) ] || fail "saved session $i: counter $(nvval), not $C + 1"
  echo "  saved session $i from the snapshot: PolicyNV(counter <= $C) refused (0x126), counter $(nvval)"
done
tpm2_flushcontext "$W/vk.ctx" 2>/dev/null
echo "  counter after the stockpile: $(nvval) (restored $C, accepted $L, 1 used)"
att "$W/after"; st=$?
echo "  b after the rollback: exit $st, $(verdict "$W/after")"
[ "$st" = 1 ] && [ "$(verdict "$W/after")" = "fail counter" ] ||
  fail "rolled back, pushed forward with authorizations stockpiled in the snapshot's saved sessions: exit $st, verdict $(verdict "$W/after"): $(head -c 600 "$W/after")"
pass
