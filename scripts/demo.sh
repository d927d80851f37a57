#!/usr/bin/env bash
# Sets everything up and runs the main job on a software TPM: a real
# machine's boot (a GCE VM's UEFI event log) is replayed into swtpm; the
# machine is enrolled (EK certificate chain, credential activation); the
# attester quotes it; a verifier learns a policy from that known-good boot
# and verifies it against the enrollment; then the boot is tampered with and
# the verifier says no, naming what failed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
T=$PWD/build/cli/tpmattest
LOG=examples/cos-101-amd-sev.bin
W=$(mktemp -d -t tpmattest-demo.XXXXXX)
cleanup() { [ -f "$W/pid" ] && kill "$(cat "$W/pid")" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }

say "1. the event log replays to the PCR values that machine's TPM reported"
$T eventlog check "$LOG" --pcrs examples/cos-101-amd-sev.pcrs.json | tail -1

say "2. a software TPM (swtpm, with an EK certificate) on 127.0.0.1"
. scripts/swtpm.sh
swtpm_start "$W"
echo "swtpm listening on 127.0.0.1:$SWTPM_PORT"

say "3. the machine's boot, replayed into the TPM's PCRs"
$T eventlog extend "$LOG"

say "4. enrollment: bind the AK to this TPM (EK certificate chain, credential activation)"
# swtpm_setup certifies only its RSA 2048 and P-384 EKs; tpmattest's AK lives
# under the P-256 EK, so its certificate is issued here from the same CA, as a
# TPM manufacturer would, and the CA's intermediate goes into the NV chain.
$T init --no-ek >/dev/null
$T enroll request --out "$W/pre.json" >/dev/null
xy=$(python3 -c "
import json,base64,sys
p=base64.b64decode(json.load(open(sys.argv[1]))['ek']['ecc']['public'])
print('x=%s,y=%s,id=secp256r1'%(p[-66:-34].hex(),p[-32:].hex()))" "$W/pre.json")
mkdir -p "$W/ecccert" "$W/roots"
swtpm_localca --type ek --ek "$xy" --dir "$W/ecccert" --tpm-spec-family 2.0 --tpm-spec-level 0 \
  --tpm-spec-revision 164 --tpm-manufacturer id:00001014 --tpm-model swtpm --tpm-version id:20191023 \
  --tpm2 --configfile "$W/lc.conf" --optsfile /etc/swtpm-localca.options >/dev/null 2>&1
openssl x509 -in "$W/ca/cert.pem" -outform der -out "$W/int.der"
for nv in "0x01c0000a $W/ecccert/ek.cert" "0x01c00100 $W/int.der"; do
  set -- $nv
  tpm2_nvdefine "$1" -C p -s "$(stat -c %s "$2")" \
    -a "ppwrite|ppread|ownerread|authread|platformcreate|no_da|writedefine" >/dev/null
  tpm2_nvwrite "$1" -C p -i "$2" >/dev/null
done
cp "$W/ca/swtpm-localca-rootca-cert.pem" "$W/roots/"
$T enroll request --out "$W/req.json"
$T enroll challenge "$W/req.json" --ek-roots "$W/roots" --out "$W/challenge.json" --pending "$W/pending.json"
$T enroll activate "$W/challenge.json" --out "$W/response.json"
$T enroll finish "$W/pending.json" "$W/response.json" --out "$W/machine.json"

say "5. attester: tpmattest quote over the verifier's nonce"
N=$(openssl rand -hex 32)
$T quote --nonce "$N" --eventlog "$LOG" --out "$W/evidence.json" --raw-dir "$W/raw"

say "6. verifier: learn a policy from this known-good boot, then verify against the enrollment"
$T policy create "$W/evidence.json" --out "$W/policy.json"
$T verify "$W/evidence.json" --enrollment "$W/machine.json" --nonce "$N" --policy "$W/policy.json" \
  --state "$W/state.json" --update-state

say "7. an extra measurement the log does not show (PCR4 extended after boot): refused"
tpm2_pcrextend "4:sha256=$(openssl rand -hex 32)"
N2=$(openssl rand -hex 32)
$T quote --nonce "$N2" --eventlog "$LOG" --out "$W/evidence2.json"
set +e
$T verify "$W/evidence2.json" --enrollment "$W/machine.json" --nonce "$N2" --policy "$W/policy.json" \
  --state "$W/state.json" --update-state | head -3
rc=${PIPESTATUS[0]}
set -e
echo "(exit status $rc: 1 means a definite no)"

say "8. the first evidence again, as a replay: refused (its nonce is not the one issued now)"
set +e
$T verify "$W/evidence.json" --enrollment "$W/machine.json" --nonce "$N2" --policy "$W/policy.json" | head -1
set -e
