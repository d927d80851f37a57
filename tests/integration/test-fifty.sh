#!/usr/bin/env bash
# 50 quotes in a row on one swtpm without a resource manager: nothing leaks.
. "$(dirname "$0")/lib.sh"
start_swtpm
first=
for i in $(seq 50); do
  run 0 "$TPA" quote --nonce "$(openssl rand -hex 32)" --eventlog none --out "$W/ev.json"
  [ -n "$first" ] || first=$(json "$W/ev.json" 'd["counter"]["value"]')
done
last=$(json "$W/ev.json" 'd["counter"]["value"]')
[ "$last" = $((first + 49)) ] || fail "counter went from $first to $last in 50 quotes"
assert_no_leaks
# provisioning with both EKs (transient primaries and a policy session) leaks nothing either
for i in 1 2 3; do run 0 "$TPA" init --json; done
run 0 "$TPA" init --ak-handle 0x81000400 --nv-index 0x01000400 --ak-alg rsa
assert_no_leaks
pass
