#!/usr/bin/env bash
# tpmattest verify on the attack vectors of ../shared/vectors: each is refused
# by exactly the check that should catch it; the genuine quotes and the
# trustee project's quote (AK as SubjectPublicKeyInfo) are accepted.
. "$(dirname "$0")/../e2e/lib.sh"
V=${SHARED:?}/vectors
if [ ! -d "$V" ]; then echo "SKIP: $V is absent (the shared test data sits beside the repository)"; exit 77; fi
Q=$V/swtpm-quotes

pcrjson() { # RAWFILE COUNT OUT [FIRST_PCR]
  python3 -c 'import json,sys
raw=open(sys.argv[1],"rb").read(); n=int(sys.argv[2])
json.dump({"pcrs":{"sha256":{str(i):raw[32*i:32*i+32].hex() for i in range(n)}}},open(sys.argv[3],"w"))' "$@"
}
pcrjson "$Q/honest.pcrvals" 3 "$T/honest.json"
pcrjson "$Q/fake.pcrvals" 3 "$T/fake.json"
pcrjson "$Q/claimed_pcr01.pcrvals" 2 "$T/claimed01.json"

# verdict CASE WANT_EXIT FAILING_CHECK ATTEST AK NONCEFILE PCRS
verdict() {
  local desc=$1 want=$2 check=$3 att=$4 ak=$5 nonce=$6 pcrs=$7
  expect_exit "$want" "$desc" "$TPA" verify --json --attest "$Q/$att.attest" --signature "$Q/$att.sig" \
    --ak "$ak" --nonce "$(cat "$nonce")" --pcr-values "$pcrs"
  python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); want=sys.argv[2]
bad=[c["name"] for c in d["checks"] if c["status"] in ("fail","not_run")]
if want=="-":
    assert d["verified"] and not bad, bad
else:
    assert not d["verified"] and bad[:1]==[want], bad' "$T/out" "$check" && pass || fail "$desc: want failing check '$check', got $(head -c 400 "$T/out")"
}
verdict "honest quote" 0 - honest "$Q/ak.tpm2b" "$Q/nonce.hex" "$T/honest.json"
tail -c +3 "$Q/ak.tpm2b" >"$T/ak.tpmt"   # the bare TPMT_PUBLIC, without TPM2B's size
verdict "honest quote, AK as a bare TPMT_PUBLIC" 0 - honest "$T/ak.tpmt" "$Q/nonce.hex" "$T/honest.json"
verdict "forged magic (TPM2_Hash + TPM2_Sign)" 1 magic forged_magic "$Q/ak.tpm2b" "$Q/nonce.hex" "$T/fake.json"
verdict "NV_Certify presented as a quote" 1 type nvcertify_typeconfusion "$Q/ak.tpm2b" "$Q/nonce.hex" "$T/fake.json"
verdict "PCR16/23 presented as PCR0/1" 1 pcr_selection selection_16_23 "$Q/ak.tpm2b" "$Q/nonce_sel.hex" "$T/claimed01.json"
verdict "unrestricted signing key" 1 ak unrestricted_forged "$Q/unr.tpm2b" "$Q/nonce.hex" "$T/fake.json"
# the same key as a bare PEM public key: nothing shows it is restricted, so no
if tpm2_print -t TPM2B_PUBLIC -f pem "$Q/unr.tpm2b" >"$T/unr.pem" 2>/dev/null; then
  verdict "unrestricted signing key given as a bare PEM key" 1 ak unrestricted_forged "$T/unr.pem" "$Q/nonce.hex" "$T/fake.json"
fi
verdict "quote for another nonce" 1 nonce honest "$Q/ak.tpm2b" "$Q/nonce_sel.hex" "$T/honest.json"
verdict "PCR values the quote does not cover" 1 pcr_digest honest "$Q/ak.tpm2b" "$Q/nonce.hex" "$T/fake.json"
verdict "quote checked with the EK instead of the AK" 1 ak honest "$Q/ek.tpm2b" "$Q/nonce.hex" "$T/honest.json"

# an extra PCR value the quote does not select
python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); d["pcrs"]["sha256"]["9"]="00"*32; json.dump(d,open(sys.argv[2],"w"))' "$T/honest.json" "$T/extra.json"
verdict "an extra PCR value outside the selection" 1 pcr_selection honest "$Q/ak.tpm2b" "$Q/nonce.hex" "$T/extra.json"
# the selection's bank claimed in another bank
python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); d["pcrs"]={"sha1":{k:v[:40] for k,v in d["pcrs"]["sha256"].items()}}; json.dump(d,open(sys.argv[2],"w"))' "$T/honest.json" "$T/sha1.json"
verdict "values claimed in another bank" 1 pcr_selection honest "$Q/ak.tpm2b" "$Q/nonce.hex" "$T/sha1.json"

# trustee: a simulator quote whose AK is a bare SubjectPublicKeyInfo
python3 - "$V/trustee/tpm_evidence.json" "$T" <<'PY'
import base64, json, struct, sys
d = json.load(open(sys.argv[1])); t = sys.argv[2]
m = base64.b64decode(d["tpm_quote"]["message"])
open(t + "/tr.attest", "wb").write(m)
open(t + "/tr.sig", "wb").write(base64.b64decode(d["tpm_quote"]["signature"]))
open(t + "/tr.der", "wb").write(base64.b64decode(d["ak_public"]))
pem = "-----BEGIN PUBLIC KEY-----\n" + "\n".join(d["ak_public"][i:i+64] for i in range(0, len(d["ak_public"]), 64)) + "\n-----END PUBLIC KEY-----\n"
open(t + "/tr.pem", "w").write(pem)
o = 6 + struct.unpack(">H", m[4:6])[0] if False else 6
n = struct.unpack(">H", m[6:8])[0]; o = 8 + n
e = struct.unpack(">H", m[o:o+2])[0]
open(t + "/tr.nonce", "w").write(m[o+2:o+2+e].hex())
json.dump({"pcrs": {"sha256": {str(i): v for i, v in enumerate(d["tpm_quote"]["pcrs"])}}}, open(t + "/tr.pcrs.json", "w"))
PY
for k in der pem; do
  expect_exit 0 "trustee quote, AK as $k SubjectPublicKeyInfo vetted at enrollment" "$TPA" verify --attest "$T/tr.attest" \
    --signature "$T/tr.sig" --ak "$T/tr.$k" --trust-bare-ak --nonce "$(cat "$T/tr.nonce")" --pcr-values "$T/tr.pcrs.json"
  expect_grep "$T/out" "^VERIFIED" "trustee verdict ($k)"
  expect_grep "$T/out" "skipped +ak +the AK was given as a bare public key" "trustee: AK attributes reported as not checked ($k)"
  # without the caller's word that the key is a TPM AK, a bare key proves nothing
  expect_exit 1 "trustee quote, bare $k AK not vouched for" "$TPA" verify --attest "$T/tr.attest" --signature "$T/tr.sig" \
    --ak "$T/tr.$k" --nonce "$(cat "$T/tr.nonce")" --pcr-values "$T/tr.pcrs.json"
  expect_grep "$T/out" "^NOT VERIFIED: ak: not run: the AK was given as a bare public key" "bare $k AK refused by default"
done
expect_exit 1 "trustee quote with another nonce" "$TPA" verify --attest "$T/tr.attest" --signature "$T/tr.sig" \
  --ak "$T/tr.der" --trust-bare-ak --nonce "$(cat "$Q/nonce.hex")" --pcr-values "$T/tr.pcrs.json"
expect_grep "$T/out" "^NOT VERIFIED: nonce:" "trustee, other nonce: the nonce check names itself"

# malformed inputs: exit 3, naming the input
head -c 60 "$Q/honest.attest" >"$T/short.attest"
expect_exit 3 "truncated attest" "$TPA" verify --attest "$T/short.attest" --signature "$Q/honest.sig" --ak "$Q/ak.tpm2b" \
  --nonce "$(cat "$Q/nonce.hex")" --pcr-values "$T/honest.json"
expect_grep "$T/out" "decode +the attestation does not decode as a TPMS_ATTEST" "truncated attest reason"
printf 'garbage' >"$T/garbage.ak"
expect_exit 3 "garbage AK" "$TPA" verify --attest "$Q/honest.attest" --signature "$Q/honest.sig" --ak "$T/garbage.ak" \
  --nonce "$(cat "$Q/nonce.hex")" --pcr-values "$T/honest.json"
expect_grep "$T/err" "AK .*garbage.ak: neither a TPM2B_PUBLIC, a TPMT_PUBLIC nor a SubjectPublicKeyInfo" "garbage AK reason"
expect_exit 2 "verify without --pcr-values" "$TPA" verify --attest "$Q/honest.attest" --signature "$Q/honest.sig" \
  --ak "$Q/ak.tpm2b" --nonce "$(cat "$Q/nonce.hex")"
expect_exit 2 "verify with a 65-byte nonce" "$TPA" verify --attest "$Q/honest.attest" --signature "$Q/honest.sig" \
  --ak "$Q/ak.tpm2b" --nonce "$(printf '%0130d' 0)" --pcr-values "$T/honest.json"
finish
