#!/usr/bin/env bash
# Provisioning is idempotent, and never replaces what it did not create.
. "$(dirname "$0")/lib.sh"
start_swtpm

run 0 "$TPA" init --json --no-ek; cp "$W/out" "$W/i1.json"
[ "$(json "$W/i1.json" 'd["ak"]["created"], d["counter"]["created"], d["ak"]["alg"], d["ak"]["handle"]')" = "(True, True, 'ecc', '0x81000100')" ] || fail "first init: $(cat "$W/i1.json")"
run 0 "$TPA" init --json --no-ek; cp "$W/out" "$W/i2.json"
[ "$(json "$W/i2.json" 'd["ak"]["created"], d["counter"]["created"]')" = "(False, False)" ] || fail "second init created something: $(cat "$W/i2.json")"
[ "$(json "$W/i1.json" 'd["ak"]["name"]')" = "$(json "$W/i2.json" 'd["ak"]["name"]')" ] || fail "the AK name changed between two inits"
# the AK is what we say it is, as tpm2-tools reads it
tpm2_readpublic -c 0x81000100 >"$W/rp" 2>&1 || fail "tpm2_readpublic of the AK"
grep -q "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign" "$W/rp" || fail "AK attributes: $(grep attributes -A1 "$W/rp")"
[ "$(awk '/^name:/{print $2}' "$W/rp")" = "$(json "$W/i1.json" 'd["ak"]["name"]')" ] || fail "AK name differs from tpm2_readpublic's"

# an ECC AK is not silently swapped for an RSA one
run 4 "$TPA" init --no-ek --ak-alg rsa
grep -q "0x81000100 holds a key that is not our AK: it is an ECC key and an RSA AK was asked for" "$W/err" || fail "message: $(cat "$W/err")"

# someone else's key at the AK handle: refused, and still there afterwards
tpm2_createprimary -C o -c "$W/p.ctx" >/dev/null 2>&1 && tpm2_evictcontrol -C o -c "$W/p.ctx" 0x81000200 >/dev/null 2>&1 || fail "setting up a foreign key"
tpm2_flushcontext -t >/dev/null 2>&1
before=$(tpm2_readpublic -c 0x81000200 2>/dev/null | awk '/^name:/{print $2}')
run 4 "$TPA" init --no-ek --ak-handle 0x81000200
grep -q "persistent handle 0x81000200 holds a key that is not our AK" "$W/err" || fail "message: $(cat "$W/err")"
after=$(tpm2_readpublic -c 0x81000200 2>/dev/null | awk '/^name:/{print $2}')
[ -n "$before" ] && [ "$before" = "$after" ] || fail "the foreign key at 0x81000200 was touched"

# an AK-shaped key under the owner hierarchy (counters obfuscated there): refused by init
q() { "$@" >/dev/null 2>&1; local r=$?; tpm2_flushcontext -t >/dev/null 2>&1; tpm2_flushcontext -s >/dev/null 2>&1; return $r; }
q tpm2_createprimary -C o -c "$W/o.ctx" &&
q tpm2_create -C "$W/o.ctx" -G ecc256:ecdsa-sha256:null -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign" -u "$W/k.pub" -r "$W/k.priv" &&
q tpm2_load -C "$W/o.ctx" -u "$W/k.pub" -r "$W/k.priv" -c "$W/k.ctx" &&
q tpm2_evictcontrol -C o -c "$W/k.ctx" 0x81000600 || fail "setting up an owner-hierarchy key"
run 4 "$TPA" init --no-ek --ak-handle 0x81000600
grep -q "0x81000600 holds a key that is not our AK: it is not a child of this TPM's default ECC or RSA EK" "$W/err" || fail "message: $(cat "$W/err")"
# an AK made by tpm2_createak under the RSA EK is accepted
q tpm2_createek -c "$W/ek.ctx" -G rsa -u "$W/ek.pub" &&
q tpm2_createak -C "$W/ek.ctx" -c "$W/ak.ctx" -G ecc -g sha256 -s ecdsa -u "$W/ak.pub" &&
q tpm2_evictcontrol -C o -c "$W/ak.ctx" 0x81000700 || fail "tpm2_createak"
run 0 "$TPA" init --no-ek --ak-handle 0x81000700

# an ordinary NV index where the counter should be: refused
tpm2_nvdefine -C o -s 8 -a "ownerread|ownerwrite|authread|authwrite" 0x01000200 >/dev/null 2>&1 || fail "tpm2_nvdefine"
run 4 "$TPA" init --no-ek --nv-index 0x01000200
grep -q "NV index 0x01000200 exists but is not our counter: it is not a counter" "$W/err" || fail "message: $(cat "$W/err")"
# and a counter with other attributes too
tpm2_nvdefine -C o -s 8 -a "nt=counter|ownerread|ownerwrite" 0x01000201 >/dev/null 2>&1 || fail "tpm2_nvdefine counter"
run 4 "$TPA" init --no-ek --nv-index 0x01000201
grep -q "not our counter: its attributes" "$W/err" || fail "message: $(cat "$W/err")"
# handles outside the owner ranges are usage errors
run 2 "$TPA" init --no-ek --nv-index 0x01C00002
run 2 "$TPA" init --no-ek --ak-handle 0x81800001

# RSA AK elsewhere, twice
run 0 "$TPA" init --json --no-ek --ak-alg rsa --ak-handle 0x81000300 --nv-index 0x01000300
[ "$(json "$W/out" 'd["ak"]["created"], d["ak"]["alg"]')" = "(True, 'rsa')" ] || fail "RSA init: $(cat "$W/out")"
run 0 "$TPA" init --json --no-ek --ak-handle 0x81000300 --nv-index 0x01000300
[ "$(json "$W/out" 'd["ak"]["created"], d["ak"]["alg"]')" = "(False, 'rsa')" ] || fail "RSA re-init: $(cat "$W/out")"

# with the EKs: swtpm_setup --create-ek-cert stored an RSA EK certificate
run 0 "$TPA" init --json
[ "$(json "$W/out" 'd["ek"]["rsa"]["certificate"] is not None, d["ek"]["rsa"]["public"] is not None, d["ek"]["ecc"]["public"] is not None')" = "(True, True, True)" ] || fail "EKs: $(head -c 400 "$W/out")"
json "$W/out" 'd["ek"]["rsa"]["certificate"]' | base64 -d >"$W/ek.der" && openssl x509 -inform DER -in "$W/ek.der" -noout >/dev/null 2>&1 || fail "the RSA EK certificate is not X.509 DER"
assert_no_leaks
pass
