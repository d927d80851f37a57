#!/usr/bin/env bash
# What the UEFI event log must explain, on swtpm (issue 7, item 16): a real
# GCE VM's log (the bundled one) extended into swtpm, then PCR 10 (IMA's)
# and PCR 16 extended by software that writes no UEFI log, all 24 PCRs
# quoted.  PCRs 0-7 and those the log has events for must replay; the others
# are "not covered by the event log" and refused only by a policy rule.
. "$(dirname "$0")/common.sh"
LOG=$EXAMPLES/cos-101-amd-sev.bin
N() { openssl rand -hex 32; }
Z64=$(printf '0%.0s' $(seq 64))

# expect_reason CHECK TEXT: the reason of CHECK in $W/out is exactly TEXT
expect_reason() {
  local got
  got=$(reason_of "$1")
  [ "$got" = "$2" ] || fail "$1: reason '$got', want '$2'"
}

# new_boot LOG: a fresh swtpm with LOG extended into it
new_boot() {
  [ -f "$W/swtpm.pid" ] && kill "$(cat "$W/swtpm.pid")" 2>/dev/null
  sleep 0.2
  rm -rf "$W/tpm"
  start_swtpm
  run 0 "$TPA" eventlog extend "$1"
}

# quote_all LOG NAME: quotes all 24 PCRs into $W/NAME.json; sets QN and QAK
quote_all() {
  QN=$(N)
  run 0 "$TPA" quote --pcrs all --nonce "$QN" --eventlog "$1" --out "$W/$2.json" --raw-dir "$W/raw-$2"
  QAK=$W/raw-$2/ak.pub
  json "$W/$2.json" 'sorted(int(k) for k in d["pcrs"]["sha256"]) == list(range(24)) and sorted(int(k) for k in d["pcrs"]["sha1"]) == list(range(24))' \
    | grep -qx True || fail "the quote does not cover all 24 PCRs of sha1 and sha256"
}

new_boot "$LOG"
# the policy format's version, as this build writes it
QN=$(N)
run 0 "$TPA" quote --nonce "$QN" --eventlog "$LOG" --out "$W/good.json" --raw-dir "$W/raw-good"
run 0 "$TPA" policy create "$W/good.json" --out "$W/learnt.json"
PV=$(json "$W/learnt.json" 'd["version"]')
run 0 "$TPA" pcrs --json
before10=$(json "$W/out" 'd["pcrs"]["sha256"]["10"]')
[ "$before10" = "$Z64" ] || fail "PCR 10 before the extension is $before10, not zero"
run 0 tpm2_pcrextend "10:sha1=$(openssl rand -hex 20),sha256=$(openssl rand -hex 32)"
run 0 tpm2_pcrextend "16:sha1=$(openssl rand -hex 20),sha256=$(openssl rand -hex 32)"
run 0 "$TPA" pcrs --json
after10=$(json "$W/out" 'd["pcrs"]["sha256"]["10"]')
quote_all "$LOG" ima

# no policy: accepted, PCR 10 and 16 named as not covered
expect_verdict "PCR 10 and 16 extended without UEFI log events" - "$W/ima.json" --ak "$QAK" --nonce "$QN"
expect_reason eventlog_replay "the log replays to all 22 quoted values it covers; not covered by the event log: PCR 10, 16 (sha1, sha256)"
json "$W/out" 'd["not_covered"] == {"sha1": [10, 16], "sha256": [10, 16]}' | grep -qx True || fail "verify --json not_covered: $(head -c 400 "$W/out")"

# a policy pinning PCR 10 to its value before the extension (written by
# hand, docs/policy.md): refused there
cat >"$W/pin10.json" <<EOF
{"version":$PV,"pcrs":{"sha256":[10]},"pcr_values":{"sha256":{"10":["$before10"]}}}
EOF
expect_verdict "PCR 10 pinned to its value before the extension" policy_pcr_values "$W/ima.json" --ak "$QAK" --nonce "$QN" --policy "$W/pin10.json"
expect_reason eventlog_replay "the log replays to all 22 quoted values it covers; not covered by the event log: PCR 10, 16 (sha1, sha256)"
expect_reason policy_pcr_values "rule pcr_values: PCR 10 (sha256) is ${after10:0:16}..., not one of the 1 allowed values"
# ... and pinned to the value it has: accepted
cat >"$W/pin10now.json" <<EOF
{"version":$PV,"pcrs":{"sha256":[10]},"pcr_values":{"sha256":{"10":["$after10"]}}}
EOF
expect_verdict "PCR 10 pinned to its value after the extension" - "$W/ima.json" --ak "$QAK" --nonce "$QN" --policy "$W/pin10now.json"

# PCR 4, which the log covers, extended after the replay: refused, naming it
run 0 tpm2_pcrextend "4:sha256=$(openssl rand -hex 32)"
quote_all "$LOG" pcr4
expect_verdict "an extra PCR 4 extend" eventlog_replay "$W/pcr4.json" --ak "$QAK" --nonce "$QN"
expect_reason eventlog_replay "the log replays PCR 4 (sha256) to a value other than the quoted one"

# PCR 3: its one event in this log is the separator; extended again: refused
new_boot "$LOG"
run 0 tpm2_pcrextend "3:sha256=$(openssl rand -hex 32)"
quote_all "$LOG" pcr3
expect_verdict "an extra PCR 3 extend" eventlog_replay "$W/pcr3.json" --ak "$QAK" --nonce "$QN"
expect_reason eventlog_replay "the log replays PCR 3 (sha256) to a value other than the quoted one"

# a log without PCR 3's separator, PCR 3 then extended by no logged event:
# PCRs 0-7 are the log's to explain
python3 - "$LOG" "$W/nopcr3.bin" <<'PY' || fail "could not cut PCR 3's event from the log"
import struct, sys
b = open(sys.argv[1], "rb").read()
sz = struct.unpack_from("<I", b, 28)[0]
ev = b[32:32 + sz]
sizes = dict(struct.unpack_from("<HH", ev, 28 + 4 * i) for i in range(struct.unpack_from("<I", ev, 24)[0]))
out, off, cut = bytearray(b[:32 + sz]), 32 + sz, 0
while off < len(b) and any(b[off:]):
    pcr, typ, cnt = struct.unpack_from("<III", b, off)
    o = off + 12
    for _ in range(cnt):
        o += 2 + sizes[struct.unpack_from("<H", b, o)[0]]
    end = o + 4 + struct.unpack_from("<I", b, o)[0]
    if pcr == 3:
        cut += 1
    else:
        out += b[off:end]
    off = end
if cut != 1:
    sys.exit("want exactly one PCR 3 event, found %d" % cut)
open(sys.argv[2], "wb").write(out)
PY
new_boot "$W/nopcr3.bin"
quote_all "$W/nopcr3.bin" nopcr3
expect_verdict "PCR 3 without events, at its reset value" - "$W/nopcr3.json" --ak "$QAK" --nonce "$QN"
expect_reason eventlog_replay "the log replays to all 20 quoted values it covers"
run 0 tpm2_pcrextend "3:sha256=$(openssl rand -hex 32)"
quote_all "$W/nopcr3.bin" nopcr3x
expect_verdict "PCR 3 extended without a logged event" eventlog_replay "$W/nopcr3x.json" --ak "$QAK" --nonce "$QN"
expect_reason eventlog_replay "PCR 3 (sha256) was extended but the log has no event for it"
pass
