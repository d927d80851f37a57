#!/usr/bin/env bash
# bench-counter-auth.sh PATH/TO/tpmattest [N]
#
# What the verifier-authorized counter (docs/rollback.md) costs the
# attester: `tpmattest quote` with the older counter (one NV_Increment with
# its empty auth) against `tpmattest quote --exchange` with the counter only
# the verifier's authorizations increment (policy session, LoadExternal,
# PolicySigned, PolicyCommandCode, PolicyNV x2, VerifySignature,
# PolicyAuthorize, then the increment), on one swtpm, alternating, N rounds
# each (default 20).  The verifier's side of each exchange (`tpmattest
# counter authorize`: one state file write, two ECDSA signatures) is timed
# apart and left out of the quote's time.  Reports medians, the ratio and
# the TPM commands each sends (tests/integration/tpmproxy.py).  Not a test.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${2:-20}
. "$ROOT/tests/integration/lib.sh" "$1"
start_swtpm sha1,sha256
"$TPA" init --no-ek >/dev/null || fail "tpmattest init"
"$TPA" counter key --out "$W/ck.pem" && "$TPA" counter public "$W/ck.pem" --out "$W/ck.json" || fail "counter key"
"$TPA" init --no-ek --counter-key "$W/ck.json" >/dev/null || fail "init --counter-key"
# an enrollment record is what authorize reads the counter's Name and policy
# from; the pieces of one, for this TPM, without an EK certificate
"$TPA" enroll request --counter-key "$W/ck.json" --out "$W/req.json" >/dev/null || fail "enroll request"
python3 - "$W/req.json" "$W/rec.json" "$W/ck.json" <<'PY' || fail "record"
import base64, hashlib, json, sys
r = json.load(open(sys.argv[1])); k = json.load(open(sys.argv[3]))
nv = bytearray(base64.b64decode(r["counter"]["public"]))
# TPMS_NV_PUBLIC after the 2-byte size: index(4) nameAlg(2) attributes(4)
a = int.from_bytes(nv[8:12], "big") | 0x20000000  # TPMA_NV_WRITTEN
nv[8:12] = a.to_bytes(4, "big")
name = "000b" + hashlib.sha256(bytes(nv[2:])).hexdigest()
ek = base64.b64decode(r["ek"]["ecc"]["public"])
ak = base64.b64decode(r["ak"]["public"])
rec = {"format": "tpmattest-enrollment", "version": 1,
       "machine_id": hashlib.sha256(ek).hexdigest(), "enrolled_at": 0,
       "ek": {"alg": "ecc", "template": "L-2", "public": r["ek"]["ecc"]["public"]},
       "ek_certificate": {"manufacturer": "bench", "vendor": "bench", "model": "", "version": "",
                          "issuer": "", "root": "", "serial": "", "chain_length": 1},
       "ak": {"handle": r["ak"]["handle"], "public": r["ak"]["public"],
              "name": "000b" + hashlib.sha256(ak[2:]).hexdigest()},
       "counter": {"index": r["counter"]["index"], "name": name,
                   "authorized_by_policy": hashlib.sha256(hashlib.sha256(
                       b"\0" * 32 + bytes.fromhex("0000016A") + bytes.fromhex(k["name"])).digest()
                       + hashlib.sha256(ek).digest()).hexdigest()}}
json.dump(rec, open(sys.argv[2], "w"))
PY
ours_old() { "$TPA" quote --nonce "$(openssl rand -hex 32)" --eventlog none --out "$W/ev.json" >/dev/null; }
# prints: quote-ms authorize-ms
ours_auth() {
  python3 - "$TPA" "$W/ev2.json" "$W/ck.pem" "$W/rec.json" "$W/st.json" <<'PY'
import json, os, subprocess, sys, time
t, ev, key, rec, st = sys.argv[1:]
t0 = time.monotonic()
q = subprocess.Popen([t, "quote", "--exchange", "--out", ev, "--eventlog", "none"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
nt = json.loads(q.stdout.readline())["nonce_tpm"]
a0 = time.monotonic()
a = subprocess.run([t, "counter", "authorize", "--key", key, "--enrollment", rec, "--state", st,
                    "--nonce-tpm", nt], capture_output=True, timeout=60)
if a.returncode != 0:
    q.kill(); sys.exit("counter authorize: " + a.stderr.decode())
a1 = time.monotonic()
q.stdin.write((json.dumps({"nonce": os.urandom(32).hex(), "counter_authorization": json.loads(a.stdout)}) + "\n").encode())
q.stdin.close()
out = q.stdout.read()
if q.wait(60) != 0 or b'"incremented":true' not in out:
    sys.exit("quote --exchange: %d %s" % (q.returncode, out))
t1 = time.monotonic()
# what a verifier accepting it would remember (the counter it certified),
# so that the next authorization is for that value
v = json.loads(out.decode().strip().splitlines()[-1])["counter"]
json.dump({"version": 1, "clock": {"clock": 0, "reset_count": 0, "restart_count": 0, "safe": True},
           "counter": {"value": v, "name": json.load(open(rec))["counter"]["name"]}}, open(st, "w"))
print("%.3f %.3f" % ((t1 - t0 - (a1 - a0)) * 1e3, (a1 - a0) * 1e3))
PY
}
now() { date +%s%N; }
: >"$W/t_old"; : >"$W/t_auth"
ours_old && ours_auth >/dev/null || fail "warm-up run failed"
for i in $(seq "$N"); do
  t0=$(now); ours_old || fail "quote failed"; t1=$(now)
  echo $(((t1 - t0) / 1000)) >>"$W/t_old"
  ours_auth >>"$W/t_auth" || fail "quote --exchange failed"
done
start_proxy --count-file "$W/count"
export TPMATTEST_TCTI=$PROXY_TCTI TPM2TOOLS_TCTI=$PROXY_TCTI
count() { local a b; a=$(cat "$W/count" 2>/dev/null || echo 0); "$@" >/dev/null || fail "counted run failed"; b=$(cat "$W/count"); echo $((b - a)); }
c_old=$(count ours_old)
c_auth=$(count ours_auth)
python3 - "$W/t_old" "$W/t_auth" "$c_old" "$c_auth" "$N" <<'PY'
import statistics, sys
o = [int(x) / 1e3 for x in open(sys.argv[1])]
a = [float(x.split()[0]) for x in open(sys.argv[2])]
v = [float(x.split()[1]) for x in open(sys.argv[2])]
mo, ma, mv = statistics.median(o), statistics.median(a), statistics.median(v)
print(f"iterations: {sys.argv[5]} each, alternating, one swtpm (sha1+sha256 banks, PCRs 0-9)")
print(f"quote, older counter            median {mo:8.2f} ms  TPM commands {sys.argv[3]}")
print(f"quote --exchange, authorized    median {ma:8.2f} ms  TPM commands {sys.argv[4]}")
print(f"counter authorize (verifier)    median {mv:8.2f} ms  (a process start, a state write, 2 ECDSA signatures)")
print(f"ratio authorized/older          {ma / mo:.2f}x wall time")
PY
