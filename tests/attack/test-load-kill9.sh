#!/usr/bin/env bash
# kill -9 under the load of a fleet: attest-load-gen (bench/attest_load.c)
# drives 20 emulated machines from 8 client threads for 12 s, recording
# every answer, while the server is killed with SIGKILL 3 times at random
# moments and restarted on the same database (a new port each time, found
# through --port-file).  Afterwards: every evidence answered 200 "pass" is
# refused when sent again (403 nonce), every answered verdict's seq is in its
# machine's history with that verdict, no machine's stored counter is below
# the highest counter it was answered PASS for, and a second short run
# attests every machine with no error and no FAIL.
# Usage: test-load-kill9.sh TPMATTEST ATTEST_LOAD_GEN
set -u
TPA=$(readlink -f "$1")
GEN=${2:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail() { echo "FAIL: $*" >&2; [ -s "$W/serve.log" ] && { echo "--- the server's log (tail):" >&2; tail -15 "$W/serve.log" >&2; }; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
if [ -z "$GEN" ] || [ ! -x "$GEN" ]; then skip "attest-load-gen is not built (meson -Dbench=true)"; fi
for c in python3 openssl; do command -v "$c" >/dev/null || skip "$c is not installed"; done
W=$(mktemp -d -t tpa-load-kill9.XXXXXX)
SRV_PID='' GEN_PID=''
cleanup() {
  [ -n "$GEN_PID" ] && kill "$GEN_PID" 2>/dev/null
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
  [ -n "$GEN_PID" ] && wait "$GEN_PID" 2>/dev/null
  [ -n "$SRV_PID" ] && wait "$SRV_PID" 2>/dev/null
  store_cleanup
  if [ -n "${KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
export W PYTHONPATH=$HERE${PYTHONPATH:+:$PYTHONPATH} PYTHONDONTWRITEBYTECODE=1
# $W/verifier.db, or PostgreSQL (TPA_TEST_STORE=postgresql)
. "$HERE/../pg/store.sh"
store_init "$W/verifier.db"

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
  "$TPA" serve --listen 127.0.0.1:0 --port-file "$W/port" --db "$DB" --quiet \
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
gen 12 --record "$W/rec.jsonl" >"$W/gen.out" 2>"$W/gen.err" &
GEN_PID=$!
# three kills, each 1.5-3.5 s after the previous restart: the first lands
# after enrollment (20 machines take well under a second)
for k in 1 2 3; do
  sleep "$(( 1 + RANDOM % 2 )).$(( RANDOM % 10 ))"
  kill -0 "$GEN_PID" 2>/dev/null || fail "the generator ended before kill $k: $(tail -3 "$W/gen.err")"
  kill -9 "$SRV_PID"; wait "$SRV_PID" 2>/dev/null; SRV_PID=
  sleep 0.$(( RANDOM % 5 ))
  serve_start
done
for _ in $(seq 300); do kill -0 "$GEN_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$GEN_PID" 2>/dev/null && fail "the generator did not end within 30 s of its 12"
wait "$GEN_PID"; rc=$?; GEN_PID=
[ "$rc" = 0 ] || fail "the generator exited $rc: $(tail -5 "$W/gen.err")"
grep -q '^attest-load: machines=20 clients=8 mode=hash ' "$W/gen.out" || fail "no summary line: $(cat "$W/gen.out")"

python3 - <<'PY' || fail "after 3 x kill -9 under load"
from atk import *
lines = check_load_record(f"{W}/rec.jsonl", 20)
passed = sum(1 for l in lines if l["status"] == 200 and l["verdict"] == "pass")
errors = sum(1 for l in lines if l["status"] != 200)
print(f"recorded {len(lines)} answers ({passed} PASS, {errors} not 200) across 3 kills",
      file=sys.stderr)
PY

# every machine attests again, with no error and no FAIL
gen 2 >"$W/gen2.out" 2>"$W/gen2.err" || fail "second run: $(tail -5 "$W/gen2.err")"
grep -Eq '^attest-load: machines=20 .* fail=0 errors=0$' "$W/gen2.out" || fail "second run: $(cat "$W/gen2.out")"
grep -q 'enrolled 20 machines (20 already), 0 errors' "$W/gen2.err" || fail "second run: not every machine was enrolled: $(cat "$W/gen2.err")"
echo "PASS"
