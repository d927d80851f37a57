# Sourced by scripts/demo.sh and bench/bench-verify.sh (tests keep their own
# harness in tests/integration/lib.sh): starts swtpm with an EK certificate
# from a throwaway local CA, SHA-1 and SHA-256 banks, on a free loopback port
# pair, state in DIR; exports the TCTI variables.  The caller kills
# $(cat DIR/pid) when done.
swtpm_start() {
  local d=$1 p
  mkdir -p "$d/state" "$d/ca"
  printf 'statedir = %s\nsigningkey = %s\nissuercert = %s\ncertserial = %s\n' \
    "$d/ca" "$d/ca/key.pem" "$d/ca/cert.pem" "$d/ca/serial" >"$d/lc.conf"
  printf 'create_certs_tool = /usr/bin/swtpm_localca\ncreate_certs_tool_config = %s\ncreate_certs_tool_options = /etc/swtpm-localca.options\n' \
    "$d/lc.conf" >"$d/setup.conf"
  swtpm_setup --tpm2 --tpmstate "$d/state" --create-ek-cert --pcr-banks sha1,sha256 \
    --config "$d/setup.conf" --overwrite >"$d/setup.log" 2>&1 || { cat "$d/setup.log" >&2; return 1; }
  # swtpm takes port P for commands and P+1 for control: both must be free
  p=$(python3 -c 'import socket,random
for _ in range(200):
    p=random.randrange(20000,60000,2); ok=True
    for q in (p,p+1):
        s=socket.socket()
        try: s.bind(("127.0.0.1",q))
        except OSError: ok=False
        s.close()
    if ok: print(p); break')
  swtpm socket --tpm2 --tpmstate dir="$d/state" --server type=tcp,port=$p,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((p + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear \
    --daemon --pid file="$d/pid" || return 1
  export TPMATTEST_TCTI=swtpm:host=127.0.0.1,port=$p TPM2TOOLS_TCTI=swtpm:host=127.0.0.1,port=$p
  SWTPM_PORT=$p
}

# swtpm_restart DIR: stops the swtpm of DIR and starts it again on the same
# ports with what DIR/state holds (a reboot, or a restored snapshot when the
# caller replaced DIR/state in between: see swtpm_stop).
swtpm_stop() {
  local d=$1 i pid
  [ -f "$d/pid" ] || return 0
  pid=$(cat "$d/pid")
  kill "$pid" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
}
swtpm_restart() {
  local d=$1 p=$SWTPM_PORT
  swtpm_stop "$d"
  swtpm socket --tpm2 --tpmstate dir="$d/state" --server type=tcp,port=$p,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((p + 1)),bindaddr=127.0.0.1 --flags not-need-init,startup-clear \
    --daemon --pid file="$d/pid"
}
