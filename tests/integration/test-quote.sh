#!/usr/bin/env bash
# Raw parts interoperate with tpm2-tools; PCR values are the TPM's.
. "$(dirname "$0")/lib.sh"
start_swtpm
tpm2_pcrextend 3:sha1=$(printf a | sha1sum | cut -c1-40),sha256=$(printf a | sha256sum | cut -c1-64) >/dev/null 2>&1 || fail "tpm2_pcrextend"
tpm2_pcrextend 7:sha256=$(printf b | sha256sum | cut -c1-64) >/dev/null 2>&1 || fail "tpm2_pcrextend"
N=$(openssl rand -hex 32); N2=$(openssl rand -hex 32)

run 0 "$TPA" quote --nonce "$N" --eventlog none --out "$W/ev.json" --raw-dir "$W/raw"
for f in ak.pub quote.attest quote.sig pcrs.json counter.attest counter.sig; do [ -s "$W/raw/$f" ] || fail "raw dir lacks $f"; done
run 0 tpm2_checkquote -u "$W/raw/ak.pub" -m "$W/raw/quote.attest" -s "$W/raw/quote.sig" -q "$N" -g sha256
run 1 tpm2_checkquote -u "$W/raw/ak.pub" -m "$W/raw/quote.attest" -s "$W/raw/quote.sig" -q "$N2" -g sha256
# the counter certification is signed by the same AK over the same nonce
[ "$(json "$W/ev.json" 'd["version"], d["format"], d["nonce"] == "'"$N"'", d["eventlog"]')" = "(1, 'tpmattest-evidence', True, None)" ] || fail "evidence header"
[ "$(json "$W/ev.json" 'd["ak"]["public"]')" = "$(base64 -w0 "$W/raw/ak.pub")" ] || fail "evidence ak.public differs from ak.pub"
[ "$(json "$W/ev.json" 'd["quote"]["attest"]')" = "$(base64 -w0 "$W/raw/quote.attest")" ] || fail "evidence quote.attest differs"
[ "$(json "$W/ev.json" 'd["ek_certificates"]["rsa"] is not None')" = True ] || fail "no EK certificate in the evidence"
# the library reads back exactly what quote wrote, and refuses damaged copies
run 0 "$(readlink -f "$2")" "$W/ev.json"

# PCR values: ours, the quote's and tpm2_pcrread's agree
run 0 "$TPA" pcrs --json; cp "$W/out" "$W/pcrs.json"
tpm2_pcrread sha1:all+sha256:all >"$W/pcrread.yaml" 2>&1 || fail "tpm2_pcrread"
python3 - "$W/pcrs.json" "$W/pcrread.yaml" "$W/raw/pcrs.json" <<'PY' || fail "PCR values differ"
import json, re, sys
ours = json.load(open(sys.argv[1]))["pcrs"]
theirs, bank = {}, None
for line in open(sys.argv[2]):
    m = re.match(r"^\s+(sha\w+):\s*$", line)
    if m: bank = m.group(1); theirs[bank] = {}; continue
    m = re.match(r"^\s+(\d+)\s*:\s*0x([0-9A-Fa-f]+)", line)
    if m and bank: theirs[bank][m.group(1)] = m.group(2).lower()
assert set(ours) == {"sha1", "sha256"} == set(theirs), (set(ours), set(theirs))
for b in theirs:
    assert len(theirs[b]) == 24 and ours[b] == theirs[b], b
quoted = json.load(open(sys.argv[3]))["pcrs"]
assert set(quoted) == {"sha1", "sha256"}
for b in quoted:
    assert sorted(quoted[b], key=int) == [str(i) for i in range(10)], quoted[b].keys()
    for k, v in quoted[b].items(): assert v == ours[b][k], (b, k)
assert ours["sha256"]["3"] != "0" * 64
PY

# --pcrs: exactly the PCRs asked for, in every bank
run 0 "$TPA" quote --nonce "$N" --pcrs 0,7,16-17 --eventlog none --out "$W/ev2.json" --raw-dir "$W/raw2"
[ "$(json "$W/raw2/pcrs.json" 'sorted((b, sorted(v, key=int)) for b, v in d["pcrs"].items())')" = "[('sha1', ['0', '7', '16', '17']), ('sha256', ['0', '7', '16', '17'])]" ] || fail "--pcrs selection: $(cat "$W/raw2/pcrs.json")"
run 0 tpm2_checkquote -u "$W/raw2/ak.pub" -m "$W/raw2/quote.attest" -s "$W/raw2/quote.sig" -q "$N" -g sha256

# an RSA AK works the same
run 0 "$TPA" quote --nonce "$N" --ak-alg rsa --ak-handle 0x81000300 --eventlog none --out "$W/evr.json" --raw-dir "$W/rawr"
run 0 tpm2_checkquote -u "$W/rawr/ak.pub" -m "$W/rawr/quote.attest" -s "$W/rawr/quote.sig" -q "$N" -g sha256
run 1 tpm2_checkquote -u "$W/rawr/ak.pub" -m "$W/rawr/quote.attest" -s "$W/rawr/quote.sig" -q "$N2" -g sha256

# bad input: usage errors, nothing written, no TPM state changed
c0=$(json "$W/evr.json" 'd["counter"]["value"]')
run 2 "$TPA" quote --nonce "$(openssl rand -hex 65)" --eventlog none --out "$W/no.json"
grep -q "nonce must be 1 to 64 bytes, not 65" "$W/err" || fail "message: $(cat "$W/err")"
run 2 "$TPA" quote --nonce "" --eventlog none --out "$W/no.json"
run 2 "$TPA" quote --nonce 0g --eventlog none --out "$W/no.json"
run 2 "$TPA" quote --nonce "$N" --pcrs 24 --eventlog none --out "$W/no.json"
run 2 "$TPA" quote --nonce "$N" --eventlog none
run 4 "$TPA" quote --nonce "$N" --eventlog "$W/missing.bin" --out "$W/no.json"
grep -q "missing.bin: cannot read the event log: No such file or directory" "$W/err" || fail "message: $(cat "$W/err")"
[ ! -e "$W/no.json" ] || fail "a failed quote left output"
run 0 "$TPA" quote --nonce 01 --eventlog none --out "$W/one.json"
[ "$(json "$W/one.json" 'd["counter"]["value"]')" = $((c0 + 1)) ] || fail "failed quotes moved the counter"
# a missing default log is a warning, not an error
if [ ! -e /sys/kernel/security/tpm0/binary_bios_measurements ]; then
  run 0 "$TPA" quote --nonce "$N" --out "$W/def.json"
  grep -q "warning: .*binary_bios_measurements: cannot read the event log" "$W/err" || fail "no warning: $(cat "$W/err")"
  [ "$(json "$W/def.json" 'd["eventlog"]')" = None ] || fail "eventlog should be null"
fi
assert_no_leaks
pass
