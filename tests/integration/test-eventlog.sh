#!/usr/bin/env bash
# A real boot's log, extended into swtpm and quoted, replays to the quoted values.
. "$(dirname "$0")/lib.sh"
LOG=$SHARED/eventlogs/go-tpm-tools/cos-101-amd-sev.bin
[ -f "$LOG" ] || skip "no shared event logs at $SHARED/eventlogs (they live beside the repository)"
start_swtpm sha256
run 0 "$TPA" eventlog extend --json "$LOG"
[ "$(json "$W/out" 'd["banks"]')" = "['sha256']" ] || fail "extend: $(cat "$W/out")"
n=$(json "$W/out" 'd["extended"]')
N=$(openssl rand -hex 32)
run 0 "$TPA" quote --nonce "$N" --pcrs all --eventlog "$LOG" --out "$W/ev.json" --raw-dir "$W/raw"
run 0 tpm2_checkquote -u "$W/raw/ak.pub" -m "$W/raw/quote.attest" -s "$W/raw/quote.sig" -q "$N" -g sha256
run 0 "$TPA" eventlog replay --json "$LOG"; cp "$W/out" "$W/replay.json"
python3 - "$W/replay.json" "$W/raw/pcrs.json" <<'PY' || fail "replay differs from the quoted PCRs"
import json, sys
rep = json.load(open(sys.argv[1]))["pcrs"]["sha256"]
q = json.load(open(sys.argv[2]))["pcrs"]["sha256"]
assert len(rep) >= 8, rep.keys()
for k, v in rep.items():
    assert q[k] == v, ("PCR" + k, q[k], v)
for k, v in q.items():
    if k not in rep and int(k) not in (17, 18, 19, 20, 21, 22):
        assert v == "0" * 64, ("PCR" + k + " moved without events")
PY
# the evidence carries the log byte for byte
json "$W/ev.json" 'd["eventlog"]' | base64 -d | cmp -s - "$LOG" || fail "evidence eventlog differs from $LOG"
# once extended, PCRs are no longer at reset: a second extend is refused untouched
run 4 "$TPA" eventlog extend "$LOG"
grep -q "PCR0 in bank sha256 is not at its reset value" "$W/err" || fail "message: $(cat "$W/err")"
# PCR0 from locality 3 cannot be reproduced: refused before anything is touched
ALEX=$SHARED/eventlogs/go-tpm-tools/glinux-alex.bin
if [ -f "$ALEX" ]; then
  run 4 "$TPA" eventlog extend "$ALEX"
  grep -q "PCR0 starts at locality 3" "$W/err" || fail "message: $(cat "$W/err")"
fi
# a TPM that is not a simulator (swtpm posing as an Infineon chip through the
# proxy) is refused before anything is touched, unless --force
kill "$(cat "$W/swtpm.pid")"; rm -rf "$W/swtpm.pid" "$W/tpm"
start_swtpm sha256
start_proxy --pose-as-hardware 1
run 4 "$TPA" eventlog extend --tcti "$PROXY_TCTI" "$LOG"
grep -q 'the TPM (manufacturer "IFX", vendor "SLB9.*") is not a simulator' "$W/err" || fail "message: $(cat "$W/err")"
run 0 "$TPA" pcrs --json --pcrs 0
[ "$(json "$W/out" 'd["pcrs"]["sha256"]["0"]')" = "$(printf '0%.0s' $(seq 64))" ] || fail "the refused extend touched PCR0"
run 0 "$TPA" eventlog extend --force --tcti "$PROXY_TCTI" "$LOG"
run 0 "$TPA" eventlog replay --json "$LOG"; cp "$W/out" "$W/replay.json"
run 0 "$TPA" pcrs --json --pcrs 0
[ "$(json "$W/out" 'd["pcrs"]["sha256"]["0"]')" = "$(json "$W/replay.json" 'd["pcrs"]["sha256"]["0"]')" ] || fail "--force did not extend"

# malformed log: exit 3, naming the offset
head -c 100 "$LOG" >"$W/trunc.bin"
run 3 "$TPA" eventlog extend "$W/trunc.bin"
grep -q "trunc.bin: malformed event log at byte offset" "$W/err" || fail "message: $(cat "$W/err")"
pass
