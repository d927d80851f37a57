# shellcheck shell=bash
# Harness of the server's end-to-end tests (tests/server/): the integration
# harness (tests/integration/lib.sh: swtpm with an EK certificate from a
# throwaway CA, run, json, fail, pass), plus, in the test's temporary
# directory $W:
#   make_certs      a server CA and a server certificate for IP:127.0.0.1,
#                   an admin CA and an admin client certificate, an "other"
#                   CA and a client certificate from it ($W/pki)
#   provision_tpm   tpmattest init and the P-256 EK certificate in the NV
#   start_server    tpmattest serve on 127.0.0.1:0, its own --db, --ek-roots
#                   the swtpm CA's root, waiting (bounded) for /healthz
#   stop_server, kill9_server, srv (python3 HTTPS requests, srv.py)
# Everything started here is stopped on exit.  Every wait is bounded.
# Usage in a test: . "$(dirname "$0")/lib.sh"  ($1: tpmattest)
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
SHERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EXAMPLES=$(cd "$SHERE/../../examples" && pwd)
T=$TPA
SRV_PID=
SRV_N=0
SRV_LOG=
T0=$(date +%s)
for c in tpm2_nvdefine tpm2_nvwrite tpm2_pcrextend; do
  command -v "$c" >/dev/null || skip "$c is not installed"
done

srv_cleanup() {
  local rc=$?
  if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -n "$SRV_LOG" ] && [ -s "$SRV_LOG" ]; then
    echo "--- the server's log ($SRV_LOG, last 30 lines):" >&2
    tail -30 "$SRV_LOG" | cat -v >&2
  fi
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
  store_cleanup
  cleanup
  echo "(run time: $(( $(date +%s) - T0 )) s)"
}
trap srv_cleanup EXIT
# the store: $W/verifier.db, or PostgreSQL (TPA_TEST_STORE=postgresql)
. "$SHERE/../pg/store.sh"
store_init "$W/verifier.db"

# ---- certificates ----
# mkcert NAME CA EXT [CN]: key NAME.key, certificate NAME.pem signed by
# CA.pem ("self": a self-signed CA); EXT: the extensions of a leaf; CN
# (default NAME): its subject's common name
mkcert() {
  local n=$1 ca=$2 ext=$3 cn=${4:-$1} d=$W/pki
  mkdir -p "$d"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
    -keyout "$d/$n.key" -out "$d/$n.csr" 2>"$W/err" || fail "openssl req $n"
  if [ "$ca" = self ]; then
    printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n' >"$d/$n.ext"
    openssl x509 -req -in "$d/$n.csr" -signkey "$d/$n.key" -days 2 -extfile "$d/$n.ext" \
      -out "$d/$n.pem" 2>"$W/err" || fail "openssl x509 $n"
  else
    printf '%s\n' "$ext" | tr ';' '\n' >"$d/$n.ext"
    openssl x509 -req -in "$d/$n.csr" -CA "$d/$ca.pem" -CAkey "$d/$ca.key" -CAcreateserial \
      -days 2 -extfile "$d/$n.ext" -out "$d/$n.pem" 2>"$W/err" || fail "openssl x509 $n"
  fi
}
make_certs() {
  mkcert server-ca self ""
  mkcert server server-ca "basicConstraints=CA:FALSE;keyUsage=critical,digitalSignature;extendedKeyUsage=serverAuth;subjectAltName=IP:127.0.0.1"
  mkcert admin-ca self ""
  mkcert admin admin-ca "basicConstraints=CA:FALSE;keyUsage=critical,digitalSignature;extendedKeyUsage=clientAuth"
  mkcert other-ca self ""
  mkcert other other-ca "basicConstraints=CA:FALSE;keyUsage=critical,digitalSignature;extendedKeyUsage=clientAuth"
  CA=$W/pki/server-ca.pem
  ADMIN=(--cert "$W/pki/admin.pem" --key "$W/pki/admin.key")
  OTHER=(--cert "$W/pki/other.pem" --key "$W/pki/other.key")
}

# ---- the attester's TPM (as tests/integration/test-enroll.sh) ----
# A P-256 EK certificate from the swtpm's CA for the EK of an enroll request,
# in the TPM's NV at 0x01C0000A, the CA's intermediate at 0x01C00100:
# swtpm_setup certifies only its RSA 2048 and P-384 EKs, and tpmattest's AK
# lives under the P-256 one.  TPMDIR: the swtpm's directory (its ca/).
ecc_point() { python3 -c "
import json,base64,sys
p=base64.b64decode(json.load(open(sys.argv[1]))['ek']['ecc']['public'])
print('x=%s,y=%s,id=secp256r1'%(p[-66:-34].hex(),p[-32:].hex()))" "$1"; }
# ek_id REQUEST: the machine id, SHA-256 of the ECC EK's TPM2B_PUBLIC
ek_id() { python3 -c "import json,base64,hashlib,sys; print(hashlib.sha256(base64.b64decode(json.load(open(sys.argv[1]))['ek']['ecc']['public'])).hexdigest())" "$1"; }
nv_put() { # INDEX FILE
  tpm2_nvdefine "$1" -C p -s "$(stat -c %s "$2")" \
    -a "ppwrite|ppread|ownerread|authread|platformcreate|no_da|writedefine" >/dev/null 2>"$W/err" || fail "nvdefine $1"
  tpm2_nvwrite "$1" -C p -i "$2" >/dev/null 2>"$W/err" || fail "nvwrite $1"
}
# provision_tpm NAME [TPMDIR]: AK, counter, EK certificate; sets ID_<NAME>
# from the request (the id the server must give)
provision_tpm() {
  local n=$1 d=${2:-$W/tpm}
  run 0 "$T" init --no-ek
  run 0 "$T" enroll request --out "$W/$n-pre.json"
  mkdir -p "$W/$n-ecccert"
  swtpm_localca --type ek --ek "$(ecc_point "$W/$n-pre.json")" --dir "$W/$n-ecccert" --tpm-spec-family 2.0 \
    --tpm-spec-level 0 --tpm-spec-revision 164 --tpm-manufacturer id:00001014 --tpm-model swtpm \
    --tpm-version id:20191023 --tpm2 --configfile "$d/localca.conf" \
    --optsfile /etc/swtpm-localca.options >/dev/null 2>"$W/err" || fail "swtpm_localca"
  openssl x509 -in "$d/ca/issuercert.pem" -outform der -out "$W/$n-int.der" 2>"$W/err" || fail "openssl"
  nv_put 0x01c0000a "$W/$n-ecccert/ek.cert"
  nv_put 0x01c00100 "$W/$n-int.der"
  printf -v "ID_$n" '%s' "$(ek_id "$W/$n-pre.json")"
}
# the EK roots the server trusts: the swtpm CA's root (the issuer comes
# from the TPM's NV chain)
ek_roots() {
  mkdir -p "$W/roots"
  cp "$W/tpm/ca/swtpm-localca-rootca-cert.pem" "$W/roots/"
}

# A second swtpm (machine B) on its own ports, state in $W/tpmb; `on_b
# provision_tpm b` gives it an EK certificate from machine A's CA.  on_b CMD...: runs CMD against it.
start_swtpm_b() {
  local d=$W/tpmb
  mkdir -p "$d/state"
  swtpm_setup --tpm2 --tpmstate "$d/state" --pcr-banks sha1,sha256 --overwrite >"$d/setup.log" 2>&1 || { cat "$d/setup.log" >&2; fail "swtpm_setup B failed"; }
  PORT_B=$(free_port)
  [ -n "$PORT_B" ] || fail "no free port"
  swtpm socket --tpm2 --tpmstate dir="$d/state" \
    --server type=tcp,port=$PORT_B,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((PORT_B + 1)),bindaddr=127.0.0.1 \
    --flags not-need-init,startup-clear --daemon --pid file="$d/pid" || fail "swtpm B did not start"
  PIDS+=("$(cat "$d/pid")")
  TCTI_B="swtpm:host=127.0.0.1,port=$PORT_B"
}
on_b() { TPMATTEST_TCTI=$TCTI_B TPM2TOOLS_TCTI=$TCTI_B "$@"; }

# swtpm_stop / swtpm_start_again: a reboot of machine A's TPM (its PCRs are
# reset; the state directory may be replaced in between: a snapshot)
swtpm_stop() {
  local pid i
  pid=$(cat "$W/swtpm.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null
  for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  ! kill -0 "$pid" 2>/dev/null || fail "swtpm $pid did not stop"
  rm -f "$W/swtpm.pid"
}
swtpm_start_again() {
  swtpm socket --tpm2 --tpmstate dir="$W/tpm/state" \
    --server type=tcp,port=$SWTPM_PORT,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((SWTPM_PORT + 1)),bindaddr=127.0.0.1 \
    --flags not-need-init,startup-clear --daemon --pid file="$W/swtpm.pid" || fail "swtpm did not restart"
}

# ---- the server ----
# start_server [ARGS...]: tpmattest serve on 127.0.0.1 port 0, --db
# $DB (store_init: $W/verifier.db or a PostgreSQL, kept across restarts), TLS from make_certs, admins from
# the admin CA, EK roots $EK_ROOTS (default $W/roots); ARGS are added.  Waits at most 10 s for
# the port file and /healthz.  Sets SRV_PID, PORT, URL, SRV_LOG (one log
# file per start).
# PostgreSQL has no file for the default result key: every server on it is
# given the same one
SRV_RESULT_KEY=()
store_is_pg && SRV_RESULT_KEY=(--result-key "$W/result-key.pem")
start_server() {
  local i
  SRV_N=$((SRV_N + 1))
  SRV_LOG=$W/serve.$SRV_N.log
  rm -f "$W/port"
  "$T" serve --listen 127.0.0.1:0 --port-file "$W/port" --db "$DB" \
    --tls-cert "$W/pki/server.pem" --tls-key "$W/pki/server.key" --admin-ca "$W/pki/admin-ca.pem" \
    --ek-roots "${EK_ROOTS:-$W/roots}" "${SRV_RESULT_KEY[@]}" "$@" 2>"$SRV_LOG" &
  SRV_PID=$!
  PIDS+=("$SRV_PID")
  for i in $(seq 100); do
    [ -s "$W/port" ] && break
    kill -0 "$SRV_PID" 2>/dev/null || { wait "$SRV_PID"; fail "tpmattest serve exited ($?) before listening: $(head -c 1000 "$SRV_LOG")"; }
    sleep 0.1
  done
  [ -s "$W/port" ] || fail "no port file within 10 s: $(head -c 1000 "$SRV_LOG")"
  PORT=$(cat "$W/port")
  URL=https://127.0.0.1:$PORT
  for i in $(seq 50); do
    [ "$(srv GET /healthz 2>/dev/null)" = 200 ] && break
    sleep 0.2
  done
  [ "$(srv GET /healthz)" = 200 ] || fail "/healthz does not answer 200 within 10 s: $(head -c 1000 "$SRV_LOG")"
  grep -q '^tpmattest serve: listening on ' "$SRV_LOG" || fail "no 'listening on' line: $(head -c 600 "$SRV_LOG")"
}
# stop_server: SIGTERM; it must exit 0 within 10 s
stop_server() {
  local i rc
  kill -TERM "$SRV_PID" 2>/dev/null
  for i in $(seq 100); do kill -0 "$SRV_PID" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$SRV_PID" 2>/dev/null && { kill -9 "$SRV_PID"; fail "tpmattest serve did not stop within 10 s of SIGTERM"; }
  wait "$SRV_PID"; rc=$?
  SRV_PID=
  [ "$rc" = 0 ] || fail "tpmattest serve exited $rc after SIGTERM, not 0"
}
kill9_server() {
  kill -9 "$SRV_PID" 2>/dev/null
  wait "$SRV_PID" 2>/dev/null
  SRV_PID=
}

# srv [--cert F --key F] [--header K:V] [--data-file F | --data S] METHOD PATH:
# one HTTPS request to the server (python3 http.client, server verified
# against the server CA); prints the status, the body goes to $W/body
srv() { python3 "$SHERE/srv.py" req --url "$URL" --ca "$CA" --out "$W/body" "$@"; }
# areq OUT [ARGS...]: tpmattest enroll request with the server's counter
# key (GET /v1/counter-key), as tpmattest enroll --server makes it
areq() {
  local o=$1 got; shift
  got=$(srv GET /v1/counter-key) || fail "counter-key: $got"
  [ "$got" = 200 ] || fail "GET /v1/counter-key: HTTP $got: $(head -c 300 "$W/body")"
  cp "$W/body" "$W/counter-key.json"
  run 0 "$T" enroll request --counter-key "$W/counter-key.json" --out "$o" "$@"
}
# xquote MACHINE OUT [XQUOTE-OPTIONS] [-- QUOTE-ARGS]: evidence from this
# TPM's verifier-authorized counter as the attester makes it (tpmattest
# quote --exchange: nonceTPM -> nonce request -> nonce and authorization);
# prints the nonce (--nonce N: over N instead, the authorization still
# asked for); exits with the quote's status
xquote() {
  local m=$1 o=$2; shift 2
  python3 "$SHERE/srv.py" xquote --url "$URL" --ca "$CA" --machine "$m" --tpa "$T" --out "$o" "$@"
}
# expect STATUS ERROR METHOD PATH [ARGS...]: the answer's status, and its
# "error" member (- for none: a 2xx answer)
expect() {
  local want=$1 err=$2 got e; shift 2
  local what="$*"
  what=${what:0:160}
  got=$(srv "$@") || fail "srv $what: $got"
  [ "$got" = "$want" ] || fail "$what: want HTTP $want, got $got: $(head -c 400 "$W/body")"
  if [ "$err" != - ]; then
    e=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error"))' "$W/body" 2>/dev/null)
    [ "$e" = "$err" ] || fail "$what: want error '$err', got '$e': $(head -c 400 "$W/body")"
  fi
}
# soft_expect: as expect, but a mismatch is noted (a discrepancy with
# docs/api.md that does not stop the test) and reported by finish
soft_expect() {
  local want=$1 err=$2 got e what; shift 2
  what="$*"
  what=${what:0:160}
  got=$(srv "$@") || fail "srv $what: $got"
  e=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error"))' "$W/body" 2>/dev/null)
  if [ "$got" != "$want" ] || { [ "$err" != - ] && [ "$e" != "$err" ]; }; then
    echo "DISCREPANCY: $what: want HTTP $want $err, got $got $e: $(head -c 300 "$W/body" | tr "\n" " ")" | tee -a "$W/discrepancies" >&2
  fi
}
# finish: pass, unless a discrepancy was noted
finish() {
  [ -s "$W/discrepancies" ] && fail "$(wc -l <"$W/discrepancies") answer(s) not as docs/api.md says:
$(cat "$W/discrepancies")"
  pass
}
# batch FILE: the requests of FILE (srv.py batch) with the credentials of
# make_certs (none, admin, other) and any in BATCH_CREDS
BATCH_CREDS=()
batch() {
  python3 "$SHERE/srv.py" batch --url "$URL" --ca "$CA" --file "$1" \
    --cred "admin=$W/pki/admin.pem,$W/pki/admin.key" --cred "other=$W/pki/other.pem,$W/pki/other.key" \
    "${BATCH_CREDS[@]}" >"$W/batch.out" 2>&1 || fail "$(cat "$W/batch.out")"
  tail -1 "$W/batch.out"
}
# nonce ID: a fresh nonce for machine ID (printed)
nonce() {
  local got
  got=$(srv POST "/v1/machines/$1/nonce") || fail "nonce: $got"
  [ "$got" = 200 ] || fail "nonce for $1: HTTP $got: $(head -c 300 "$W/body")"
  json "$W/body" 'd["nonce"]'
}

# ---- the client commands ----
attest() { "$T" attest --server "$URL" --ca "$CA" "$@"; }
enroll() { "$T" enroll --server "$URL" --ca "$CA" "$@"; }
machines() { local sub=$1; shift; "$T" machines "$sub" "$@" --server "$URL" --ca "$CA" "${ADMIN[@]}"; }
# verdict FILE: "verdict failed_check" of an attest --json answer
verdict_of() { json "$1" 'd["verdict"] + " " + str(d.get("failed_check"))'; }
# all_pass FILE: every check of the verdict passed
all_pass() {
  python3 - "$1" <<'PY' || fail "not every check passed: $(head -c 1500 "$1")"
import json, sys
d = json.load(open(sys.argv[1]))
bad = [(c["name"], c["status"]) for c in d["checks"] if c["status"] != "pass"]
sys.exit(0 if d["verdict"] == "pass" and d["verified"] is True and d["checks"] and not bad else 1)
PY
}
# log_clean: every line of every server log starts with "tpmattest serve:"
log_clean() {
  local f
  for f in "$W"/serve.*.log; do
    if grep -nav '^tpmattest serve: ' "$f" >"$W/badlines"; then
      fail "$f has lines that are not the server's: $(head -c 600 "$W/badlines" | cat -v)"
    fi
  done
}
elapsed() { echo $(( $(date +%s) - T0 )); }

# need_example_log: LOG is the bundled GCE boot log, or the test skips.
need_example_log() {
  LOG=$EXAMPLES/cos-101-amd-sev.bin
  [ -f "$LOG" ] || skip "$LOG is missing"
}

# machine_a: the swtpm, the TLS certificates, the EK roots and machine a
# provisioned (AK, counter, P-256 EK certificate): what every test starts from.
machine_a() {
  start_swtpm
  make_certs
  ek_roots
  provision_tpm a
}
