#!/usr/bin/env bash
# Verification benchmark (not a test): builds evidence on a fresh swtpm from a
# real ~50 KB event log, learns a policy, then
#  1. bench-verify: full verifications per second on one core for an ECC
#     P-256 and an RSA-2048 AK, against the OpenSSL lower bound measured in
#     the same run (last line: verify: engine_us=N bound_us=M ratio=R);
#  2. a whole `tpmattest verify` process against `tpm2_checkquote` on the
#     same quote, alternating, same run.
# Usage: bench/bench-verify.sh [BUILD_DIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; RUNS=${2:-200}
TPA=$PWD/$B/cli/tpmattest; BV=$PWD/$B/bench/bench-verify
LOG=../shared/eventlogs/go-tpm-tools/ubuntu-2404-amd-sevsnp.bin
[ -f "$LOG" ] || LOG=examples/cos-101-amd-sev.bin
W=$(mktemp -d -t bench-verify.XXXXXX)
cleanup() { [ -f "$W/pid" ] && kill "$(cat "$W/pid")" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
. scripts/swtpm.sh
swtpm_start "$W"

"$TPA" eventlog extend "$LOG" >/dev/null
echo "log: $LOG ($(stat -c %s "$LOG") bytes); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for alg in ecc rsa; do
  h=0x81000100; [ $alg = rsa ] && h=0x81000101
  N=$(openssl rand -hex 32)
  "$TPA" quote --nonce "$N" --eventlog "$LOG" --ak-alg $alg --ak-handle $h --out "$W/$alg.json" --raw-dir "$W/$alg" >/dev/null
  "$TPA" policy create "$W/$alg.json" --out "$W/$alg.policy.json"
  echo "$N" >"$W/$alg.nonce"
  "$BV" "$W/$alg.json" "$W/$alg/ak.pub" "$N" "$W/$alg.policy.json" "$alg" | tee "$W/$alg.out"
done
python3 - "$W" <<'PY'
import re, sys
w = sys.argv[1]
e = b = 0.0
for alg in ("ecc", "rsa"):
    m = re.search(r"engine_us=([\d.]+) bound_us=([\d.]+)", open(f"{w}/{alg}.out").read())
    e += float(m.group(1)); b += float(m.group(2))
print("both AKs: verify: engine_us=%.1f bound_us=%.1f ratio=%.2f" % (e / 2, b / 2, e / b))
PY

echo "== whole process: tpmattest verify vs tpm2_checkquote on the same quote ($RUNS runs each, alternating)"
python3 - "$W" "$TPA" "$RUNS" <<'PY'
import os, statistics, subprocess, sys, time
w, tpa, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
def run(argv):
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, st, ru = os.wait4(p.pid, 0)
    return time.perf_counter() - t0, ru.ru_utime + ru.ru_stime, os.waitstatus_to_exitcode(st)
for alg in ("ecc", "rsa"):
    r = f"{w}/{alg}"; n = open(f"{w}/{alg}.nonce").read().strip()
    ours = [tpa, "verify", "--attest", f"{r}/quote.attest", "--signature", f"{r}/quote.sig", "--ak", f"{r}/ak.pub",
            "--nonce", n, "--pcr-values", f"{r}/pcrs.json"]
    theirs = ["tpm2_checkquote", "-u", f"{r}/ak.pub", "-m", f"{r}/quote.attest", "-s", f"{r}/quote.sig", "-q", n, "-g", "sha256"]
    a, b = [], []
    for _ in range(runs):
        a.append(run(ours)); b.append(run(theirs))
    assert all(x[2] == 0 for x in a) and all(x[2] == 0 for x in b), "a verification failed"
    aw, bw = statistics.median(x[0] for x in a) * 1e3, statistics.median(x[0] for x in b) * 1e3
    ac, bc = statistics.median(x[1] for x in a) * 1e3, statistics.median(x[1] for x in b) * 1e3
    print("%s: tpmattest verify %.2f ms wall %.2f ms CPU; tpm2_checkquote %.2f ms wall %.2f ms CPU; ratio (theirs/ours) wall %.2f CPU %.2f"
          % (alg, aw, ac, bw, bc, bw / aw, bc / ac if ac else float("nan")))
PY
