#!/usr/bin/env bash
# THREATS "Quote and key", made fresh on swtpm with new keys each run by
# tpm2-tools: every forgery is refused by the check that catches it.
. "$(dirname "$0")/common.sh"
start_swtpm
cd "$W" || fail "cd"
q() { tpm2_flushcontext -t >/dev/null 2>&1; "$@" >/dev/null 2>"$W/err" || fail "$*"; tpm2_flushcontext -t >/dev/null 2>&1; tpm2_flushcontext -s >/dev/null 2>&1; true; }
pcrjson() { python3 -c 'import json,sys
sel=[int(x) for x in sys.argv[1].split(",")]; raw=open(sys.argv[2],"rb").read()
json.dump({"pcrs":{"sha256":{str(p):raw[32*i:32*i+32].hex() for i,p in enumerate(sel)}}},open(sys.argv[3],"w"))' "$@"; }

q tpm2_createek -c ek.ctx -G rsa -u ek.pub
q tpm2_createak -C ek.ctx -c ak.ctx -G rsa -g sha256 -s rsassa -u ak.pub -n ak.name
q tpm2_evictcontrol -C o -c ak.ctx 0x81010066
q tpm2_readpublic -c 0x81010066 -o ak.tpm2b
q tpm2_createek -c eke.ctx -G ecc -u eke.pub
q tpm2_createak -C eke.ctx -c akecc.ctx -G ecc -g sha256 -s ecdsa -u akecc.pub -n akecc.name
q tpm2_evictcontrol -C o -c akecc.ctx 0x81010067
q tpm2_readpublic -c 0x81010067 -o akecc.tpm2b
N=$(openssl rand -hex 32); OTHER=$(openssl rand -hex 32)
q tpm2_quote -c 0x81010066 -l sha256:0,1,2,7 -q "$N" -m honest.attest -s honest.sig -g sha256
q tpm2_pcrread sha256:0,1,2,7 -o honest.raw
pcrjson 0,1,2,7 honest.raw honest.json
q tpm2_quote -c 0x81010067 -l sha256:0,1,2,7 -q "$N" -m ecc.attest -s ecc.sig -g sha256

V() { local desc=$1 want=$2 att=$3 ak=$4 n=$5 pcrs=$6; shift 6
  expect_verdict "$desc" "$want" --attest "$att.attest" --signature "$att.sig" --ak "$ak" --nonce "$n" --pcr-values "$pcrs" "$@"; }
V "honest RSA quote" - honest ak.tpm2b "$N" honest.json
V "honest ECC quote" - ecc akecc.tpm2b "$N" honest.json
V "honest RSA quote, AK's place under the RSA EK checked" - honest ak.tpm2b "$N" honest.json --ek ek.pub
V "RSA quote checked against the ECC EK" qualified_signer honest ak.tpm2b "$N" honest.json --ek eke.pub
V "replayed for another nonce" nonce honest ak.tpm2b "$OTHER" honest.json
python3 -c 'import json; d=json.load(open("honest.json")); v=d["pcrs"]["sha256"]["7"]; d["pcrs"]["sha256"]["7"]=("0" if v[0]!="0" else "1")+v[1:]; json.dump(d,open("badpcr.json","w"))'
V "a flipped PCR7 value" pcr_digest honest ak.tpm2b "$N" badpcr.json
V "an RSA quote checked with another AK" signature honest akecc.tpm2b "$N" honest.json

# magic forgery: the attacker's digest signed through TPM2_Hash + TPM2_Sign
python3 - <<'PY'
import hashlib, json
m = bytearray(open("honest.attest", "rb").read())
fake = b"".join(bytes([i]) * 32 for i in (0xAA, 0xBB, 0xCC, 0xDD))
m[-32:] = hashlib.sha256(fake).digest(); m[0:4] = bytes(4)
open("forged.attest", "wb").write(m)
json.dump({"pcrs": {"sha256": {str(p): fake[32*i:32*i+32].hex() for i, p in enumerate([0, 1, 2, 7])}}}, open("fake.json", "w"))
PY
q tpm2_hash -C e -g sha256 -o fd.bin -t ft.bin forged.attest
q tpm2_sign -c 0x81010066 -g sha256 -s rsassa -d -t ft.bin -o forged.sig fd.bin
V "forged magic signed through TPM2_Hash + TPM2_Sign" magic forged ak.tpm2b "$N" fake.json

# NV_Certify output presented as a quote
python3 -c 'import hashlib; c=bytearray(100); c[58:60]=(32).to_bytes(2,"little"); c[60:92]=hashlib.sha256(bytes(128)).digest(); open("nvc.bin","wb").write(c)'
q tpm2_nvdefine -C o -s 100 -a 'ownerread|ownerwrite|authread|authwrite' 0x01500066
q tpm2_nvwrite -C o -i nvc.bin 0x01500066
q tpm2_nvcertify -C 0x81010066 -g sha256 -s rsassa -o nvc.sig --attestation nvc.attest -q "$N" --size 100 --offset 0 -c o 0x01500066
V "NV_Certify presented as a quote" type nvc ak.tpm2b "$N" fake.json

# resettable PCRs 16 and 23 quoted, presented as PCR0 and PCR1
q tpm2_pcrreset 16
q tpm2_pcrreset 23
q tpm2_pcrextend "16:sha256=$(printf A | sha256sum | cut -c1-64)"
q tpm2_pcrextend "23:sha256=$(printf B | sha256sum | cut -c1-64)"
q tpm2_quote -c 0x81010066 -l sha256:16,23 -q "$N" -m sel.attest -s sel.sig -g sha256
q tpm2_pcrread sha256:16,23 -o sel.raw
pcrjson 0,1 sel.raw sel01.json
pcrjson 16,23 sel.raw sel1623.json
V "PCR16/23 presented as PCR0/1" pcr_selection sel ak.tpm2b "$N" sel01.json
V "PCR16/23 presented as themselves" - sel ak.tpm2b "$N" sel1623.json

# a selection that lists sha256 twice
q tpm2_quote -c 0x81010066 -l sha256:0+sha256:1 -q "$N" -m dup.attest -s dup.sig -g sha256
q tpm2_pcrread sha256:0,1 -o dup.raw
pcrjson 0,1 dup.raw dup.json
V "a selection listing sha256 twice" pcr_selection dup ak.tpm2b "$N" dup.json

# an unrestricted signing key producing a well-formed "quote"
q tpm2_createprimary -C o -G rsa -c prim.ctx
q tpm2_create -C prim.ctx -G rsa2048:rsassa-sha256 -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign' -u unr.pub -r unr.priv
q tpm2_load -C prim.ctx -u unr.pub -r unr.priv -c unr.ctx
q tpm2_evictcontrol -C o -c unr.ctx 0x81010068
q tpm2_readpublic -c 0x81010068 -o unr.tpm2b
python3 -c 'm=bytearray(open("forged.attest","rb").read()); m[0:4]=bytes.fromhex("ff544347"); open("unr.attest","wb").write(m)'
q tpm2_sign -c 0x81010068 -g sha256 -s rsassa -o unr.sig unr.attest
V "an unrestricted signing key" ak unr unr.tpm2b "$N" fake.json

# an AK with a SHA-1 scheme; an RSA-PSS signature for an RSASSA AK
q tpm2_createak -C ek.ctx -c ak1.ctx -G rsa -g sha1 -s rsassa -u ak1.pub -n ak1.name
q tpm2_evictcontrol -C o -c ak1.ctx 0x81010069
q tpm2_readpublic -c 0x81010069 -o ak1.tpm2b
q tpm2_quote -c 0x81010069 -l sha256:0,1,2,7 -q "$N" -m sha1.attest -s sha1.sig -g sha1
V "a SHA-1 signing AK" ak sha1 ak1.tpm2b "$N" honest.json
python3 -c 's=bytearray(open("honest.sig","rb").read()); assert s[0:2]==bytes.fromhex("0014"); s[0:2]=bytes.fromhex("0016"); open("pss.sig","wb").write(s)'
cp honest.attest pss.attest
V "an RSA-PSS signature for an RSASSA AK" signature pss ak.tpm2b "$N" honest.json
pass
