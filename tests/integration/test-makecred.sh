#!/usr/bin/env bash
# Credential activation against real TPMs: the library's software
# MakeCredential, for an RSA (L-1) and an ECC (L-2) EK, is opened by swtpm
# through tpm2-tools and through tpmattest-tpm's ActivateCredential, and
# tpm2_makecredential's output is opened by ours; the recovered secret is the
# one made.  A credential for AK X does not open with AK Y (integrity), and
# one made to the EK of TPM A does not open in TPM B.
# $1: makecred_tool (tests/integration/makecred_tool.c).
. "$(dirname "$0")/lib.sh"
T=$TPA
for c in tpm2_createek tpm2_createak tpm2_makecredential tpm2_activatecredential cmp xxd; do
  command -v "$c" >/dev/null || skip "$c is not installed"
done

# quietly, flushing what tpm2-tools leaves loaded (there is no resource manager)
q() { "$@" >/dev/null 2>"$W/err"; local r=$?; tpm2_flushcontext -t >/dev/null 2>&1; tpm2_flushcontext -s >/dev/null 2>&1; return $r; }

# A second swtpm (TPM B) in its own state directory and port; lib.sh's
# start_swtpm knows only one, so this one's pid joins PIDS for cleanup.
start_swtpm_b() {
  local d=$W/tpmb
  mkdir -p "$d/state"
  swtpm_setup --tpm2 --tpmstate "$d/state" --pcr-banks sha256 --overwrite >"$d/setup.log" 2>&1 || fail "swtpm_setup B failed"
  PORT_B=$(free_port)
  [ -n "$PORT_B" ] || fail "no free port for TPM B"
  swtpm socket --tpm2 --tpmstate dir="$d/state" \
    --server type=tcp,port=$PORT_B,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((PORT_B + 1)),bindaddr=127.0.0.1 \
    --flags not-need-init,startup-clear --daemon --pid file="$d/pid" || fail "swtpm B did not start"
  PIDS+=("$(cat "$d/pid")")
  TCTI_B="swtpm:host=127.0.0.1,port=$PORT_B"
}
# on_b CMD...: runs CMD against TPM B
on_b() { TPMATTEST_TCTI=$TCTI_B TPM2TOOLS_TCTI=$TCTI_B "$@"; }

# EKs from the default templates, persisted where nothing else lives
# (swtpm_setup already holds 0x81010001), and AKs X and Y made by
# tpm2_createak under the RSA EK.
EK_rsa=0x81010101 EK_ecc=0x81010102 AKX=0x81000110 AKY=0x81000111
setup_tpm() {
  local p=$1
  q tpm2_createek -c $EK_rsa -G rsa -u "$W/$p-ek-rsa.pub" || fail "tpm2_createek rsa"
  q tpm2_createek -c $EK_ecc -G ecc -u "$W/$p-ek-ecc.pub" || fail "tpm2_createek ecc"
  q tpm2_createak -C $EK_rsa -c "$W/$p-akx.ctx" -G ecc -g sha256 -s ecdsa -u "$W/$p-akx.pub" -n "$W/$p-akx.name" || fail "tpm2_createak X"
  q tpm2_evictcontrol -c "$W/$p-akx.ctx" $AKX || fail "evictcontrol X"
  q tpm2_createak -C $EK_rsa -c "$W/$p-aky.ctx" -G rsa -g sha256 -s rsassa -u "$W/$p-aky.pub" -n "$W/$p-aky.name" || fail "tpm2_createak Y"
  q tpm2_evictcontrol -c "$W/$p-aky.ctx" $AKY || fail "evictcontrol Y"
}

# tools_activate ALG AK CRED OUT: tpm2_activatecredential under the EK's
# policy (PolicySecret with the endorsement hierarchy)
tools_activate() {
  local ek=EK_$1 r
  tpm2_startauthsession --policy-session -S "$W/s.ctx" >/dev/null 2>&1 || fail "startauthsession"
  tpm2_policysecret -S "$W/s.ctx" -c e >/dev/null 2>&1 || fail "policysecret"
  tpm2_activatecredential -c "$2" -C "${!ek}" -i "$3" -o "$4" -P "session:$W/s.ctx" >/dev/null 2>"$W/err"
  r=$?
  tpm2_flushcontext "$W/s.ctx" >/dev/null 2>&1
  return $r
}

# refused_by_tpm ALG AK CRED RC: our ActivateCredential fails with exit 4
# and the TPM's response code RC, and writes no secret.  The codes swtpm
# (libtpms) answers: 0x1df, TPM_RC_INTEGRITY on the credential blob
# (TPM_RC_P + TPM_RC_1): the HMAC does not hold, because the blob was made
# for another key's Name or the ECDH seed is another EK's; 0x2d5,
# TPM_RC_SIZE on the secret: a seed of the other key type; 0x101,
# TPM_RC_FAILURE: an RSA seed that does not OAEP-decrypt under this EK
# (Part 1 says TPM_RC_VALUE; libtpms reports the failure of its OpenSSL
# call, and goes on working).
refused_by_tpm() {
  local what="the TPM refused the credential: it was not made for this TPM's $(echo "$1" | tr a-z A-Z) EK and the key at $2 (TPM2_ActivateCredential: .*, $4)"
  [ "$4" = 0x101 ] && what="activating the credential (TPM2_ActivateCredential): .*(0x101)"
  run 4 "$T" activate "$1" "$2" "$3" "$W/never"
  grep -q "$what" "$W/err" || fail "activation of $3 with $2 under the $1 EK: want $4: $(cat "$W/err")"
  [ ! -e "$W/never" ] || fail "a secret was written for a refused credential"
}
# the code when the seed was made to another TPM's EK of this type
foreign_rc() { if [ "$1" = rsa ]; then echo 0x101; else echo 0x1df; fi; }

start_swtpm
setup_tpm a
head -c 32 /dev/urandom >"$W/secret"
head -c 32 /dev/urandom >"$W/other"

for alg in rsa ecc; do
  # our reader of the EK public gives tpm2_createek's bytes
  run 0 "$T" ekpub $alg "$W/our-ek-$alg.pub"
  cmp -s "$W/our-ek-$alg.pub" "$W/a-ek-$alg.pub" || fail "tpa_tpm_ek's $alg EK public differs from tpm2_createek's"

  # ours -> tpm2-tools and ours
  run 0 "$T" make "$W/a-ek-$alg.pub" "$W/a-akx.pub" "$W/secret" "$W/c-$alg.cred"
  tools_activate $alg $AKX "$W/c-$alg.cred" "$W/got-tools-$alg" || fail "tpm2_activatecredential ($alg): $(cat "$W/err")"
  cmp -s "$W/got-tools-$alg" "$W/secret" || fail "tpm2_activatecredential recovered another secret ($alg)"
  run 0 "$T" activate $alg $AKX "$W/c-$alg.cred" "$W/got-ours-$alg"
  cmp -s "$W/got-ours-$alg" "$W/secret" || fail "our ActivateCredential recovered another secret ($alg)"
  run 0 "$T" check "$W/secret" "$W/got-ours-$alg"
  run 1 "$T" check "$W/other" "$W/got-ours-$alg"
  grep -qx "makecred_tool: the secret differs" "$W/err" || fail "check message: $(cat "$W/err")"

  # tpm2_makecredential -> ours
  tpm2_makecredential -T none -u "$W/a-ek-$alg.pub" -s "$W/secret" -n "$(xxd -p -c 256 "$W/a-akx.name")" \
    -o "$W/tc-$alg.cred" >/dev/null 2>"$W/err" || fail "tpm2_makecredential ($alg): $(cat "$W/err")"
  run 0 "$T" activate $alg $AKX "$W/tc-$alg.cred" "$W/got-interop-$alg"
  cmp -s "$W/got-interop-$alg" "$W/secret" || fail "tpm2_makecredential's credential opened to another secret ($alg)"

  # made for AK X, activated with AK Y: the TPM's integrity check, for
  # tpm2-tools and for us
  tools_activate $alg $AKY "$W/c-$alg.cred" "$W/never" && fail "tpm2_activatecredential opened X's credential with Y ($alg)"
  grep -q "integrity check failed" "$W/err" || fail "tpm2_activatecredential with Y: $(cat "$W/err")"
  refused_by_tpm $alg $AKY "$W/c-$alg.cred" 0x1df
  # ... and under the other EK of the same TPM
  other=ecc; [ $alg = ecc ] && other=rsa
  refused_by_tpm $other $AKX "$W/c-$alg.cred" 0x2d5
  # a flipped bit in the HMAC, in the encrypted identity, in the seed
  n=$(stat -c %s "$W/c-$alg.cred")
  for at in 12 $((8 + 2 + 2 + 32 + 1)) $((n - 1)); do
    python3 -c "import sys; b=bytearray(open(sys.argv[1],'rb').read()); b[int(sys.argv[2])]^=1; open(sys.argv[3],'wb').write(b)" \
      "$W/c-$alg.cred" $at "$W/flip.cred"
    want=0x1df; [ $at = $((n - 1)) ] && { [ $alg = rsa ] && want=0x101 || want=0x2e7; }
    refused_by_tpm $alg $AKX "$W/flip.cred" $want
  done

  # a credential that is not one: refused before the TPM sees it
  head -c 20 "$W/c-$alg.cred" >"$W/short.cred"
  run 3 "$T" activate $alg $AKX "$W/short.cred" "$W/never"
  { cat "$W/c-$alg.cred"; printf 'x'; } >"$W/long.cred"
  run 3 "$T" activate $alg $AKX "$W/long.cred" "$W/never"
  grep -q "is not one TPM2B_ENCRYPTED_SECRET" "$W/err" || fail "trailing byte: $(cat "$W/err")"
done
# the secret made longer than the EK's name digest: refused by the library
head -c 33 /dev/urandom >"$W/long-secret"
run 2 "$T" make "$W/a-ek-rsa.pub" "$W/a-akx.pub" "$W/long-secret" "$W/never"
grep -q "a 33-byte secret: it must be 16 to 32 bytes" "$W/err" || fail "long secret: $(cat "$W/err")"
# an AK public given as the EK: not an EK
run 1 "$T" make "$W/a-akx.pub" "$W/a-akx.pub" "$W/secret" "$W/never"
grep -q "are not those of an EK" "$W/err" || fail "AK as EK: $(cat "$W/err")"
assert_no_leaks

# Two TPMs: what was made for TPM A's EK does not open in TPM B, even with
# an AK at the same handle; and what was made to B's EK for A's AK opens
# neither in A (not A's EK) nor in B (not B's AK).
start_swtpm_b
on_b setup_tpm b
for alg in rsa ecc; do
  on_b refused_by_tpm $alg $AKX "$W/c-$alg.cred" "$(foreign_rc $alg)"
  run 0 "$T" make "$W/b-ek-$alg.pub" "$W/a-akx.pub" "$W/secret" "$W/ab-$alg.cred"
  refused_by_tpm $alg $AKX "$W/ab-$alg.cred" "$(foreign_rc $alg)"
  on_b refused_by_tpm $alg $AKX "$W/ab-$alg.cred" 0x1df
  # and B's own credential opens in B: the refusals above are not B being broken
  run 0 "$T" make "$W/b-ek-$alg.pub" "$W/b-akx.pub" "$W/secret" "$W/b-$alg.cred"
  on_b run 0 "$T" activate $alg $AKX "$W/b-$alg.cred" "$W/got-b-$alg"
  cmp -s "$W/got-b-$alg" "$W/secret" || fail "TPM B recovered another secret ($alg)"
done
on_b assert_no_leaks
assert_no_leaks
pass
