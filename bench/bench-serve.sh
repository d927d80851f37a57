#!/usr/bin/env bash
# Verifier server benchmark (not a test): one `tpmattest serve` (HTTPS on
# 127.0.0.1, SQLite store in a temp dir, --quiet, a default policy learnt from
# the first machine's quote) and MACHINES swtpm-backed attesters, each
# provisioned as scripts/demo.sh does (P-256 EK certificate from the swtpm's
# local CA, `tpmattest init`, `tpmattest enroll --server`), all with the same
# boot (examples/cos-101-amd-sev.bin replayed into their PCRs), so the default
# policy passes.
#
# Then the attesters run concurrently, each a loop of single `tpmattest attest
# --server` processes (nonce, quote on its swtpm, send, verdict), for SECONDS
# per mode, the two modes alternating in two segments each: the default (the
# log's SHA-256 only, the server holds the log) and --full-log (the 23 KB log
# re-sent and re-parsed on every attestation).  Measured, per mode:
#  - attestations/s and the wall latency of each attestation process, start to
#    verdict, from the attester's side (includes its swtpm quote, process
#    start-up, two TLS handshakes);
#  - the server's own time per attestation (/metrics, admin certificate:
#    tpmattest_attestation_seconds and tpmattest_store_commit_seconds, sum and
#    count before and after) and its CPU time (/proc/PID/stat);
#  - CPU per attestation of the swtpm processes, of the attester processes
#    (wait4, with their tpmattest-tpm child), and the share of the machine's
#    busy CPU time that was this benchmark's (the machine is shared);
#  - `tpmattest quote` alone on an extra, unenrolled swtpm, every 0.5 s during
#    the load: the TPM's part of an attestation under the same load;
# and before the load, one process at a time: `tpmattest quote` alone and a
# whole `tpmattest attest`, alternating.  Last line:
#   bench-serve: machines=10 attestations=N rate=X/s p50_ms=.. p99_ms=.. server_ms_per_attest=.. server_cpu_us=.. full_log_rate=Y/s
# (the default mode's numbers; full_log_rate is the --full-log mode's rate).
#
# Usage: bench/bench-serve.sh [BUILD_DIR] [MACHINES] [SECONDS]
#   (defaults: build 10 24; the load runs 2 x SECONDS in all)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}; N=${2:-10}; SECS=${3:-24}
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] && [ "$N" -le 64 ] || { echo "bench-serve: MACHINES must be 1..64" >&2; exit 2; }
[[ $SECS =~ ^[0-9]+$ ]] && [ "$SECS" -ge 2 ] && [ "$SECS" -le 600 ] || { echo "bench-serve: SECONDS must be 2..600" >&2; exit 2; }
T=$PWD/$B/cli/tpmattest
[ -x "$T" ] || { echo "bench-serve: no $T (meson setup $B -Dbench=true && ninja -C $B)" >&2; exit 2; }
LOG=$PWD/examples/cos-101-amd-sev.bin
W=$(mktemp -d -t bench-serve.XXXXXX)
SRV_PID= PY_PID=
cleanup() {
  local rc=$? i
  set +e
  # the driver first: it stops the attestations it is running
  [ -n "$PY_PID" ] && kill "$PY_PID" 2>/dev/null && wait "$PY_PID" 2>/dev/null
  [ "$rc" != 0 ] && [ -s "$W/serve.log" ] && { echo "--- the server's log:" >&2; tail -20 "$W/serve.log" >&2; }
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
  for i in probe $(seq "$N"); do [ -f "$W/m$i/pid" ] && kill "$(cat "$W/m$i/pid")" 2>/dev/null; done
  [ -n "$SRV_PID" ] && wait "$SRV_PID" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
. scripts/swtpm.sh

echo "bench-serve: $N machines, ${SECS}s per mode; $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "log: $LOG ($(stat -c %s "$LOG") bytes)"

# ---- the machines: swtpm, the boot replayed, AK and counter, P-256 EK certificate
mkdir -p "$W/roots"
t_setup=$(date +%s.%N)
for i in $(seq "$N"); do
  d=$W/m$i
  swtpm_start "$d"
  echo "$TPMATTEST_TCTI" >"$d/tcti"
  "$T" eventlog extend "$LOG" >/dev/null
  "$T" init --no-ek >/dev/null
  "$T" enroll request --out "$d/pre.json" >/dev/null
  xy=$(python3 -c "
import json,base64,sys
p=base64.b64decode(json.load(open(sys.argv[1]))['ek']['ecc']['public'])
print('x=%s,y=%s,id=secp256r1'%(p[-66:-34].hex(),p[-32:].hex()))" "$d/pre.json")
  mkdir -p "$d/ecccert"
  swtpm_localca --type ek --ek "$xy" --dir "$d/ecccert" --tpm-spec-family 2.0 --tpm-spec-level 0 \
    --tpm-spec-revision 164 --tpm-manufacturer id:00001014 --tpm-model swtpm --tpm-version id:20191023 \
    --tpm2 --configfile "$d/lc.conf" --optsfile /etc/swtpm-localca.options >/dev/null 2>&1
  openssl x509 -in "$d/ca/cert.pem" -outform der -out "$d/int.der"
  for nv in "0x01c0000a $d/ecccert/ek.cert" "0x01c00100 $d/int.der"; do
    set -- $nv
    tpm2_nvdefine "$1" -C p -s "$(stat -c %s "$2")" \
      -a "ppwrite|ppread|ownerread|authread|platformcreate|no_da|writedefine" >/dev/null
    tpm2_nvwrite "$1" -C p -i "$2" >/dev/null
  done
  # every swtpm has its own local CA: each root goes into --ek-roots
  cp "$d/ca/swtpm-localca-rootca-cert.pem" "$W/roots/m$i.pem"
done
# one more swtpm, not enrolled: tpmattest quote alone is timed on it, idle and
# under the load (a probe every 0.5 s), as the TPM's part of an attestation
swtpm_start "$W/mprobe"
echo "$TPMATTEST_TCTI" >"$W/mprobe/tcti"
"$T" eventlog extend "$LOG" >/dev/null
"$T" init --no-ek >/dev/null
echo "setup: $N swtpm machines in $(python3 -c "import sys,time;print('%.1f'%(time.time()-float(sys.argv[1])))" "$t_setup") s"

# ---- TLS (server and admin certificates), the golden policy, the server
mkdir "$W/tls"
(
  cd "$W/tls"
  k() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -subj "/CN=$2" "${@:3}" 2>/dev/null; }
  k ca "bench server CA" -x509 -days 2 -out ca.pem
  k server 127.0.0.1 -out server.csr
  printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem 2>/dev/null
  k admin-ca "bench admin CA" -x509 -days 2 -out admin-ca.pem
  k admin "bench admin" -out admin.csr
  openssl x509 -req -in admin.csr -CA admin-ca.pem -CAkey admin-ca.key -CAcreateserial -days 2 -out admin.pem 2>/dev/null
)
export TPMATTEST_TCTI=$(cat "$W/m1/tcti") TPM2TOOLS_TCTI=$(cat "$W/m1/tcti")
"$T" quote --nonce "$(openssl rand -hex 32)" --eventlog "$LOG" --out "$W/golden.json" >/dev/null
"$T" policy create "$W/golden.json" --out "$W/policy.json" >/dev/null
mkdir "$W/db"
"$T" serve --listen 127.0.0.1:0 --port-file "$W/port" --db "$W/db/verifier.db" --quiet \
  --tls-cert "$W/tls/server.pem" --tls-key "$W/tls/server.key" --admin-ca "$W/tls/admin-ca.pem" \
  --ek-roots "$W/roots" --policy "$W/policy.json" 2>"$W/serve.log" &
SRV_PID=$!
for _ in $(seq 100); do [ -s "$W/port" ] && break; kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
[ -s "$W/port" ] || { echo "bench-serve: the server did not start" >&2; cat "$W/serve.log" >&2; exit 1; }
URL=https://127.0.0.1:$(cat "$W/port")

# ---- enrollment, and one attestation each (the server learns each log)
for i in $(seq "$N"); do
  d=$W/m$i
  "$T" enroll --server "$URL" --ca "$W/tls/ca.pem" --name "bench m$i" --id-file "$d/id" \
    --tcti "$(cat "$d/tcti")" >/dev/null
  "$T" attest --server "$URL" --ca "$W/tls/ca.pem" --id-file "$d/id" --eventlog "$LOG" \
    --tcti "$(cat "$d/tcti")" >"$d/first.txt" ||
    { echo "bench-serve: machine $i: the first attestation did not pass:" >&2; cat "$d/first.txt" >&2; exit 1; }
done
echo "enrolled: $N machines, each attested once (PASS against the default policy)"

# the driver runs in the background so that a signal reaches the traps at once
python3 - "$W" "$T" "$LOG" "$URL" "$N" "$SECS" "$SRV_PID" <<'PY' &
import os, re, signal, ssl, statistics, subprocess, sys, threading, time, urllib.request

w, tpa, log, url, n, secs, srv = sys.argv[1:8]
n, secs, srv = int(n), int(secs), int(srv)
tick = os.sysconf("SC_CLK_TCK")
swtpm_pids = [int(open(f"{w}/m{i}/pid").read()) for i in range(1, n + 1)]
tcti = [open(f"{w}/m{i}/tcti").read().strip() for i in range(1, n + 1)]

def proc_cpu(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / tick  # utime + stime, seconds

def host_cpu():
    f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(f) / tick, (f[3] + f[4]) / tick  # total, idle + iowait

ctx = ssl.create_default_context(cafile=f"{w}/tls/ca.pem")
ctx.load_cert_chain(f"{w}/tls/admin.pem", f"{w}/tls/admin.key")
def metrics():
    body = urllib.request.urlopen(url + "/metrics", context=ctx, timeout=30).read().decode()
    m = {}
    for line in body.splitlines():
        mm = re.match(r'^(tpmattest_[a-z_]+)(\{[^}]*\})? ([0-9.e+-]+|\+Inf)$', line)
        if mm:
            m[mm.group(1) + (mm.group(2) or "")] = float(mm.group(3))
    return m

def hist_delta(a, b, name):
    cnt = b[name + "_count"] - a[name + "_count"]
    s = b[name + "_sum"] - a[name + "_sum"]
    buckets = sorted(((float(k.split('"')[1]) if "+Inf" not in k else float("inf")), b[k] - a.get(k, 0))
                     for k in b if k.startswith(name + "_bucket"))
    return cnt, s, buckets

def hist_q(buckets, cnt, q):
    # the upper bound of the bucket holding quantile q (Prometheus buckets are coarse)
    for le, c in buckets:
        if c >= q * cnt:
            return le
    return float("inf")

def attest_cmd(i, full):
    c = [tpa, "attest", "--server", url, "--ca", f"{w}/tls/ca.pem", "--id-file", f"{w}/m{i + 1}/id",
         "--eventlog", log, "--tcti", tcti[i], "--timeout", "30"]
    return c + ["--full-log"] if full else c

running = {}
lock = threading.Lock()
def stop(sig, frame):  # SIGTERM from the script's cleanup: end the attestations running
    for p in list(running.values()):
        try:
            p.kill()
        except OSError:
            pass
    os._exit(1)
signal.signal(signal.SIGTERM, stop)
def run(i, argv):
    err = open(f"{w}/m{i + 1}/stderr" if i < n else f"{w}/mprobe/stderr", "w")
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err)
    with lock:
        running[i] = p
    _, st, ru = os.wait4(p.pid, 0)
    t1 = time.perf_counter()
    with lock:
        running.pop(i, None)
    err.close()
    return t0, t1 - t0, os.waitstatus_to_exitcode(st), ru.ru_utime + ru.ru_stime

def quote_cmd():
    return [tpa, "quote", "--nonce", os.urandom(32).hex(), "--eventlog", log, "--out", f"{w}/q.json",
            "--tcti", open(f"{w}/mprobe/tcti").read().strip()]

def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(q * len(xs) + 0.5)) - 1))]

# ---- before the load: the TPM's part of one attestation, alone on one swtpm
# (alternating, so that both see the same noise of a shared machine)
iq, ia = [], []
for _ in range(15):
    iq.append(run(0, quote_cmd()))
    ia.append(run(0, attest_cmd(0, False)))
assert all(x[2] == 0 for x in iq + ia), "an idle run failed: " + open(f"{w}/m1/stderr").read()
q_wall, q_cpu = statistics.median(x[1] for x in iq), statistics.median(x[3] for x in iq)
a_wall, a_cpu = statistics.median(x[1] for x in ia), statistics.median(x[3] for x in ia)
print("before the load, one process at a time (median of 15, alternating): tpmattest quote %.1f ms wall (%.1f ms CPU); whole tpmattest"
      " attest %.1f ms wall (%.1f ms CPU); the quote is %.0f%% of an attestation's wall time"
      % (q_wall * 1e3, q_cpu * 1e3, a_wall * 1e3, a_cpu * 1e3, 100 * q_wall / a_wall))

# ---- load: N attesters, each a loop of single attestations, modes alternating
MAX_PER_SEGMENT = 100000  # a bound besides the clock
res = {False: [], True: []}
acc = {m: dict(wall=0.0, srv=0.0, swtpm=0.0, busy=0.0, total=0.0, m0=None, m1=None) for m in (False, True)}
fails = {False: [], True: []}
probes = {False: [], True: []}
probe_cpu = {False: 0.0, True: 0.0}

def segment(full, dur):
    a = acc[full]
    m0 = metrics()
    s0, sw0, (h0, i0) = proc_cpu(srv), sum(proc_cpu(p) for p in swtpm_pids), host_cpu()
    start = time.perf_counter()
    deadline = start + dur
    out = [[] for _ in range(n)]
    def worker(i):
        argv = attest_cmd(i, full)
        for _ in range(MAX_PER_SEGMENT):
            if time.perf_counter() >= deadline:
                break
            r = run(i, argv)
            out[i].append(r)
            if r[2] != 0:
                fails[full].append((i + 1, r[2], open(f"{w}/m{i + 1}/stderr").read()[-400:]))
    def prober():  # tpmattest quote alone on the extra swtpm, under the load
        while time.perf_counter() + 0.5 < deadline:
            r = run(n, quote_cmd())
            if r[2] == 0:
                probes[full].append(r[1])
            probe_cpu[full] += r[3]
            time.sleep(0.5)
    th = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    th.append(threading.Thread(target=prober, daemon=True))
    for t in th:
        t.start()
    for t in th:
        t.join(timeout=max(0.0, deadline + 60 - time.perf_counter()))
    with lock:
        stuck = list(running.values())
    for p in stuck:  # an attestation still running 60 s after the deadline: stop it
        p.kill()
    for t in th:
        t.join(timeout=5)
    end = time.perf_counter()
    s1, sw1, (h1, i1) = proc_cpu(srv), sum(proc_cpu(p) for p in swtpm_pids), host_cpu()
    m1 = metrics()
    for i in range(n):
        res[full] += out[i]
    a["wall"] += end - start
    a["srv"] += s1 - s0
    a["swtpm"] += sw1 - sw0
    a["busy"] += (h1 - h0) - (i1 - i0)
    a["total"] += h1 - h0
    a["m0"] = a["m0"] or []
    a["m0"].append((m0, m1))
    if stuck:
        print(f"  {len(stuck)} attestation(s) killed after the deadline", flush=True)

seg = secs / 2
for full in (False, True, False, True):
    segment(full, seg)

summary = {}
for full in (False, True):
    r, a = res[full], acc[full]
    name = "full log every time (--full-log)" if full else "log hash only (default)"
    ok = [x for x in r if x[2] == 0]
    lat = [x[1] * 1e3 for x in ok]
    k = len(r)
    rate = len(ok) / a["wall"]
    cnt = s = ccnt = cs = 0.0
    bk = {}
    for m0, m1 in a["m0"]:
        c, x, b = hist_delta(m0, m1, "tpmattest_attestation_seconds")
        cnt += c; s += x
        for le, v in b:
            bk[le] = bk.get(le, 0) + v
        c, x, _ = hist_delta(m0, m1, "tpmattest_store_commit_seconds")
        ccnt += c; cs += x
    bl = sorted(bk.items())
    srv_ms = 1e3 * s / cnt if cnt else float("nan")
    commit_ms = 1e3 * cs / ccnt if ccnt else float("nan")
    srv_cpu_us = 1e6 * a["srv"] / k if k else float("nan")
    sw_ms = 1e3 * a["swtpm"] / k if k else float("nan")
    att_ms = 1e3 * sum(x[3] for x in r) / k if k else float("nan")
    busy = a["busy"] / a["total"] if a["total"] else float("nan")
    # CPU seconds of this benchmark's processes (the probe's quotes: only in the share)
    ours = sum(x[3] for x in r) + a["srv"] + a["swtpm"]
    mine = (ours + probe_cpu[full]) / a["busy"] if a["busy"] else float("nan")
    per = ours / k if k else float("nan")
    print(f"== {name}: {n} attesters, {a['wall']:.1f} s (two segments)")
    print("  attestations: %d (%d not passing), %.1f/s; the server counted %d" % (k, k - len(ok), rate, cnt))
    if lat:
        print("  attester wall latency, start to verdict: p50 %.1f ms, p99 %.1f ms, max %.1f ms, mean %.1f ms"
              % (pct(lat, 0.5), pct(lat, 0.99), max(lat), statistics.mean(lat)))
    print("  server: %.2f ms per attestation (tpmattest_attestation_seconds sum/count; histogram p50 <= %g s, p99 <= %g s),"
          " store commit %.2f ms (tpmattest_store_commit_seconds)" % (srv_ms, hist_q(bl, cnt, .5), hist_q(bl, cnt, .99), commit_ms))
    print("  CPU per attestation: server %.0f us (all its requests: 2 TLS handshakes, nonce, verification, commit),"
          " swtpm %.2f ms, attester processes %.2f ms (with tpmattest-tpm); machine busy %.0f%% of %d CPUs"
          % (srv_cpu_us, sw_ms, att_ms, 100 * busy, os.cpu_count()))
    print("  this benchmark's processes used %.0f%% of the machine's busy CPU time (the rest: other work on it);"
          " %.1f ms of CPU per attestation in all, i.e. at most %.0f/s on %d free CPUs"
          % (100 * mine, 1e3 * per, os.cpu_count() / per, os.cpu_count()))
    pq = statistics.median(probes[full]) * 1e3 if probes[full] else float("nan")
    if lat:
        print("  the TPM's share: tpmattest quote alone under this load %.1f ms (median of %d probes) = %.0f%% of the"
              " attestation p50; swtpm CPU = %.0f%% of the CPU spent per attestation (server + swtpm + attester)"
              % (pq, len(probes[full]), 100 * pq / pct(lat, .5), 100 * sw_ms / (sw_ms + att_ms + srv_cpu_us / 1e3)))
    summary[full] = dict(k=k, rate=rate, p50=pct(lat, .5) if lat else float("nan"),
                         p99=pct(lat, .99) if lat else float("nan"), srv_ms=srv_ms, cpu=srv_cpu_us)
    for f in fails[full][:3]:
        print("  not passing: machine %d exit %d: %s" % f)
h, f = summary[False], summary[True]
print("full-log / hash-only: rate %.2f, p50 %.2f, server ms %.2f, server CPU %.2f"
      % (f["rate"] / h["rate"], f["p50"] / h["p50"], f["srv_ms"] / h["srv_ms"], f["cpu"] / h["cpu"]))
print("bench-serve: machines=%d attestations=%d rate=%.1f/s p50_ms=%.1f p99_ms=%.1f server_ms_per_attest=%.2f server_cpu_us=%.0f full_log_rate=%.1f/s"
      % (n, h["k"], h["rate"], h["p50"], h["p99"], h["srv_ms"], h["cpu"], f["rate"]))
PY
PY_PID=$!
wait "$PY_PID"
