#!/usr/bin/env bash
# Enrollment benchmark (not a test): the verifier's CPU for one enrollment
# (challenge + finish) on a fresh swtpm's request, three ways in the same run:
#  1. bench-enroll: in process, the trust store loaded once;
#  2. `tpmattest enroll challenge` + `tpmattest enroll finish` as processes
#     (the response is made from PENDING's secret outside the timing, so no
#     TPM work is counted);
#  3. `tpm2_makecredential -T none` as a process, the same EK and AK Name,
#     which does only the MakeCredential and none of the checks;
# and the ratios against 3.
# Usage: bench/bench-enroll.sh [BUILD_DIR] [RUNS]
set -eo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; RUNS=${2:-100}
TPA=$PWD/$B/cli/tpmattest; BE=$PWD/$B/bench/bench-enroll
[ -x "$BE" ] || { echo "build $BE first (-Dbench=true)"; exit 1; }
# lib.sh gives a swtpm with an EK certificate from a throwaway CA
. tests/integration/lib.sh "$TPA"
set +u
start_swtpm
"$TPA" init --no-ek >/dev/null
"$TPA" enroll request --out "$W/pre.json" >/dev/null
xy=$(python3 -c "
import json,base64,sys
p=base64.b64decode(json.load(open(sys.argv[1]))['ek']['ecc']['public'])
print('x=%s,y=%s,id=secp256r1'%(p[-66:-34].hex(),p[-32:].hex()))" "$W/pre.json")
mkdir "$W/cert" "$W/roots"
swtpm_localca --type ek --ek "$xy" --dir "$W/cert" --tpm-spec-family 2.0 --tpm-spec-level 0 \
  --tpm-spec-revision 164 --tpm-manufacturer id:00001014 --tpm-model swtpm --tpm-version id:20191023 \
  --tpm2 --configfile "$W/tpm/localca.conf" --optsfile /etc/swtpm-localca.options >/dev/null
openssl x509 -in "$W/tpm/ca/issuercert.pem" -outform der -out "$W/int.der"
for x in "0x01c0000a $W/cert/ek.cert" "0x01c00100 $W/int.der"; do
  set -- $x
  tpm2_nvdefine "$1" -C p -s "$(stat -c %s "$2")" -a "ppwrite|ppread|ownerread|authread|platformcreate|no_da|writedefine" >/dev/null
  tpm2_nvwrite "$1" -C p -i "$2"
done
"$TPA" enroll request --out "$W/req.json" >/dev/null
cp "$W/tpm/ca/swtpm-localca-rootca-cert.pem" "$W/roots/root.pem"
python3 - "$W" <<'PY'
import base64, hashlib, json, sys
w = sys.argv[1]; d = json.load(open(w + "/req.json"))
open(w + "/ek.pub", "wb").write(base64.b64decode(d["ek"]["ecc"]["public"]))
ak = base64.b64decode(d["ak"]["public"])
open(w + "/ak.name", "w").write((b"\x00\x0b" + hashlib.sha256(ak[2:]).digest()).hex())
open(w + "/secret", "wb").write(bytes(range(32)))
PY
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(nproc) vCPUs; ECC P-256 EK (L-2), swtpm's local CA (3 certificates)"
"$BE" "$W/req.json" "$W/roots/root.pem" 2000 | tee "$W/inproc.out"
python3 - "$W" "$TPA" "$RUNS" <<'PY'
import base64, json, os, re, statistics, subprocess, sys, time
w, tpa, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
def run(argv):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, st, ru = os.wait4(p.pid, 0)
    assert os.waitstatus_to_exitcode(st) == 0, argv
    return ru.ru_utime + ru.ru_stime
ours, theirs = [], []
for i in range(runs):
    c = run([tpa, "enroll", "challenge", w + "/req.json", "--ek-roots", w + "/roots",
             "--out", w + "/ch.json", "--pending", w + "/p.json"])
    p = json.load(open(w + "/p.json"))
    json.dump({"format": "tpmattest-enroll-response", "version": 1, "id": p["id"], "secret": p["secret"]},
              open(w + "/resp.json", "w"))
    f = run([tpa, "enroll", "finish", w + "/p.json", w + "/resp.json", "--out", w + "/m.json"])
    os.unlink(w + "/p.json.used")
    ours.append(c + f)
    theirs.append(run(["tpm2_makecredential", "-T", "none", "-u", w + "/ek.pub", "-s", w + "/secret",
                       "-n", open(w + "/ak.name").read(), "-o", w + "/cred"]))
oc, tc = statistics.median(ours) * 1e3, statistics.median(theirs) * 1e3
inproc = float(re.search(r"inproc_us=([\d.]+)", open(w + "/inproc.out").read()).group(1)) / 1e3
print("challenge+finish as processes: %.2f ms CPU (median of %d)" % (oc, runs))
print("challenge+finish in process:   %.3f ms CPU" % inproc)
print("tpm2_makecredential -T none:   %.2f ms CPU" % tc)
print("enroll: process_ms=%.2f inproc_ms=%.3f tpm2_makecredential_ms=%.2f process_ratio=%.2f inproc_ratio=%.3f"
      % (oc, inproc, tc, oc / tc, inproc / tc))
PY
