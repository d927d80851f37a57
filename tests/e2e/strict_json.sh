#!/usr/bin/env bash
# tpmattest verify reads evidence and PCR values strictly (docs/evidence.md,
# "Strict reading"): a genuine swtpm evidence document verifies, and each
# edit that another JSON or base64 reader could take differently is refused
# as malformed (exit 3) before any check runs.  Without swtpm or ../shared.
. "$(dirname "$0")/lib.sh"
EV=$(cd "$(dirname "$0")/../fuzz/corpus/evidence" && pwd)/quote-no-log.json
py() { python3 -c "$@"; }

py 'import base64,json,sys
d=json.load(open(sys.argv[1]))
open(sys.argv[2]+"/ak.pub","wb").write(base64.b64decode(d["ak"]["public"]))
open(sys.argv[2]+"/nonce","w").write(d["nonce"])
json.dump(d,open(sys.argv[2]+"/plain.json","w"),separators=(",",":"))' "$EV" "$T"
NONCE=$(cat "$T/nonce")

verify() { "$TPA" verify "$1" --ak "$T/ak.pub" --nonce "$NONCE"; }
expect_exit 0 "genuine evidence" verify "$T/plain.json"
expect_grep "$T/out" "^VERIFIED" "genuine evidence verdict"

# refused DESC PYTHON_EXPR: the plain document s, edited by the expression,
# must be refused with exit 3 as "not a tpmattest evidence document"
n=0
refused() {
  n=$((n+1))
  py 'import sys
s=open(sys.argv[1]).read()
t='"$2"'
assert t != s, "the edit changed nothing"
open(sys.argv[2],"w").write(t)' "$T/plain.json" "$T/bad$n.json" || { fail "$1: edit failed"; return; }
  expect_exit 3 "$1" verify "$T/bad$n.json"
  expect_grep "$T/err" "evidence .*bad$n.json: not a tpmattest evidence document" "$1: message"
}

refused 'format cut at \u0000' 's.replace("\"tpmattest-evidence\"", "\"tpmattest-evidence\\u0000v9\"", 1)'
refused 'base64 followed by \u0000junk' 's.replace("PQ==\"", "PQ==\\u0000junk\"", 1)'
refused 'a comment' 's.replace("\"version\":1,", "\"version\":1,/* v2 */", 1)'
refused 'a line comment' 's.replace("\"version\":1,", "\"version\":1,// v2\n", 1)'
refused 'a trailing comma' 's[:-1] + ",}"'
refused 'a trailing comma in a member object' 's.replace("\"},\"eventlog\":", "\",},\"eventlog\":", 1)'
refused 'a single-quoted key' 's.replace("\"format\"", "'"'"'format'"'"'", 1)'
# json-c kept the last of two members, other readers keep the first
refused 'another nonce before the genuine one' 's.replace("\"nonce\":", "\"nonce\":\"" + "00"*32 + "\",\"nonce\":", 1)'
refused 'another nonce after the genuine one' 's.replace(",\"ak\":", ",\"nonce\":\"" + "00"*32 + "\",\"ak\":", 1)'
refused 'the same name escaped' 's.replace(",\"ak\":", ",\"n\\u006fnce\":\"" + "00"*32 + "\",\"ak\":", 1)'
# the same bytes under another base64 spelling: the signature still holds
refused 'base64 with unused bits set' 's.replace("PQ==\"", "PR==\"", 1)'
refused 'base64 without padding' 's.replace("PQ==\"", "PQ\"", 1)'
refused 'base64 with a line break' 's.replace("\"/1RDR4AY", "\"/1RDR4AY\\n", 1)'
refused 'base64url alphabet' 's.replace("\"/1RDR4AY", "\"_1RDR4AY", 1)'
refused 'uppercase hex nonce' 's.replace("\"nonce\":\"d94b", "\"nonce\":\"D94B", 1)'
refused 'uppercase hex PCR value' 's.replace("\"0\":\"0000", "\"0\":\"0X00", 1)'
refused 'a misspelt member' 's.replace("\"ek_certificates\"", "\"ek_certificate\"", 1)'
refused 'an integer json-c would clamp' 's.replace("\"value\":1,", "\"value\":18446744073709551616,", 1)'

# PCR values given as a file go through the same reader
py 'import base64,json,sys
d=json.load(open(sys.argv[1])); t=sys.argv[2]
open(t+"/q.attest","wb").write(base64.b64decode(d["quote"]["attest"]))
open(t+"/q.sig","wb").write(base64.b64decode(d["quote"]["signature"]))
json.dump({"pcrs":d["pcrs"]},open(t+"/pcrs.json","w"),separators=(",",":"))' "$EV" "$T"
verify_pcrs() { "$TPA" verify --attest "$T/q.attest" --signature "$T/q.sig" --ak "$T/ak.pub" --nonce "$NONCE" --pcr-values "$1"; }
expect_exit 0 "quote with its PCR values file" verify_pcrs "$T/pcrs.json"
sed 's/^{"pcrs":{"sha1":{"0":"\(0*\)"/{"pcrs":{"sha1":{"0":"\1","0":"\1"/' "$T/pcrs.json" >"$T/pcrs-dup.json"
cmp -s "$T/pcrs.json" "$T/pcrs-dup.json" && fail "duplicate PCR edit changed nothing"
expect_exit 3 "PCR values file with a PCR given twice" verify_pcrs "$T/pcrs-dup.json"
sed 's/^{"pcrs":{"sha1":/{"pcrs":{"SHA-1":{},"sha1":/' "$T/pcrs.json" >"$T/pcrs-bank2.json"
expect_exit 3 "PCR values file with a bank given twice" verify_pcrs "$T/pcrs-bank2.json"
sed 's/}}$/},}}/' "$T/pcrs.json" >"$T/pcrs-comma.json"
expect_exit 3 "PCR values file with a trailing comma" verify_pcrs "$T/pcrs-comma.json"
finish
