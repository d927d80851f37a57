#!/usr/bin/env bash
# End to end on swtpm: a real machine's boot (the bundled GCE log) extended
# into swtpm, quoted, and a policy learnt from it accepts; then each way of
# lying about that boot is refused, naming what failed.
. "$(dirname "$0")/common.sh"
LOG=$EXAMPLES/cos-101-amd-sev.bin
EDIT="python3 $VHERE/logedit.py"
N() { openssl rand -hex 32; }

start_swtpm
ek_public "$W/ek.pub"
run 0 "$TPA" eventlog extend "$LOG"
n=$(N)
run 0 "$TPA" quote --nonce "$n" --eventlog "$LOG" --out "$W/good.json" --raw-dir "$W/raw"
AK=$W/raw/ak.pub
run 0 "$TPA" policy create "$W/good.json" --out "$W/policy.json"
n_good=$n
json "$W/policy.json" 'd["secure_boot"]["enabled"] is True and len(d["events"]["sha256"]["4"])>0' | grep -qx True || fail "policy lacks secure boot or PCR4 rules: $(head -c 400 "$W/policy.json")"
expect_verdict "the known-good boot" - "$W/good.json" --ak "$AK" --nonce "$n" --policy "$W/policy.json" --ek "$W/ek.pub"
expect_verdict "a stale nonce" nonce "$W/good.json" --ak "$AK" --nonce "$(N)" --policy "$W/policy.json"

# policy create refuses evidence that does not verify
cp "$W/good.json" "$W/tampered.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=d["pcrs"]["sha256"]["4"]; d["pcrs"]["sha256"]["4"]=("0" if v[0]!="0" else "1")+v[1:]; json.dump(d,open(sys.argv[1],"w"))' "$W/tampered.json"
run 1 "$TPA" policy create "$W/tampered.json" --out "$W/p2.json"
grep -q "does not verify" "$W/err" || fail "policy create on tampered evidence: $(cat "$W/err")"
[ ! -e "$W/p2.json" ] || fail "policy create wrote a policy from tampered evidence"

# an extra PCR4 extend the log does not show
run 0 tpm2_pcrextend "4:sha256=$(openssl rand -hex 32)"
n=$(N)
run 0 "$TPA" quote --nonce "$n" --eventlog "$LOG" --out "$W/extra.json"
expect_verdict "an extra PCR4 extend" eventlog_replay "$W/extra.json" --ak "$AK" --nonce "$n" --policy "$W/policy.json"
reason_of eventlog_replay | grep -q "PCR 4" || fail "the replay failure does not name PCR 4: $(reason_of eventlog_replay)"

# fresh TPM: boot_with LOG: extends LOG into a new swtpm, quotes, sets Q and QN
boot_with() {
  [ -f "$W/swtpm.pid" ] && kill "$(cat "$W/swtpm.pid")" 2>/dev/null; sleep 0.2
  rm -rf "$W/tpm"; start_swtpm
  run 0 "$TPA" eventlog extend "$1"
  QN=$(N); Q=$W/q.$RANDOM.json
  run 0 "$TPA" quote --nonce "$QN" --eventlog "$1" --out "$Q" --raw-dir "$W/raw2"
  QAK=$W/raw2/ak.pub
}

# a different boot application (another shim/GRUB image in PCR4)
app=$(python3 -c 'import json,subprocess,sys
d=json.loads(subprocess.run([sys.argv[1],"eventlog","show","--json",sys.argv[2]],capture_output=True).stdout)
print(next(e["index"] for e in d["events"] if e["pcr"]==4 and e["type"]=="EV_EFI_BOOT_SERVICES_APPLICATION"))' "$TPA" "$LOG")
$EDIT "$LOG" "$W/otherapp.bin" "digest:$app:another-boot-loader" >/dev/null || fail "logedit"
boot_with "$W/otherapp.bin"
expect_verdict "a different boot application" policy_events "$Q" --ak "$QAK" --nonce "$QN" --policy "$W/policy.json"
reason_of policy_events | grep -q "event $app (PCR 4, EV_EFI_BOOT_SERVICES_APPLICATION" || fail "the refusal does not name the event: $(reason_of policy_events)"

# a fleet policy: merging what this second machine boots accepts both machines
cp "$Q" "$W/other.json"; OTHERN=$QN; OTHERAK=$QAK
run 0 "$TPA" policy create "$W/other.json" --out "$W/policy-other.json"
run 0 "$TPA" policy merge "$W/policy.json" "$W/policy-other.json" --out "$W/fleet.json"
expect_verdict "the second machine under the merged policy" - "$W/other.json" --ak "$OTHERAK" --nonce "$OTHERN" --policy "$W/fleet.json"
expect_verdict "the first machine under the merged policy" - "$W/good.json" --ak "$AK" --nonce "$n_good" --policy "$W/fleet.json"

# secure boot off, honestly logged
sb=$($EDIT "$LOG" /dev/null find:7:0x80000001:SecureBoot) || fail "logedit find"
$EDIT "$LOG" "$W/sboff.bin" "last:$sb:00" >/dev/null || fail "logedit"
boot_with "$W/sboff.bin"
expect_verdict "secure boot off" policy_secure_boot "$Q" --ak "$QAK" --nonce "$QN" --policy "$W/policy.json"
reason_of policy_secure_boot | grep -q "secure boot is off" || fail "$(reason_of policy_secure_boot)"
# policies that disagree on secure boot do not merge
cp "$Q" "$W/sboff.json"
run 0 "$TPA" policy create "$W/sboff.json" --out "$W/policy-sboff.json"
run 1 "$TPA" policy merge "$W/policy.json" "$W/policy-sboff.json" --out "$W/nope.json"
grep -q "one policy requires secure boot on, the other off" "$W/err" || fail "merge conflict message: $(cat "$W/err")"
[ ! -e "$W/nope.json" ] || fail "a refused merge wrote a policy"

# malformed policies: exit 3, naming the member
echo '{"version":2,"pcrs":{"sha256":[0]},"secure_boot":{"enabled":"yes"}}' >"$W/bad1.json"
run 3 "$TPA" verify "$W/good.json" --ak "$AK" --nonce "$n_good" --policy "$W/bad1.json"
grep -q "secure_boot.enabled: not a boolean" "$W/err" || fail "$(cat "$W/err")"
echo '{"version":2,"pcrs":{"sha256":[0]},"pcr_values":{"sha256":{"0":["abcd"]}}}' >"$W/bad2.json"
run 3 "$TPA" verify "$W/good.json" --ak "$AK" --nonce "$n_good" --policy "$W/bad2.json"
grep -q "pcr_values.sha256.0\[0\]: not 32 bytes of lowercase hex" "$W/err" || fail "$(cat "$W/err")"
echo '{"version":2,"pcrs":{}}' >"$W/bad3.json"
run 3 "$TPA" verify "$W/good.json" --ak "$AK" --nonce "$n_good" --policy "$W/bad3.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["pcrs"]={"sha1":list(range(10))}; json.dump(d,open(sys.argv[2],"w"))' "$W/policy.json" "$W/bad5.json"
run 3 "$TPA" verify "$W/good.json" --ak "$AK" --nonce "$n_good" --policy "$W/bad5.json"
grep -q 'is not in "pcrs", so the quote need not cover it' "$W/err" || fail "rules outside pcrs: $(cat "$W/err")"
echo '{"version":2,"pcrs":{"sha256":[0]},"pcr_values":{"sha256":{"0":[]}}}' >"$W/bad6.json"
run 3 "$TPA" verify "$W/good.json" --ak "$AK" --nonce "$n_good" --policy "$W/bad6.json"
grep -q "an empty list allows nothing" "$W/err" || fail "empty list: $(cat "$W/err")"
echo '{"version":2,"pcrs":{"sha256":[0]},"pcr_values":{"sha256":{"0":["'$(printf '0%.0s' $(seq 64))'"]}},"extra":1}' >"$W/bad4.json"
run 3 "$TPA" verify "$W/good.json" --ak "$AK" --nonce "$n_good" --policy "$W/bad4.json"
grep -q 'unknown member "extra"' "$W/err" || fail "$(cat "$W/err")"

# secure boot off, the event data rewritten to say on (digest kept): data that is not what was measured
$EDIT "$W/sboff.bin" "$W/sblie.bin" "rawlast:$sb:01" >/dev/null || fail "logedit"
cp "$Q" "$W/sblie.json"
python3 -c 'import base64,json,sys; d=json.load(open(sys.argv[1])); d["eventlog"]=base64.b64encode(open(sys.argv[2],"rb").read()).decode(); json.dump(d,open(sys.argv[1],"w"))' "$W/sblie.json" "$W/sblie.bin"
expect_verdict "SecureBoot data 1 with the digest of 0" policy_secure_boot "$W/sblie.json" --ak "$QAK" --nonce "$QN" --policy "$W/policy.json"
reason_of policy_secure_boot | grep -q "not what was measured" || fail "$(reason_of policy_secure_boot)"

# secure boot off, its event relabelled EV_UNUSED, a forged "on" event appended
# and extended into PCR7 by an attacker who runs after boot
forged=$($EDIT "$W/sboff.bin" "$W/relabel.bin" "type:$sb:0x2" \
  "append:7:0x80000001:$(python3 -c 'import struct
name="SecureBoot".encode("utf-16-le")
guid=bytes.fromhex("61dfe48bca93d211aa0d00e098032b8c")
print((guid+struct.pack("<QQ",10,1)+name+b"\x01").hex())')" | tail -1) || fail "logedit"
boot_with "$W/sboff.bin"
for kv in $(echo "$forged" | cut -d' ' -f3 | tr ',' ' '); do
  case $kv in sha1=*|sha256=*) run 0 tpm2_pcrextend "7:$kv";; esac
done
QN=$(N)
run 0 "$TPA" quote --nonce "$QN" --eventlog "$W/relabel.bin" --out "$W/relabel.json" --raw-dir "$W/raw3"
expect_verdict "PCR7 events relabelled EV_UNUSED with a forged one appended" eventlog_rules "$W/relabel.json" \
  --ak "$W/raw3/ak.pub" --nonce "$QN" --policy "$W/policy.json"
pass
