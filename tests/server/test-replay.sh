#!/usr/bin/env bash
# Nonces and enrollment against the real server (THREATS "replay of an old
# quote", "nonce table exhaustion", "enrollment hijack"): an evidence already
# accepted, sent again with `attest --evidence`, is refused (403 nonce, exit
# 1); two nonces outstanding at once are each good once; of five asked for,
# none is evicted (nonces are not stored: a MAC makes them recognisable); an
# expired one is refused; machine A's nonce in machine B's attestation is
# refused; B's quote sent as A's is not recorded and does not use up A's
# nonce; the same EK enrolling again is 409 already_enrolled, another
# machine taking A's name 409 name_taken, and both are possible again after
# an admin deletes A; nonces altered or made up (expiry moved, MAC bit
# flipped, random) are refused.
# $1: tpmattest.
. "$(dirname "$0")/lib.sh"
need_example_log

machine_a
run 0 "$T" eventlog extend "$LOG"
start_server --nonce-lifetime 6
run 0 enroll --name alpha --id-file "$W/idA"
A=$(cat "$W/idA")
[ "$A" = "$ID_a" ] || fail "machine id $A, not SHA-256 of the EK ($ID_a)"

# send_ev WANT_EXIT MACHINE FILE: attest --evidence FILE as MACHINE
send_ev() { run "$1" attest --machine "$2" --evidence "$3" --json; }
# refused_nonce MACHINE FILE: the evidence is refused: 403, error nonce, exit 1
refused_nonce() {
  run 1 attest --machine "$1" --evidence "$2"
  grep -q "refused the evidence: nonce: .*(HTTP 403)" "$W/err" || fail "$2 as $1: want 403 nonce: $(cat "$W/err")"
  expect 403 nonce POST "/v1/machines/$1/attest" --data-file "$2"
}
# quote_for NONCE OUT [on_b]: evidence over NONCE, with the log (the
# counter's increment authorized by a nonce request of its own machine)
quote_for() {
  local m=$A
  [ -n "${3:-}" ] && m=$B
  ${3:-} xquote "$m" "$2" --nonce "$1" -- --eventlog "$LOG" >/dev/null || fail "xquote for $2"
}
# verdict_is FILE VERDICT FAILED_CHECK RECORDED
verdict_is() {
  [ "$(json "$1" 'd["verdict"], d.get("failed_check"), d["recorded"]')" = "('$2', $3, $4)" ] ||
    fail "want verdict ($2, $3, recorded $4): $(head -c 1500 "$1")"
}

# ---- an accepted evidence, again ----
run 0 attest --machine "$A" --eventlog "$LOG" --evidence-out "$W/ev1.json" --json
verdict_is "$W/out" pass None True
refused_nonce "$A" "$W/ev1.json"
echo "ok: an accepted evidence sent again: 403 nonce"

# ---- two nonces outstanding: each good once ----
# quoted in order, sent in reverse: the second's evidence passes, then the
# first's is a fresh nonce with an older counter (a rollback: FAIL), and
# consumes that nonce
N1=$(nonce "$A"); N2=$(nonce "$A")
[ "$N1" != "$N2" ] || fail "the same nonce twice"
quote_for "$N1" "$W/n1.json"
quote_for "$N2" "$W/n2.json"
send_ev 0 "$A" "$W/n2.json"; verdict_is "$W/out" pass None True
send_ev 1 "$A" "$W/n1.json"
python3 - "$W/out" <<'PY' || fail "the first nonce's older evidence: want FAIL on clock and counter: $(head -c 1500 "$W/out")"
import json, sys
d = json.load(open(sys.argv[1]))
st = {c["name"]: c["status"] for c in d["checks"]}
assert d["verdict"] == "fail" and d["recorded"] is True and d["failed_check"] in ("clock", "counter"), d
assert st["clock"] == "fail" and st["counter"] == "fail" and st["nonce"] == "pass", st
PY
refused_nonce "$A" "$W/n1.json"
refused_nonce "$A" "$W/n2.json"
# used in reverse: both pass, once (each quoted just before it is sent: an
# authorization is good only while the counter is the last accepted value,
# so a second quote made before the first is sent would certify the same
# counter)
N3=$(nonce "$A"); N4=$(nonce "$A")
quote_for "$N4" "$W/n4.json"
send_ev 0 "$A" "$W/n4.json"; verdict_is "$W/out" pass None True
quote_for "$N3" "$W/n3.json"
send_ev 0 "$A" "$W/n3.json"; verdict_is "$W/out" pass None True
refused_nonce "$A" "$W/n3.json"
refused_nonce "$A" "$W/n4.json"
echo "ok: two nonces outstanding, each used once"

# ---- five outstanding at once: none evicted (an attacker asking for
# nonces cannot take the machine's away) ----
for i in 1 2 3 4 5; do printf -v "E$i" '%s' "$(nonce "$A")"; done
quote_for "$E1" "$W/e1.json"
send_ev 0 "$A" "$W/e1.json"; verdict_is "$W/out" pass None True
quote_for "$E5" "$W/e5.json"
send_ev 0 "$A" "$W/e5.json"; verdict_is "$W/out" pass None True
refused_nonce "$A" "$W/e1.json"
refused_nonce "$A" "$W/e5.json"
echo "ok: the first and the last of five nonces are both good, once"

# ---- an expired nonce (--nonce-lifetime 6) ----
NX=$(nonce "$A")
[ "$(json "$W/body" 'd["expires_at"] - d["expires_at"] // 1')" = 0 ] || fail "expires_at is not whole seconds: $(cat "$W/body")"
quote_for "$NX" "$W/nx.json"
sleep 7
refused_nonce "$A" "$W/nx.json"
echo "ok: an expired nonce: 403 nonce"

# ---- machine B ----
start_swtpm_b
on_b provision_tpm b
on_b run 0 "$T" eventlog extend "$LOG"
# A's name is taken
on_b run 1 enroll --name alpha
grep -q "name_taken.*(HTTP 409)" "$W/err" || fail "B enrolling as alpha: want 409 name_taken: $(cat "$W/err")"
expect 404 not_found POST "/v1/machines/$ID_b/nonce"
on_b run 0 enroll --name beta --id-file "$W/idB" --json
B=$(cat "$W/idB")
[ "$B" = "$ID_b" ] && [ "$B" != "$A" ] || fail "machine B's id $B (want $ID_b, not A's)"
[ "$(json "$W/out" 'd["name"]')" = beta ] || fail "B's name: $(cat "$W/out")"
on_b run 0 attest --machine "$B" --eventlog "$LOG" --json
verdict_is "$W/out" pass None True

# A's nonce in B's attestation: not issued to B
NA=$(nonce "$A")
quote_for "$NA" "$W/b-with-na.json" on_b
refused_nonce "$B" "$W/b-with-na.json"
# and B's quote over A's nonce sent as A's: not A's AK, not recorded
NA2=$(nonce "$A")
quote_for "$NA2" "$W/b-as-a.json" on_b
send_ev 1 "$A" "$W/b-as-a.json"
python3 - "$W/out" <<'PY' || fail "B's quote as A's: $(head -c 1500 "$W/out")"
import json, sys
d = json.load(open(sys.argv[1]))
st = {c["name"]: c["status"] for c in d["checks"]}
assert d["verdict"] == "fail" and d["recorded"] is False, (d["verdict"], d["recorded"])
assert st.get("signature") == "fail" or d["failed_check"] in ("ak", "signature"), (d["failed_check"], st)
PY
# an attempt the machine's AK did not sign writes nothing: sent again it is
# judged again, and A's own quote over that nonce still passes, once
send_ev 1 "$A" "$W/b-as-a.json"
[ "$(json "$W/out" 'd["verdict"], d["recorded"]')" = "('fail', False)" ] || fail "B's quote as A's, again: $(head -c 600 "$W/out")"
quote_for "$NA2" "$W/a-na2.json"
send_ev 0 "$A" "$W/a-na2.json"; verdict_is "$W/out" pass None True
refused_nonce "$A" "$W/a-na2.json"
refused_nonce "$A" "$W/b-as-a.json"
# nothing of B's went into A's state: A still passes, B too
run 0 attest --machine "$A" --eventlog "$LOG" --json; verdict_is "$W/out" pass None True
on_b run 0 attest --machine "$B" --eventlog "$LOG" --json; verdict_is "$W/out" pass None True
echo "ok: A's nonce refused for B; B's quote as A not recorded"

# ---- enrolling again ----
run 1 enroll --name alpha
grep -q "already_enrolled.*(HTTP 409)" "$W/err" || fail "A again: want 409 already_enrolled: $(cat "$W/err")"
run 1 enroll --name "another name"
grep -q "already_enrolled.*(HTTP 409)" "$W/err" || fail "A again, another name: want 409 already_enrolled: $(cat "$W/err")"
on_b run 1 enroll
grep -q "already_enrolled.*(HTTP 409)" "$W/err" || fail "B again: want 409 already_enrolled: $(cat "$W/err")"
# the raw request too: 409 and the error code, no challenge
areq "$W/reqA.json"
python3 -c 'import json,sys; print(json.dumps({"name": None, "request": json.load(open(sys.argv[1]))}))' "$W/reqA.json" >"$W/enrA.json"
expect 409 already_enrolled POST /v1/enroll --data-file "$W/enrA.json"
python3 -c 'import json,sys; print(json.dumps({"name": "alpha", "request": json.load(open(sys.argv[1]))}))' "$W/reqA.json" >"$W/enrA2.json"
expect 409 - POST /v1/enroll --data-file "$W/enrA2.json"
# after an admin deletes A: its name and its EK may enroll again (B may
# take the name; A then enrolls under another)
run 0 machines delete "$A"
expect 404 not_found POST "/v1/machines/$A/nonce"
on_b run 1 enroll --name alpha
grep -q "already_enrolled.*(HTTP 409)" "$W/err" || fail "B (enrolled) again after A's deletion: $(cat "$W/err")"
run 0 enroll --name alpha --id-file "$W/idA2"
[ "$(cat "$W/idA2")" = "$A" ] || fail "A re-enrolled under another id: $(cat "$W/idA2")"
run 0 attest --machine "$A" --eventlog "$LOG" --json; verdict_is "$W/out" pass None True
# the evidence accepted before the deletion is still refused
refused_nonce "$A" "$W/ev1.json"
refused_nonce "$A" "$W/n3.json"
echo "ok: re-enrollment refused (409), possible after delete"

# ---- nonces altered or made up: 403 nonce (the MAC covers the machine,
# the expiry and the random part) ----
NF=$(nonce "$A")
flip() { printf '%02x' $(( 0x$1 ^ 1 )); }
for forged in \
  "ffffffffffffffff${NF:16}" \
  "${NF:0:62}$(flip "${NF:62:2}")" \
  "${NF:0:20}$(flip "${NF:20:2}")${NF:22}" \
  "$(openssl rand -hex 32)"; do
  [ ${#forged} = 64 ] || fail "forged nonce $forged is not 32 bytes"
  quote_for "$forged" "$W/forged.json"
  refused_nonce "$A" "$W/forged.json"
done
# the genuine one is still good
quote_for "$NF" "$W/nf.json"
send_ev 0 "$A" "$W/nf.json"; verdict_is "$W/out" pass None True
# not for machines that do not exist
expect 404 not_found POST "/v1/machines/$(printf '%064d' 0)/nonce"
run 1 attest --machine "$(printf '%064d' 0)" --evidence "$W/ev1.json"
grep -q "not_found.*(HTTP 404)" "$W/err" || fail "evidence for no machine: $(cat "$W/err")"
echo "ok: altered and made-up nonces refused (403 nonce)"
log_clean
pass
