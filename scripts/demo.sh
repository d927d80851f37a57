#!/usr/bin/env bash
# Sets everything up and runs the main job: replays a real machine's UEFI
# event log and checks it against the PCR values its TPM reported.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
T=build/cli/tpmattest
LOG=examples/cos-101-amd-sev.bin
echo "== $T eventlog show $LOG (first events)"
out=$($T eventlog show "$LOG")
sed -n 1,16p <<<"$out"
echo "... ($(grep -c '^#' <<<"$out") events)"
echo "== $T eventlog check $LOG --pcrs examples/cos-101-amd-sev.pcrs.json"
$T eventlog check "$LOG" --pcrs examples/cos-101-amd-sev.pcrs.json
