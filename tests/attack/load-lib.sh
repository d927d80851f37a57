# shellcheck shell=bash
# Harness of the tests under the load of a fleet of emulated machines
# (attest-load-gen, bench/attest_load.c): TLS certificates, the fleet's
# keys and EK CA, a policy its machines pass, and `tpmattest serve` on
# free loopback ports, everything in one temporary directory torn down on
# exit.  The store: SQLite, or PostgreSQL with TPA_TEST_STORE=postgresql
# (tests/pg/store.sh).  Several servers on that one store: serve_start K.
# Usage: . load-lib.sh TPMATTEST ATTEST_LOAD_GEN
# (a test may set DB, and LOAD_UMOUNT: a mount point unmounted on exit)
#   serve_start [K]    server K (default 0), port in $W/port.K, PORT_K
#   serve_kill K       kill -9 of server K
#   gen SECONDS [OPT]  the generator against every server started (one
#                      --url each), 20 machines, 8 clients
set -u
TPA=$(readlink -f "$1")
GEN=${2:-}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail() {
  echo "FAIL: $*" >&2
  for f in "$W"/serve.*.log; do [ -s "$f" ] && { echo "--- $f (tail):" >&2; tail -15 "$f" >&2; }; done
  exit 1
}
skip() { echo "SKIP: $*"; exit 77; }
if [ -z "$GEN" ] || [ ! -x "$GEN" ]; then skip "attest-load-gen is not built (meson -Dbench=true)"; fi
for c in python3 openssl; do command -v "$c" >/dev/null || skip "$c is not installed"; done
W=$(mktemp -d -t tpa-load.XXXXXX)
declare -A SRV=()
GEN_PID=''
cleanup() {
  local k
  [ -n "$GEN_PID" ] && kill "$GEN_PID" 2>/dev/null
  for k in "${!SRV[@]}"; do kill "${SRV[$k]}" 2>/dev/null; done
  [ -n "$GEN_PID" ] && wait "$GEN_PID" 2>/dev/null
  for k in "${!SRV[@]}"; do wait "${SRV[$k]}" 2>/dev/null; done
  store_cleanup
  [ -n "${LOAD_UMOUNT:-}" ] && umount "$LOAD_UMOUNT" 2>/dev/null
  if [ -n "${KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
export W PYTHONPATH=$HERE${PYTHONPATH:+:$PYTHONPATH} PYTHONDONTWRITEBYTECODE=1
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
  local k=${1:-0}
  rm -f "$W/port.$k"
  "$TPA" serve --listen 127.0.0.1:0 --port-file "$W/port.$k" --db "$DB" --quiet \
    --tls-cert "$W/tls/server.pem" --tls-key "$W/tls/server.key" --admin-ca "$W/tls/admin-ca.pem" \
    --ek-roots "$W/fleet/ekroots" --policy "$W/policy.json" --result-key "$W/result-key.pem" \
    --legacy-counters 2>>"$W/serve.$k.log" &
  SRV[$k]=$!
  for _ in $(seq 100); do [ -s "$W/port.$k" ] && break; kill -0 "${SRV[$k]}" 2>/dev/null || break; sleep 0.1; done
  [ -s "$W/port.$k" ] || fail "server $k did not start"
  eval "PORT_$k=$(cat "$W/port.$k")"
  PORT=$(cat "$W/port.0" 2>/dev/null || cat "$W/port.$k")
  export PORT "PORT_$k"
}
serve_kill() {
  kill -9 "${SRV[$1]}"; wait "${SRV[$1]}" 2>/dev/null; unset "SRV[$1]"
}
gen() { # SECONDS [options]
  local k urls=()
  for k in $(printf '%s\n' "${!SRV[@]}" | sort); do
    urls+=(--url "https://127.0.0.1:$(cat "$W/port.$k")" --port-file "$W/port.$k")
  done
  "$GEN" run "${urls[@]}" --ca "$W/tls/ca.pem" \
    --dir "$W/fleet" --machines 20 --clients 8 --seconds "$1" --timeout 3000 "${@:2}"
}
