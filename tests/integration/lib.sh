# Integration test harness: each test sources this, starts its own swtpm
# (with an EK certificate from a throwaway local CA) on a free loopback port
# in a temporary directory, and everything is torn down on exit.
# Usage in a test: TPA=$1; . lib.sh; start_swtpm; ...; pass
set -u
TPA=$(readlink -f "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SHARED=${TPA_SHARED_DIR:-$HERE/../../../shared}
W=$(mktemp -d -t tpa-integ.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ -f "$W/swtpm.pid" ] && kill "$(cat "$W/swtpm.pid")" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

for c in swtpm swtpm_setup swtpm_localca tpm2_checkquote python3 openssl; do
  command -v "$c" >/dev/null || { echo "SKIP: $c is not installed (scripts/deps.sh installs it)"; exit 77; }
done

fail() { echo "FAIL: $*" >&2; [ -f "$W/err" ] && { echo "--- stderr of the last command:" >&2; head -c 2000 "$W/err" >&2; }; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
pass() { echo "PASS"; exit 0; }

# A port P with P and P+1 both free on 127.0.0.1 (swtpm takes P+1 for control).
free_port() {
  python3 - <<'PY'
import socket, random
for _ in range(200):
    p = random.randrange(20000, 60000, 2)
    ok = True
    for q in (p, p + 1):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", q))
        except OSError:
            ok = False
        s.close()
    if ok:
        print(p); break
PY
}

start_swtpm() {
  local banks=${1:-sha1,sha256} d=$W/tpm
  mkdir -p "$d/state" "$d/ca"
  cat > "$d/localca.conf" <<CONF
statedir = $d/ca
signingkey = $d/ca/signkey.pem
issuercert = $d/ca/issuercert.pem
certserial = $d/ca/certserial
CONF
  cat > "$d/setup.conf" <<CONF
create_certs_tool = /usr/bin/swtpm_localca
create_certs_tool_config = $d/localca.conf
create_certs_tool_options = /etc/swtpm-localca.options
CONF
  swtpm_setup --tpm2 --tpmstate "$d/state" --create-ek-cert --pcr-banks "$banks" \
    --config "$d/setup.conf" --overwrite >"$d/setup.log" 2>&1 || { cat "$d/setup.log" >&2; fail "swtpm_setup failed"; }
  SWTPM_PORT=$(free_port)
  [ -n "$SWTPM_PORT" ] || fail "no free port"
  swtpm socket --tpm2 --tpmstate dir="$d/state" \
    --server type=tcp,port=$SWTPM_PORT,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1 \
    --flags "${SWTPM_FLAGS:-not-need-init,startup-clear}" --daemon --pid file="$W/swtpm.pid" || fail "swtpm did not start"
  TCTI="swtpm:host=127.0.0.1,port=$SWTPM_PORT"
  # No resource manager, on purpose: leaked handles would show.
  export TPMATTEST_TCTI=$TCTI TPM2TOOLS_TCTI=$TCTI
}

# Starts tpmproxy.py in front of swtpm; extra args go to the proxy.
start_proxy() {
  PROXY_PORT=$(free_port)
  python3 "$HERE/tpmproxy.py" "$PROXY_PORT" "$SWTPM_PORT" "$@" >"$W/proxy.out" 2>&1 &
  PIDS+=($!)
  local i
  for i in $(seq 100); do grep -q ready "$W/proxy.out" 2>/dev/null && break; sleep 0.05; done
  grep -q ready "$W/proxy.out" || fail "proxy did not start"
  PROXY_TCTI="swtpm:host=127.0.0.1,port=$PROXY_PORT"
}

# run WANT_EXIT CMD...: runs, keeps stdout in $W/out and stderr in $W/err.
run() {
  local want=$1 got; shift
  "$@" >"$W/out" 2>"$W/err"; got=$?
  [ "$got" = "$want" ] || fail "'$*': want exit $want, got $got"
}

# json FILE EXPR: evaluates a Python expression over the parsed document d.
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); v=($2); print(v)" "$1"; }

# No transient objects or sessions left in the TPM.
assert_no_leaks() {
  local t s
  t=$(tpm2_getcap handles-transient 2>/dev/null | grep -c 0x)
  s=$(tpm2_getcap handles-loaded-session 2>/dev/null | grep -c 0x)
  [ "$t" = 0 ] && [ "$s" = 0 ] || fail "TPM holds $t transient objects and $s sessions"
}
