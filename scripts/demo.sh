#!/usr/bin/env bash
# Sets everything up and runs the main job on a software TPM: a real
# machine's boot (a GCE VM's UEFI event log) is replayed into swtpm; the
# attester quotes it; a verifier learns a policy from that known-good boot
# and verifies it; then the boot is tampered with and the verifier says no,
# naming what failed.
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

say "4. attester: tpmattest quote (AK and NV counter provisioned on first use)"
N=$(openssl rand -hex 32)
$T quote --nonce "$N" --eventlog "$LOG" --out "$W/evidence.json" --raw-dir "$W/raw"

say "5. verifier: learn a policy from this known-good boot, then verify it"
$T policy create "$W/evidence.json" --out "$W/policy.json"
$T verify "$W/evidence.json" --ak "$W/raw/ak.pub" --nonce "$N" --policy "$W/policy.json"

say "6. an extra measurement the log does not show (PCR4 extended after boot): refused"
tpm2_pcrextend "4:sha256=$(openssl rand -hex 32)"
N2=$(openssl rand -hex 32)
$T quote --nonce "$N2" --eventlog "$LOG" --out "$W/evidence2.json"
set +e
$T verify "$W/evidence2.json" --ak "$W/raw/ak.pub" --nonce "$N2" --policy "$W/policy.json" | head -3
rc=${PIPESTATUS[0]}
set -e
echo "(exit status $rc: 1 means a definite no)"

say "7. the first evidence again, as a replay: refused (its nonce is not the one issued now)"
set +e
$T verify "$W/evidence.json" --ak "$W/raw/ak.pub" --nonce "$N2" --policy "$W/policy.json" | head -1
set -e
