#!/usr/bin/env bash
# The disk under the store fills up under the load of a fleet:
# attest-load-gen (bench/attest_load.c) drives 20 emulated machines from 8
# client threads for 8 s, recording every answer, with the database on a
# 64 MiB tmpfs that is filled but for 12 KiB 2.5 s in.  Every attestation
# answered is a verdict or 503 store (at least one 503: the disk did fill),
# and the server stays up.  The space freed, the generator runs again with
# no error and no FAIL.  Then kill -9 and a restart: every verdict answered
# is in its machine's history with that verdict (never a PASS the store
# does not hold), and no stored counter is below the highest answered PASS.
# Needs mount (skipped without).
# Usage: test-load-disk-full.sh TPMATTEST ATTEST_LOAD_GEN
set -u
TPA=$(readlink -f "$1")
GEN=${2:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail() { echo "FAIL: $*" >&2; [ -s "$W/serve.log" ] && { echo "--- the server's log (tail):" >&2; tail -15 "$W/serve.log" >&2; }; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
if [ -z "$GEN" ] || [ ! -x "$GEN" ]; then skip "attest-load-gen is not built (meson -Dbench=true)"; fi
for c in python3 openssl; do command -v "$c" >/dev/null || skip "$c is not installed"; done
W=$(mktemp -d -t tpa-load-disk.XXXXXX)
SRV_PID='' GEN_PID=''
cleanup() {
  [ -n "$GEN_PID" ] && kill "$GEN_PID" 2>/dev/null
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
  [ -n "$GEN_PID" ] && wait "$GEN_PID" 2>/dev/null
  [ -n "$SRV_PID" ] && wait "$SRV_PID" 2>/dev/null
  umount "$W/disk" 2>/dev/null
  if [ -n "${KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
export W PYTHONPATH=$HERE${PYTHONPATH:+:$PYTHONPATH} PYTHONDONTWRITEBYTECODE=1

mkdir "$W/disk"
mount -t tmpfs -o size=64m,mode=0700 tmpfs "$W/disk" 2>/dev/null || skip "cannot mount a tmpfs"
mkdir "$W/tls"
(
  cd "$W/tls"
  k() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -subj "/CN=$2" "${@:3}" 2>/dev/null; }
  k ca "load server CA" -x509 -days 2 -out ca.pem
  k server 127.0.0.1 -out server.csr
  printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem 2>/dev/null
  k admin-ca "load admin CA" -x509 -days 2 -out admin-ca.pem
  k admin "load admin" -out admin.csr
  openssl x509 -req -in admin.csr -CA admin-ca.pem -CAkey admin-ca.key -CAcreateserial -days 2 -out admin.pem 2>/dev/null
) || fail "TLS set-up"
"$GEN" prepare --dir "$W/fleet" >/dev/null 2>"$W/prepare.err" || { cat "$W/prepare.err" >&2; fail "prepare"; }
"$TPA" policy create "$W/fleet/sample-evidence.json" --out "$W/policy.json" >/dev/null || fail "policy create"

serve_start() {
  rm -f "$W/port"
  "$TPA" serve --listen 127.0.0.1:0 --port-file "$W/port" --db "$W/disk/verifier.db" --quiet \
    --tls-cert "$W/tls/server.pem" --tls-key "$W/tls/server.key" --admin-ca "$W/tls/admin-ca.pem" \
    --ek-roots "$W/fleet/ekroots" --policy "$W/policy.json" 2>>"$W/serve.log" &
  SRV_PID=$!

  for _ in $(seq 100); do [ -s "$W/port" ] && break; kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
  [ -s "$W/port" ] || fail "the server did not start"
  PORT=$(cat "$W/port")
  export PORT
}
gen() { # SECONDS [options]
  "$GEN" run --url "https://127.0.0.1:$PORT" --port-file "$W/port" --ca "$W/tls/ca.pem" \
    --dir "$W/fleet" --machines 20 --clients 8 --seconds "$1" --timeout 3000 "${@:2}"
}

serve_start
gen 8 --record "$W/rec.jsonl" >"$W/gen.out" 2>"$W/gen.err" &
GEN_PID=$!
sleep 2.5
kill -0 "$GEN_PID" 2>/dev/null || fail "the generator ended before the disk filled: $(tail -3 "$W/gen.err")"
free=$(df -B1 --output=avail "$W/disk" | tail -1)
dd if=/dev/zero of="$W/disk/filler" bs=4096 count=$(( (free - 12288) / 4096 )) 2>/dev/null
for _ in $(seq 300); do kill -0 "$GEN_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$GEN_PID" 2>/dev/null && fail "the generator did not end within 30 s of its 8"
wait "$GEN_PID"; rc=$?; GEN_PID=
[ "$rc" = 0 ] || fail "the generator exited $rc: $(tail -5 "$W/gen.err")"
grep -q '^attest-load: machines=20 clients=8 mode=hash ' "$W/gen.out" || fail "no summary line: $(cat "$W/gen.out")"
kill -0 "$SRV_PID" 2>/dev/null || fail "the server died when the disk filled"

python3 - <<'PY' || fail "while the disk was full"
import json
from atk import *
lines = [json.loads(l) for l in open(f"{W}/rec.jsonl")]
odd = [l for l in lines if not (l["status"] == 200 and l["verdict"] in ("pass", "fail")) and
       not (l["status"] == 503 and l["error"] == "store")]
check(not odd, f"{len(odd)} answers neither a verdict nor 503 store: " +
      "; ".join(f"{l['status']} {l['error']}" for l in odd[:5]))
full = sum(1 for l in lines if l["status"] == 503)
check(full >= 1, f"no 503 store among {len(lines)} answers: the disk did not fill")
print(f"recorded {len(lines)} answers, {full} of them 503 store", file=sys.stderr)
PY

# the space back: the same server attests every machine again
rm -f "$W/disk/filler"
gen 2 >"$W/gen2.out" 2>"$W/gen2.err" || fail "after freeing the space: $(tail -5 "$W/gen2.err")"
grep -Eq '^attest-load: machines=20 .* fail=0 errors=0$' "$W/gen2.out" || fail "after freeing the space: $(cat "$W/gen2.out") $(head -5 "$W/gen2.err")"

kill -9 "$SRV_PID"; wait "$SRV_PID" 2>/dev/null; SRV_PID=
serve_start
python3 - <<'PY' || fail "after kill -9 and restart"
import json
from atk import *
lines = [json.loads(l) for l in open(f"{W}/rec.jsonl")]
answered = [l for l in lines if l["status"] == 200]
for mid in sorted({l["machine_id"] for l in answered}):
    seqs, before = {}, ""
    for _ in range(1000):
        h = history(mid, f"?limit=1000{before}")
        for e in h:
            seqs[e["seq"]] = e["verdict"]
        if len(h) < 1000:
            break
        before = "&before=%d" % min(e["seq"] for e in h)
    mine = [l for l in answered if l["machine_id"] == mid]
    for l in mine:
        check(seqs.get(l["seq"]) == l["verdict"],
              f"{mid[:16]}: answered {l['verdict']} seq {l['seq']}, the history after restart has {seqs.get(l['seq'])}")
    top = max((l["counter"] for l in mine if l["verdict"] == "pass"), default=None)
    st = show(mid)["state"]
    if top is not None:
        check(st["counter"]["value"] >= top, f"{mid[:16]}: answered PASS at counter {top}, stored {st['counter']}")
PY
echo "PASS"
