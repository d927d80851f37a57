#!/usr/bin/env bash
# The offline enrollment on swtpm (docs/enrollment.md, "The four steps"):
# request, challenge, activate, finish give a record that `verify
# --enrollment` accepts for a fresh quote; and each refusal of THREATS.md's
# enrollment rows, with its exit status and the check it names.
# $1: tpmattest.
. "$(dirname "$0")/lib.sh"
T=$TPA
for c in tpm2_nvdefine tpm2_nvwrite tpm2_nvreadpublic tpm2_createprimary tpm2_create tpm2_readpublic tpm2_flushcontext; do
  command -v "$c" >/dev/null || skip "$c is not installed"
done

# jedit IN OUT PYTHON: rewrites a JSON document; the statement sees d, b64
# (decode) and e64 (encode).
jedit() {
  python3 - "$1" "$2" "$3" <<'PY' || fail "jedit $3"
import base64, hashlib, json, sys
d = json.load(open(sys.argv[1]))
b64 = base64.b64decode
def e64(b): return base64.b64encode(b).decode()
exec(sys.argv[3])
open(sys.argv[2], "w").write(json.dumps(d))
PY
}
# the qualified name of a child AK of this EK (Part 1, 16.6), in hex
qn_under() {
  python3 - "$1" "$2" <<'PY'
import base64, hashlib, sys
ek, ak = (base64.b64decode(x) for x in sys.argv[1:3])
name = lambda p: b"\x00\x0b" + hashlib.sha256(p[2:]).digest()
q = lambda parent, n: b"\x00\x0b" + hashlib.sha256(parent + n).digest()
print(q(q(b"\x40\x00\x00\x0b", name(ek)), name(ak)).hex())
PY
}
# refused STATUS CHECK WHAT CMD...: exit STATUS, and stderr names the check
refused() {
  local st=$1 check=$2 what=$3; shift 3
  run "$st" "$@"
  grep -q "refused ($check)" "$W/err" || fail "$what: want the check '$check': $(cat "$W/err")"
}

# A P-256 EK certificate from this test's CA (lib.sh's swtpm_localca) for
# the EK public area of an enroll request (x, y at the end of TPM2B_PUBLIC),
# written into the TPM's NV at 0x01C0000A; swtpm_setup certifies only its
# RSA 2048 and ECC P-384 EKs, and tpmattest's AK lives under the P-256 one.
ca_cert_for_point() { # XY OUTDIR
  mkdir -p "$2"
  swtpm_localca --type ek --ek "$1" --dir "$2" --tpm-spec-family 2.0 --tpm-spec-level 0 \
    --tpm-spec-revision 164 --tpm-manufacturer id:00001014 --tpm-model swtpm \
    --tpm-version id:20191023 --tpm2 --configfile "$W/tpm/localca.conf" \
    --optsfile /etc/swtpm-localca.options >/dev/null 2>&1 || fail "swtpm_localca"
}
ecc_point() { python3 -c "
import json,base64,sys
p=base64.b64decode(json.load(open(sys.argv[1]))['ek']['ecc']['public'])
print('x=%s,y=%s,id=secp256r1'%(p[-66:-34].hex(),p[-32:].hex()))" "$1"; }
nv_put() { # INDEX FILE
  tpm2_nvdefine "$1" -C p -s "$(stat -c %s "$2")" \
    -a "ppwrite|ppread|ownerread|authread|platformcreate|no_da|writedefine" >/dev/null 2>"$W/err" || fail "nvdefine $1"
  tpm2_nvwrite "$1" -C p -i "$2" >/dev/null 2>"$W/err" || fail "nvwrite $1"
}
provision_tpm() { # NAME: AK, counter, the P-256 EK certificate, the CA's intermediate in the NV chain
  run 0 "$T" init --no-ek
  run 0 "$T" enroll request --out "$W/$1-pre.json"
  ca_cert_for_point "$(ecc_point "$W/$1-pre.json")" "$W/$1-ecccert"
  nv_put 0x01c0000a "$W/$1-ecccert/ek.cert"
  nv_put 0x01c00100 "$W/int.der"
}

start_swtpm
# the CA: root (self-signed) -> issuer -> EK certificates; only the root is
# a trust anchor, the issuer comes from the TPM's NV chain index
openssl x509 -in "$W/tpm/ca/issuercert.pem" -outform der -out "$W/int.der" || fail "openssl"
mkdir "$W/roots" "$W/otherroots"
cp "$W/tpm/ca/swtpm-localca-rootca-cert.pem" "$W/roots/"
cp "$HERE/../data/ekcert/roots/root.pem" "$W/otherroots/"
provision_tpm a

# ---- the four steps ----
run 0 "$T" enroll request --out "$W/req.json" --json
[ "$(json "$W/out" 'd["ek_ecc_certificate"], d["chain_certificates"]')" = "(True, 1)" ] || fail "request: $(cat "$W/out")"
[ "$(json "$W/req.json" 'len(d["ek_chain"]), sorted(d["ek"]), d["tpm"]["manufacturer"]')" = "(1, ['ecc', 'rsa'], 'IBM')" ] || fail "request document"
run 0 "$T" enroll challenge "$W/req.json" --ek-roots "$W/roots" --out "$W/ch.json" --pending "$W/p.json" --json
[ "$(json "$W/out" 'd["ok"], d["ek"], d["ek_template"], d["root"]')" = "(True, 'ecc', 'L-2', 'CN=swtpm-localca-rootca')" ] || fail "challenge: $(cat "$W/out")"
[ "$(stat -c %a "$W/p.json")" = 600 ] || fail "PENDING is mode $(stat -c %a "$W/p.json"), not 0600"
cp "$W/p.json" "$W/p.keep"
run 0 "$T" enroll activate "$W/ch.json" --out "$W/resp.json"
[ "$(stat -c %a "$W/resp.json")" = 600 ] || fail "RESPONSE is not 0600"
run 0 "$T" enroll finish "$W/p.json" "$W/resp.json" --out "$W/machine.json" --json
id=$(json "$W/machine.json" 'd["machine_id"]')
want=$(python3 -c "import json,base64,hashlib,sys; print(hashlib.sha256(base64.b64decode(json.load(open(sys.argv[1]))['ek']['ecc']['public'])).hexdigest())" "$W/req.json")
[ "$id" = "$want" ] || fail "machine id $id is not SHA-256 of the ECC EK public ($want)"
[ "$(json "$W/out" 'd["machine_id"]')" = "$id" ] || fail "finish --json"
[ "$(json "$W/machine.json" 'd["ek_certificate"]["vendor"], d["ek_certificate"]["chain_length"], d["ak"]["handle"], d["counter"]["index"]')" = "('IBM (swtpm)', 3, '0x81000100', '0x01000100')" ] || fail "record: $(cat "$W/machine.json")"
[ ! -s "$W/p.json.used" ] && [ ! -e "$W/p.json" ] || fail "PENDING was not consumed and emptied"
# PENDING is single use
refused 1 pending "PENDING reused" "$T" enroll finish "$W/p.json" "$W/resp.json" --out "$W/m2.json"

# the record in use: a fresh quote verifies, with the counter pinned
N=$(openssl rand -hex 32)
run 0 "$T" quote --nonce "$N" --out "$W/ev.json" --eventlog none
run 0 "$T" verify "$W/ev.json" --enrollment "$W/machine.json" --nonce "$N" --json
[ "$(json "$W/out" '[(c["name"], c["status"]) for c in d["checks"] if c["name"] in ("qualified_signer", "counter", "enrolled_counter")]')" = "[('qualified_signer', 'pass'), ('counter', 'pass'), ('enrolled_counter', 'pass')]" ] || fail "verify --enrollment: $(cat "$W/out")"
run 0 "$T" verify "$W/ev.json" --enrollment "$W/machine.json" --nonce "$N" --state "$W/state.json" --update-state
run 2 "$T" verify "$W/ev.json" --enrollment "$W/machine.json" --ak "$W/machine.json" --nonce "$N"
# a record whose counter is another index's Name
jedit "$W/machine.json" "$W/m-ctr.json" 'd["counter"]["name"] = "000b" + "11" * 32'
run 1 "$T" verify "$W/ev.json" --enrollment "$W/m-ctr.json" --nonce "$N"
grep -q "NOT VERIFIED: enrolled_counter" "$W/out" || fail "counter pin: $(cat "$W/out")"
# a record that does not hold together is malformed
jedit "$W/machine.json" "$W/m-id.json" 'd["machine_id"] = "00" * 32'
run 3 "$T" verify "$W/ev.json" --enrollment "$W/m-id.json" --nonce "$N"
grep -q "machine_id: not SHA-256 of ek.public" "$W/err" || fail "machine id: $(cat "$W/err")"

# ---- wrong secret: exit 1, and the expected one appears nowhere ----
run 0 "$T" enroll challenge "$W/req.json" --ek-roots "$W/roots" --out "$W/ch.json" --pending "$W/p.json"
run 0 "$T" enroll activate "$W/ch.json" --out "$W/resp.json"
secret=$(json "$W/p.json" 'd["secret"]')
sechex=$(python3 -c "import base64,sys; print(base64.b64decode(sys.argv[1]).hex())" "$secret")
jedit "$W/resp.json" "$W/resp-bad.json" 's = bytearray(b64(d["secret"])); s[0] ^= 1; d["secret"] = e64(bytes(s))'
refused 1 secret "wrong secret" "$T" enroll finish "$W/p.json" "$W/resp-bad.json" --out "$W/never.json" --json
for f in out err; do
  grep -qF -- "$secret" "$W/$f" && fail "the expected secret (base64) is in std$f"
  grep -qi -- "$sechex" "$W/$f" && fail "the expected secret (hex) is in std$f"
done
[ ! -e "$W/never.json" ] || fail "a record was written for a wrong secret"
# a response for another challenge
run 0 "$T" enroll challenge "$W/req.json" --ek-roots "$W/roots" --out "$W/ch2.json" --pending "$W/p3.json"
refused 1 challenge "response to another challenge" "$T" enroll finish "$W/p3.json" "$W/resp.json" --out "$W/never.json"
# an expired challenge
run 0 "$T" enroll challenge "$W/req.json" --ek-roots "$W/roots" --lifetime 1 --out "$W/ch4.json" --pending "$W/p4.json"
run 0 "$T" enroll activate "$W/ch4.json" --out "$W/resp4.json"
sleep 2.2
refused 1 expired "expired challenge" "$T" enroll finish "$W/p4.json" "$W/resp4.json" --out "$W/never.json"

# ---- the EK certificate ----
# from a CA that is not among the roots
refused 1 ek_certificate "unknown CA" "$T" enroll challenge "$W/req.json" --ek-roots "$W/otherroots" --out "$W/x.json" --pending "$W/xp.json"
grep -q "unknown-issuer" "$W/err" || fail "unknown CA: $(cat "$W/err")"
[ ! -e "$W/x.json" ] && [ ! -e "$W/xp.json" ] || fail "a refused challenge wrote files"
# without the NV chain the issuer is missing
jedit "$W/req.json" "$W/req-nochain.json" 'd["ek_chain"] = []'
refused 1 ek_certificate "no chain" "$T" enroll challenge "$W/req-nochain.json" --ek-roots "$W/roots" --out "$W/x.json" --pending "$W/xp.json"
# ... unless the verifier has it
mkdir "$W/inter"; cp "$W/int.der" "$W/inter/"
run 0 "$T" enroll challenge "$W/req-nochain.json" --ek-roots "$W/roots" --ek-intermediates "$W/inter" --out "$W/x.json" --pending "$W/xp.json"
# a certificate from the right CA for another key
openssl ecparam -name prime256v1 -genkey -noout -out "$W/other.key" 2>/dev/null || fail "openssl ecparam"
oxy=$(openssl ec -in "$W/other.key" -text -noout 2>/dev/null | python3 -c "
import sys,re
t=sys.stdin.read(); h=re.search(r'pub:\s*((?:[0-9a-f]{2}:?\s*)+)', t).group(1)
b=bytes.fromhex(re.sub(r'[^0-9a-f]','',h)); print('x=%s,y=%s,id=secp256r1'%(b[1:33].hex(),b[33:65].hex()))")
ca_cert_for_point "$oxy" "$W/othercert"
jedit "$W/req.json" "$W/req-otherkey.json" "d['ek']['ecc']['certificate'] = e64(open('$W/othercert/ek.cert','rb').read())"
refused 1 ek_public "certificate for another key" "$T" enroll challenge "$W/req-otherkey.json" --ek-roots "$W/roots" --out "$W/x2.json" --pending "$W/xp2.json"
# a self-signed "EK", even when it is given as a root
printf '[req]\ndistinguished_name=dn\n[dn]\n[ext]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyAgreement\n' >"$W/ss.cnf"
openssl req -x509 -new -key "$W/other.key" -subj "/CN=not an EK" -days 30 -config "$W/ss.cnf" -extensions ext \
  -outform der -out "$W/selfsigned.der" 2>/dev/null || fail "openssl req"
mkdir "$W/selfroots"; cp "$W/roots/"* "$W/selfsigned.der" "$W/selfroots/"
jedit "$W/req.json" "$W/req-self.json" "d['ek']['ecc']['certificate'] = e64(open('$W/selfsigned.der','rb').read())"
refused 1 ek_certificate "self-signed EK" "$T" enroll challenge "$W/req-self.json" --ek-roots "$W/selfroots" --out "$W/x2.json" --pending "$W/xp2.json"
grep -q "self-signed" "$W/err" || fail "self-signed: $(cat "$W/err")"
# validity enforced: the throwaway CA's chain is valid now
run 0 "$T" enroll challenge "$W/req.json" --ek-roots "$W/roots" --check-time --out "$W/x2.json" --pending "$W/xp2.json"
# an "EK" that is not one (the AK's own public area), its qualified name
# forged to match
qn=$(qn_under "$(json "$W/req.json" 'd["ak"]["public"]')" "$(json "$W/req.json" 'd["ak"]["public"]')")
jedit "$W/req.json" "$W/req-notek.json" "d['ek']['ecc']['public'] = d['ak']['public']; d['ak']['qualified_name'] = '$qn'"
refused 1 ek "an AK as the EK" "$T" enroll challenge "$W/req-notek.json" --ek-roots "$W/roots" --out "$W/x2.json" --pending "$W/xp2.json"
grep -q "are not those of an EK" "$W/err" || fail "AK as EK: $(cat "$W/err")"
# the AK's parent without a certificate
jedit "$W/req.json" "$W/req-nocert.json" 'd["ek"]["ecc"]["certificate"] = None'
refused 1 ek_certificate "no EK certificate" "$T" enroll challenge "$W/req-nocert.json" --ek-roots "$W/roots" --out "$W/x2.json" --pending "$W/xp2.json"

# ---- the AK ----
q() { "$@" >/dev/null 2>"$W/err"; local r=$?; tpm2_flushcontext -t >/dev/null 2>&1; return $r; }
q tpm2_createprimary -C o -G ecc -c "$W/prim.ctx" || fail "createprimary"
q tpm2_create -C "$W/prim.ctx" -G ecc -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign" -u "$W/unr.pub" -r "$W/unr.priv" || fail "create unrestricted"
q tpm2_create -C "$W/prim.ctx" -G ecc -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt|sign" -u "$W/dec.pub" -r "$W/dec.priv" || fail "create decrypting"
for k in unr dec; do
  jedit "$W/req.json" "$W/req-$k.json" "d['ak']['public'] = e64(open('$W/$k.pub','rb').read())"
  refused 1 ak "$k AK" "$T" enroll challenge "$W/req-$k.json" --ek-roots "$W/roots" --out "$W/x3.json" --pending "$W/xp3.json"
  grep -q "not an attestation key" "$W/err" || fail "$k AK: $(cat "$W/err")"
done

# ---- the counter ----
# an ordinary NV index (TPM_NT_ORDINARY), its public area as the TPM has it
q tpm2_nvdefine 0x01000200 -C o -s 8 -a "ownerread|ownerwrite|authread|authwrite|no_da" || fail "nvdefine ordinary"
tpm2_nvreadpublic 0x01000200 >"$W/nvpub.txt" 2>"$W/err" || fail "nvreadpublic"
python3 - "$W/nvpub.txt" "$W/req.json" "$W/req-ordinary.json" <<'PY' || fail "ordinary index public"
import base64, hashlib, json, re, struct, sys
t = open(sys.argv[1]).read()
attrs = int(re.search(r"attributes:.*?value: (0x[0-9A-Fa-f]+)", t, re.S).group(1), 16)
name = re.search(r"name: ([0-9a-f]+)", t).group(1)
body = struct.pack(">IHIHH", 0x01000200, 0x000B, attrs, 0, 8)
assert (b"\x00\x0b" + hashlib.sha256(body).digest()).hex() == name, "not the TPM's Name"
d = json.load(open(sys.argv[2]))
d["counter"] = {"index": "0x01000200", "public": base64.b64encode(struct.pack(">H", len(body)) + body).decode()}
open(sys.argv[3], "w").write(json.dumps(d))
PY
refused 1 counter "ordinary NV index" "$T" enroll challenge "$W/req-ordinary.json" --ek-roots "$W/roots" --out "$W/x4.json" --pending "$W/xp4.json"
grep -q "is not a counter (TPM_NT_COUNTER)" "$W/err" || fail "ordinary index: $(cat "$W/err")"
# the index it claims to be is not the one described
jedit "$W/req.json" "$W/req-ctridx.json" 'd["counter"]["index"] = "0x01000101"'
refused 1 counter "counter index" "$T" enroll challenge "$W/req-ctridx.json" --ek-roots "$W/roots" --out "$W/x4.json" --pending "$W/xp4.json"

# ---- truncated and bit-flipped documents: never 0 ----
run 0 "$T" enroll challenge "$W/req.json" --ek-roots "$W/roots" --out "$W/ch.json" --pending "$W/p.json"
cp "$W/p.json" "$W/p.keep"
run 0 "$T" enroll activate "$W/ch.json" --out "$W/resp.json"
# mutate DOC N OUT: N-th variant: truncations, then single flipped bits
mutate() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read()); n = int(sys.argv[2]); L = len(b)
if n < 12:
    b = b[: (L * n) // 12]
else:
    i = ((n - 12) * 7919) % L; b[i] ^= 1 << ((n - 12) % 8)
open(sys.argv[3], "wb").write(b)
PY
}
# check_status GOT WHAT ALLOWED...: GOT is one of ALLOWED
check_status() {
  local got=$1 what=$2; shift 2
  for a in "$@"; do [ "$got" = "$a" ] && return 0; done
  fail "$what: exit $got, not one of $*: $(head -c 300 "$W/err")"
}
# the binding a record holds, to compare with the genuine one
binding() { json "$1" '(d["machine_id"], d["ek"], d["ak"], d["counter"], d["ek_certificate"])'; }
genuine=$(binding "$W/machine.json")
for n in $(seq 0 43); do
  # a request: refused (1, 3), or, when the flip is in what the verifier
  # does not rely on (tool, tpm, ak.handle, the RSA EK the AK is not
  # under), no other record than the genuine one: the TPM refuses (4) or
  # the record is the same
  mutate "$W/req.json" $n "$W/m-req.json"
  "$T" enroll challenge "$W/m-req.json" --ek-roots "$W/roots" --out "$W/mx.json" --pending "$W/mp.json" >"$W/out" 2>"$W/err"
  got=$?
  if [ $n -lt 12 ]; then check_status $got "truncated request $n" 3; else check_status $got "flipped request $n" 0 1 3; fi
  if [ $got = 0 ]; then
    "$T" enroll activate "$W/mx.json" --out "$W/mr.json" >"$W/out" 2>"$W/err"
    got=$?; check_status $got "activation of flipped request $n" 0 4
    if [ $got = 0 ]; then
      run 0 "$T" enroll finish "$W/mp.json" "$W/mr.json" --out "$W/mm.json"
      [ "$(binding "$W/mm.json")" = "$genuine" ] || fail "flipped request $n enrolled another binding"
    fi
  fi
  # a challenge: refused before the TPM (3) or by it (4); a flip in its id
  # gives a response to no challenge (finish: 1)
  mutate "$W/ch.json" $n "$W/m-ch.json"
  "$T" enroll activate "$W/m-ch.json" --out "$W/mr.json" >"$W/out" 2>"$W/err"
  got=$?
  if [ $n -lt 12 ]; then check_status $got "truncated challenge $n" 3; else check_status $got "flipped challenge $n" 0 3 4; fi
  if [ $got = 4 ]; then grep -q "TPM2_ActivateCredential\|no key at AK handle\|not an owner persistent" "$W/err" || fail "flipped challenge $n: $(cat "$W/err")"; fi
  if [ $got = 0 ]; then
    cp "$W/p.keep" "$W/mp.json"
    refused 1 challenge "flipped challenge $n" "$T" enroll finish "$W/mp.json" "$W/mr.json" --out "$W/mm.json"
  fi
  # a response: malformed (3) or not the secret or challenge (1)
  mutate "$W/resp.json" $n "$W/m-resp.json"
  cp "$W/p.keep" "$W/mp.json"
  "$T" enroll finish "$W/mp.json" "$W/m-resp.json" --out "$W/mm.json" >"$W/out" 2>"$W/err"
  got=$?
  if [ $n -lt 12 ]; then check_status $got "truncated response $n" 3; else check_status $got "flipped response $n" 1 3; fi
done
assert_no_leaks

# ---- two TPMs: the AK of TPM A with the EK certificate and public of TPM B ----
start_swtpm_b() {
  local d=$W/tpmb
  mkdir -p "$d/state"
  swtpm_setup --tpm2 --tpmstate "$d/state" --pcr-banks sha256 --overwrite >"$d/setup.log" 2>&1 || fail "swtpm_setup B failed"
  PORT_B=$(free_port)
  swtpm socket --tpm2 --tpmstate dir="$d/state" \
    --server type=tcp,port=$PORT_B,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((PORT_B + 1)),bindaddr=127.0.0.1 \
    --flags not-need-init,startup-clear --daemon --pid file="$d/pid" || fail "swtpm B did not start"
  PIDS+=("$(cat "$d/pid")")
  TCTI_B="swtpm:host=127.0.0.1,port=$PORT_B"
}
on_b() { TPMATTEST_TCTI=$TCTI_B TPM2TOOLS_TCTI=$TCTI_B "$@"; }

# ---- found by the adversarial review of the protocol ----
# a TLS server certificate from the same CA for the EK's key is not an EK
# certificate (a CA that issued certificates for software keys would vouch
# for them as TPMs)
python3 - "$W/req.json" "$W/ekpub.der" <<'PY'
import json, base64, sys
p = base64.b64decode(json.load(open(sys.argv[1]))["ek"]["ecc"]["public"])
spki = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200") + b"\x04" + p[-66:-34] + p[-32:]
open(sys.argv[2], "wb").write(spki)
PY
openssl pkey -pubin -inform der -in "$W/ekpub.der" -out "$W/ekpub.pem" 2>"$W/err" || fail "ek pub"
printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:www.example.com\n' >"$W/tls.ext"
openssl req -new -subj "/CN=www.example.com" -key "$W/tpm/ca/signkey.pem" -out "$W/tls.csr" 2>"$W/err" || fail "tls csr"
openssl x509 -req -in "$W/tls.csr" -force_pubkey "$W/ekpub.pem" -CA "$W/tpm/ca/issuercert.pem" \
  -CAkey "$W/tpm/ca/signkey.pem" -set_serial 77 -days 30 -sha256 -extfile "$W/tls.ext" -outform der \
  -out "$W/tls.der" 2>"$W/err" || fail "tls cert"
jedit "$W/req.json" "$W/req-tls.json" "d['ek']['ecc']['certificate'] = e64(open('$W/tls.der', 'rb').read())"
refused 1 ek_certificate "a TLS certificate for the EK's key" "$T" enroll challenge "$W/req-tls.json" --ek-roots "$W/roots" --out "$W/ch-tls.json" --pending "$W/p-tls.json"
grep -q "not marked as an EK certificate" "$W/err" || fail "TLS certificate reason: $(cat "$W/err")"
# the ECC EK in the request's rsa slot: the record would misname it
jedit "$W/req.json" "$W/req-swap.json" "d['ek'] = {'rsa': d['ek']['ecc']}"
refused 1 ek "the ECC EK in the rsa slot" "$T" enroll challenge "$W/req-swap.json" --ek-roots "$W/roots" --out "$W/ch-swap.json" --pending "$W/p-swap.json"
grep -q "the request's rsa EK is a ECC template (L-2)" "$W/err" || fail "slot swap reason: $(cat "$W/err")"
# a PENDING given as a symlink (its target would keep the secret) is refused
mkdir -p "$W/store"
run 0 "$T" enroll challenge "$W/req.json" --ek-roots "$W/roots" --out "$W/ch-l.json" --pending "$W/store/p.json"
run 0 "$T" enroll activate "$W/ch-l.json" --out "$W/resp-l.json"
ln -s "$W/store/p.json" "$W/p-link.json"
refused 1 pending "a symlinked PENDING" "$T" enroll finish "$W/p-link.json" "$W/resp-l.json" --out "$W/m-l.json"
[ ! -e "$W/m-l.json" ] || fail "a record from a symlinked PENDING"
# an attacker's member name reaches stderr as printable text only
jedit "$W/req.json" "$W/req-esc.json" "d['\x1b[2K\rchallenge written'] = 1"
run 3 "$T" enroll challenge "$W/req-esc.json" --ek-roots "$W/roots" --out "$W/ch-esc.json" --pending "$W/p-esc.json"
! grep -q $'\x1b' "$W/err" || fail "an escape sequence from the request reached stderr"
grep -q 'unknown member "?\[2K?challenge written"' "$W/err" || fail "escaped member name: $(cat -v "$W/err")"

start_swtpm_b
on_b provision_tpm b
on_b run 0 "$T" enroll request --out "$W/req-b.json"
# B enrolls as itself
run 0 "$T" enroll challenge "$W/req-b.json" --ek-roots "$W/roots" --out "$W/ch-b.json" --pending "$W/p-b.json"
on_b run 0 "$T" enroll activate "$W/ch-b.json" --out "$W/resp-b.json"
run 0 "$T" enroll finish "$W/p-b.json" "$W/resp-b.json" --out "$W/machine-b.json"
[ "$(json "$W/machine-b.json" 'd["machine_id"]')" != "$id" ] || fail "two TPMs, one machine id"
# A's evidence against B's record: not this machine's AK
run 1 "$T" verify "$W/ev.json" --enrollment "$W/machine-b.json" --nonce "$N"
grep -q "NOT VERIFIED: signature" "$W/out" || fail "another machine's record: $(cat "$W/out")"
# A's AK, B's EKs: the AK's qualified name gives it away at once...
jedit "$W/req.json" "$W/req-ab.json" "d['ek'] = json.load(open('$W/req-b.json'))['ek']"
refused 1 ak_parent "AK of A, EK of B" "$T" enroll challenge "$W/req-ab.json" --ek-roots "$W/roots" --out "$W/ch-ab.json" --pending "$W/p-ab.json"
# ... and when it is forged to match B's EK, the challenge is issued but no
# TPM can answer it: A does not hold B's EK, B does not hold A's AK
qn=$(qn_under "$(json "$W/req-b.json" 'd["ek"]["ecc"]["public"]')" "$(json "$W/req.json" 'd["ak"]["public"]')")
jedit "$W/req-ab.json" "$W/req-ab2.json" "d['ak']['qualified_name'] = '$qn'"
run 0 "$T" enroll challenge "$W/req-ab2.json" --ek-roots "$W/roots" --out "$W/ch-ab.json" --pending "$W/p-ab.json"
run 4 "$T" enroll activate "$W/ch-ab.json" --out "$W/resp-ab.json"
grep -q "the TPM refused the credential.*0x1df" "$W/err" || fail "activation in A: $(cat "$W/err")"
on_b run 4 "$T" enroll activate "$W/ch-ab.json" --out "$W/resp-ab.json"
grep -q "the TPM refused the credential.*0x1df" "$W/err" || fail "activation in B: $(cat "$W/err")"
[ ! -e "$W/resp-ab.json" ] || fail "a response was written for a refused credential"
# and an answer made up by the attacker (B's own secret) is a wrong secret
jedit "$W/resp-b.json" "$W/resp-ab.json" "d['id'] = json.load(open('$W/ch-ab.json'))['id']"
refused 1 secret "forged answer" "$T" enroll finish "$W/p-ab.json" "$W/resp-ab.json" --out "$W/never.json"

# ---- the verifier-authorized counter, offline (docs/rollback.md) ----
run 0 "$T" counter key --out "$W/ck.pem"
[ "$(stat -c %a "$W/ck.pem")" = 600 ] || fail "the counter key is mode $(stat -c %a "$W/ck.pem")"
run 4 "$T" counter key --out "$W/ck.pem"
grep -q "never overwritten" "$W/err" || fail "counter key over an existing file: $(cat "$W/err")"
run 0 "$T" counter public "$W/ck.pem" --out "$W/ck.json"
run 0 "$T" counter key --out "$W/ck2.pem"
run 0 "$T" counter public "$W/ck2.pem" --out "$W/ck2.json"
run 0 "$T" enroll request --counter-key "$W/ck.json" --out "$W/req-auth.json"
# the verifier needs the key, the one of that policy; the older counter
# only when it allows it
refused 1 counter "no counter key" "$T" enroll challenge "$W/req-auth.json" --ek-roots "$W/roots" --out "$W/x.json" --pending "$W/xp.json"
refused 1 counter "another verifier's key" "$T" enroll challenge "$W/req-auth.json" --ek-roots "$W/roots" --counter-key "$W/ck2.json" --out "$W/x.json" --pending "$W/xp.json"
grep -q "authPolicy is not this verifier's" "$W/err" || fail "another key: $(cat "$W/err")"
refused 1 counter "the older counter" "$T" enroll challenge "$W/req.json" --ek-roots "$W/roots" --counter-key "$W/ck.json" --out "$W/x.json" --pending "$W/xp.json"
run 0 "$T" enroll challenge "$W/req.json" --ek-roots "$W/roots" --counter-key "$W/ck.json" --legacy-counters --out "$W/x.json" --pending "$W/xp.json"
run 2 "$T" enroll challenge "$W/req.json" --ek-roots "$W/roots" --legacy-counters --out "$W/x.json" --pending "$W/xp.json"
run 0 "$T" enroll challenge "$W/req-auth.json" --ek-roots "$W/roots" --counter-key "$W/ck.json" --out "$W/cha.json" --pending "$W/pa.json"
run 0 "$T" enroll activate "$W/cha.json" --out "$W/respa.json"
run 0 "$T" enroll finish "$W/pa.json" "$W/respa.json" --out "$W/ma.json"
python3 - "$W/ma.json" "$W/ck.json" <<'PY' || fail "the record's counter: $(json "$W/ma.json" 'd["counter"]')"
import hashlib, json, sys
def policy(key_name_hex, machine_id_hex):
    h = hashlib.sha256(b"\0" * 32 + bytes.fromhex("0000016A") + bytes.fromhex(key_name_hex)).digest()
    return hashlib.sha256(h + bytes.fromhex(machine_id_hex)).hexdigest()
d = json.load(open(sys.argv[1])); k = json.load(open(sys.argv[2]))
assert d["counter"]["index"] == "0x01000101", d["counter"]
assert d["counter"]["authorized_by_policy"] == policy(k["name"], d["machine_id"]), d["counter"]
PY
# xq EVIDENCE [STATE]: tpmattest quote --exchange, the verifier's side played
# by tpmattest counter authorize on STATE; prints the nonce
xq() {
  python3 - "$T" "$1" "$W/ck.pem" "$W/ma.json" "${2:-$W/st.json}" <<'PY'
import json, os, subprocess, sys
t, ev, key, rec, st = sys.argv[1:]
q = subprocess.Popen([t, "quote", "--exchange", "--out", ev, "--eventlog", "none"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
nt = json.loads(q.stdout.readline())["nonce_tpm"]
a = subprocess.run([t, "counter", "authorize", "--key", key, "--enrollment", rec, "--state", st,
                    "--nonce-tpm", nt], capture_output=True, timeout=60)
if a.returncode != 0:
    q.kill(); sys.exit("authorize: " + a.stderr.decode())
n = os.urandom(32).hex()
q.stdin.write((json.dumps({"nonce": n, "counter_authorization": json.loads(a.stdout)}) + "\n").encode())
q.stdin.close()
out = q.stdout.read().decode()
if q.wait(120) != 0:
    sys.exit("quote --exchange: exit %d" % q.returncode)
sys.stderr.write(out)
print(n)
PY
}
vst() { "$T" verify "$1" --enrollment "$W/ma.json" --nonce "$2" --state "$W/st.json" --update-state --json >"$W/out" 2>"$W/err"; }
ctr() { json "$1" 'd["counter"]["value"]'; }
N=$(xq "$W/a1.json") || fail "xq 1"
# the authorization is counted before it is given
[ "$(json "$W/st.json" 'd')" = "{'version': 1, 'counter_auths': 1}" ] || fail "state after one authorization: $(cat "$W/st.json")"
vst "$W/a1.json" "$N" || fail "the first authorized attestation: $(cat "$W/out" "$W/err")"
[ "$(json "$W/st.json" 'd.get("counter_auths", 0), d["counter"]["value"]')" = "(0, $(ctr "$W/a1.json"))" ] || fail "state after the first: $(cat "$W/st.json")"
N=$(xq "$W/a2.json") || fail "xq 2"
[ "$(ctr "$W/a2.json")" = $(($(ctr "$W/a1.json") + 1)) ] || fail "the authorized increment: $(ctr "$W/a2.json")"
vst "$W/a2.json" "$N" || fail "the second: $(cat "$W/out")"
grep -q "within the 1 increments this verifier authorized" "$W/out" || fail "the counter's reason: $(cat "$W/out")"
# nobody else increments it
tpm2_nvincrement 0x01000101 2>"$W/err" && fail "tpm2_nvincrement of the authorized counter succeeded"
tpm2_nvincrement -C o 0x01000101 2>"$W/err" && fail "tpm2_nvincrement -C o of the authorized counter succeeded"
# a lost attestation (quoted, never verified) does not lock the machine out
N3=$(xq "$W/a3.json") || fail "xq 3"
N=$(xq "$W/a4.json") || fail "xq 4"
vst "$W/a4.json" "$N" || fail "after a lost attestation: $(cat "$W/out")"
grep -q "within the 2 increments this verifier authorized" "$W/out" || fail "after a lost one: $(cat "$W/out")"
# the lost one, found later: its counter is not above the last accepted
run 1 "$T" verify "$W/a3.json" --enrollment "$W/ma.json" --nonce "$N3" --state "$W/st.json" --update-state
grep -Eq "^  FAIL +counter +NV counter .* is not greater than the last accepted" "$W/out" || fail "the lost one later: $(cat "$W/out")"
# a counter beyond last + authorizations: the state says the last accepted
# value was 3 lower (and 1 authorization outstanding: a4's, which the TPM
# refused, the counter being past a3's); the TPM refuses the bounds
# [L-3, L-3], the quote shows L, 3 above the state's with 2 authorizations:
# moved without them
jedit "$W/st.json" "$W/st.json" 'd["counter"]["value"] -= 3'
N=$(xq "$W/a5.json" 2>"$W/xq.err") || fail "xq 5"
grep -q '"incremented":false' "$W/xq.err" || fail "the TPM incremented outside the bounds: $(cat "$W/xq.err")"
vst "$W/a5.json" "$N" && fail "a counter beyond the authorizations verified"
grep -q "moved without its authorization" "$W/out" || fail "beyond: $(cat "$W/out")"
on_b assert_no_leaks
assert_no_leaks
pass
