# Harness of the adversarial tests (tests/attack/): swtpm machines with a
# P-256 EK certificate from a throwaway CA (as scripts/demo.sh sets them
# up), TLS certificates, and `tpmattest serve` on a free loopback port, all
# in one temporary directory torn down on exit.  The attacks themselves
# are Python (atk.py), talking HTTPS to the server directly.
# Usage: TPA=$1; . lib.sh; tpm_new a; tls_setup; serve_start; enroll a; ...
set -u
TPA=$(readlink -f "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
LOG=$SRC/examples/cos-101-amd-sev.bin
W=$(mktemp -d -t tpa-attack.XXXXXX)
SRV_PID=
PIDS=()
cleanup() {
  local p d
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for d in "$W"/tpm-*; do [ -f "$d/pid" ] && kill "$(cat "$d/pid")" 2>/dev/null; done
  store_cleanup
  if [ -n "${KEEP:-}" ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
. "$SRC/tests/pg/store.sh"
export W TPA LOG HERE
export PYTHONPATH=$HERE${PYTHONPATH:+:$PYTHONPATH}
export PYTHONDONTWRITEBYTECODE=1

for c in swtpm swtpm_setup swtpm_localca tpm2_nvdefine python3 openssl; do
  command -v "$c" >/dev/null || { echo "SKIP: $c is not installed (scripts/deps.sh installs it)"; exit 77; }
done
# the store: $W/verifier.db, or PostgreSQL (TPA_TEST_STORE=postgresql);
# a test may set DB itself before serve_start
store_init "$W/verifier.db"

fail() { echo "FAIL: $*" >&2; [ -s "$W/serve.log" ] && { echo "--- the server's log (tail):" >&2; tail -15 "$W/serve.log" >&2; }; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
pass() { echo "PASS"; exit 0; }

free_pair() {
  python3 -c 'import socket,random
for _ in range(200):
    p=random.randrange(20000,60000,2); ok=True
    for q in (p,p+1):
        s=socket.socket()
        try: s.bind(("127.0.0.1",q))
        except OSError: ok=False
        s.close()
    if ok: print(p); break'
}

# use_tpm NAME: the TCTI of machine NAME for the commands that follow
use_tpm() {
  local p
  p=$(cat "$W/tpm-$1/port")
  export TPMATTEST_TCTI=swtpm:host=127.0.0.1,port=$p TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=$p
}

swtpm_up() {
  local d=$W/tpm-$1 p
  p=$(cat "$d/port")
  swtpm socket --tpm2 --tpmstate dir="$d/state" --server type=tcp,port=$p,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((p + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear \
    --daemon --pid file="$d/pid" || fail "swtpm $1 did not start"
}
swtpm_down() {
  local d=$W/tpm-$1 pid i
  [ -f "$d/pid" ] || return 0
  pid=$(cat "$d/pid"); kill "$pid" 2>/dev/null
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$d/pid"
}

# tpm_new NAME: a swtpm with a P-256 EK certificate (chain in NV), its
# boot (examples/cos-101-amd-sev.bin) replayed into its PCRs, AK and
# counter created (tpmattest init), the enrollment request in
# $W/tpm-NAME/req.json and the CA's root in $W/roots.
tpm_new() {
  local n=$1 d=$W/tpm-$1 xy nv
  mkdir -p "$d/state" "$d/ca" "$d/ecccert" "$W/roots"
  printf 'statedir = %s\nsigningkey = %s\nissuercert = %s\ncertserial = %s\n' \
    "$d/ca" "$d/ca/key.pem" "$d/ca/cert.pem" "$d/ca/serial" >"$d/lc.conf"
  printf 'create_certs_tool = /usr/bin/swtpm_localca\ncreate_certs_tool_config = %s\ncreate_certs_tool_options = /etc/swtpm-localca.options\n' \
    "$d/lc.conf" >"$d/setup.conf"
  swtpm_setup --tpm2 --tpmstate "$d/state" --create-ek-cert --pcr-banks sha1,sha256 \
    --config "$d/setup.conf" --overwrite >"$d/setup.log" 2>&1 || { cat "$d/setup.log" >&2; fail "swtpm_setup $n"; }
  free_pair >"$d/port"
  [ -s "$d/port" ] || fail "no free port"
  swtpm_up "$n"
  use_tpm "$n"
  "$TPA" eventlog extend "$LOG" >/dev/null || fail "eventlog extend on $n"
  "$TPA" init --no-ek >/dev/null 2>"$d/init.err" || { cat "$d/init.err" >&2; fail "init $n"; }
  "$TPA" enroll request --out "$d/pre.json" >/dev/null 2>&1 || fail "enroll request $n"
  xy=$(python3 -c "
import json,base64,sys
p=base64.b64decode(json.load(open(sys.argv[1]))['ek']['ecc']['public'])
print('x=%s,y=%s,id=secp256r1'%(p[-66:-34].hex(),p[-32:].hex()))" "$d/pre.json")
  swtpm_localca --type ek --ek "$xy" --dir "$d/ecccert" --tpm-spec-family 2.0 --tpm-spec-level 0 \
    --tpm-spec-revision 164 --tpm-manufacturer id:00001014 --tpm-model swtpm --tpm-version id:20191023 \
    --tpm2 --configfile "$d/lc.conf" --optsfile /etc/swtpm-localca.options >/dev/null 2>&1 || fail "localca $n"
  openssl x509 -in "$d/ca/cert.pem" -outform der -out "$d/int.der"
  for nv in "0x01c0000a $d/ecccert/ek.cert" "0x01c00100 $d/int.der"; do
    set -- $nv
    tpm2_nvdefine "$1" -C p -s "$(stat -c %s "$2")" \
      -a "ppwrite|ppread|ownerread|authread|platformcreate|no_da|writedefine" >/dev/null 2>&1 || fail "nvdefine $n"
    tpm2_nvwrite "$1" -C p -i "$2" >/dev/null 2>&1 || fail "nvwrite $n"
  done
  cp "$d/ca/swtpm-localca-rootca-cert.pem" "$W/roots/$n-root.pem"
  "$TPA" enroll request --out "$d/req.json" >/dev/null 2>&1 || fail "enroll request $n (with the certificate)"
}

# tls_setup: server CA and certificate (IP:127.0.0.1), admin CA, and client
# certificates: admin (good), other (another CA), expired (admin CA, in
# the past), serveronly (admin CA, extendedKeyUsage serverAuth only)
tls_setup() {
  mkdir -p "$W/tls"
  (
    cd "$W/tls"
    k() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -subj "/CN=$2" "${@:3}" 2>/dev/null; }
    k ca "attack server CA" -x509 -days 2 -out ca.pem
    k server 127.0.0.1 -out server.csr
    printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem 2>/dev/null
    k admin-ca "attack admin CA" -x509 -days 2 -out admin-ca.pem
    k other-ca "some other CA" -x509 -days 2 -out other-ca.pem
    for c in admin expired serveronly other; do k "$c" "client $c" -out "$c.csr"; done
    openssl x509 -req -in admin.csr -CA admin-ca.pem -CAkey admin-ca.key -CAcreateserial -days 2 -out admin.pem 2>/dev/null
    openssl x509 -req -in other.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -days 2 -out other.pem 2>/dev/null
    printf 'extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n' >eku.ext
    openssl x509 -req -in serveronly.csr -CA admin-ca.pem -CAkey admin-ca.key -CAcreateserial -days 2 -extfile eku.ext -out serveronly.pem 2>/dev/null
    # notAfter a day before notBefore: expired whenever it is used
    openssl x509 -req -in expired.csr -CA admin-ca.pem -CAkey admin-ca.key -CAcreateserial -days -1 -out expired.pem 2>/dev/null
  ) || fail "tls_setup"
  [ -s "$W/tls/expired.pem" ] && [ -s "$W/tls/admin.pem" ] || fail "tls_setup: certificates missing"
}

# serve_start [OPTIONS...]: tpmattest serve on 127.0.0.1:0 with the EK
# roots of every tpm_new so far; PORT and URL set, log in $W/serve.log.
# The machines these tests enroll through the API (enroll, quote) have the
# older counter, so the server runs with --legacy-counters unless
# SERVE_COUNTERS is set (to "" for the server's default: the
# verifier-authorized counter only)
serve_start() {
  rm -f "$W/port"
  "$TPA" serve --listen 127.0.0.1:0 --port-file "$W/port" --db "$DB" \
    --tls-cert "$W/tls/server.pem" --tls-key "$W/tls/server.key" --admin-ca "$W/tls/admin-ca.pem" \
    --ek-roots "$W/roots" --result-key "$W/result-key.pem" ${SERVE_COUNTERS---legacy-counters} "$@" 2>>"$W/serve.log" &
  SRV_PID=$!
  local i
  for i in $(seq 100); do [ -s "$W/port" ] && break; kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
  [ -s "$W/port" ] || fail "the server did not start"
  PORT=$(cat "$W/port")
  URL=https://127.0.0.1:$PORT
  export PORT URL
}
serve_stop() {
  [ -n "$SRV_PID" ] || return 0
  kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null
  SRV_PID=
}

# enroll NAME [MACHINE-NAME]: through the API (challenge, tpmattest enroll
# activate on NAME's TPM, activation); the id in $W/tpm-NAME/id
enroll() {
  python3 -m atk enroll "$@" >"$W/enroll.out" 2>&1 || { cat "$W/enroll.out" >&2; fail "enroll $1"; }
}
