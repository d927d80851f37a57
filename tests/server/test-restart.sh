#!/usr/bin/env bash
# The verifier's crash (THREATS "verifier restart or crash"): kill -9 of the
# server between attestations and during them, then a restart on the same
# --db: the enrollment is there, a pending enrollment challenge can still be
# answered, the consumed nonces are still refused (the accepted evidence
# replayed: 403 nonce), the nonce issued and not used before the crash is
# still good once, the stored counter is the last accepted one, and the
# machine attests PASS again.
# $1: tpmattest.
. "$(dirname "$0")/lib.sh"
need_example_log

machine_a
run 0 "$T" eventlog extend "$LOG"
start_server
run 0 enroll --name "machine a" --id-file "$W/id"
A=$(cat "$W/id")
[ "$A" = "$ID_a" ] && [ "$(cat "$W/out")" = "$A" ] || fail "enroll prints '$(cat "$W/out")', the id file holds $A, the EK's SHA-256 is $ID_a"
run 0 attest --machine "$A" --eventlog "$LOG" --evidence-out "$W/ev1.json" --json
run 0 attest --machine "$A" --eventlog "$LOG" --evidence-out "$W/ev2.json" --json
cp "$W/out" "$W/v2.json"
CTR2=$(json "$W/ev2.json" 'd["counter"]["value"]')
# a nonce issued, not used
NU=$(nonce "$A")
# machine B: its enrollment request answered with a challenge, not activated
start_swtpm_b
on_b provision_tpm b
on_b areq "$W/reqB.json"
python3 -c 'import json,sys; print(json.dumps({"name": "machine b", "request": json.load(open(sys.argv[1]))}))' "$W/reqB.json" >"$W/enrB.json"
expect 200 - --data-file "$W/enrB.json" POST /v1/enroll
[ "$(json "$W/body" 'd["machine_id"]')" = "$ID_b" ] || fail "B's challenge: $(head -c 300 "$W/body")"
python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["challenge"], open(sys.argv[2], "w"))' "$W/body" "$W/chB.json"

# ---- kill -9 between attestations ----
kill9_server
start_server
echo "ok: restarted after kill -9"
run 0 machines show "$A" --json
python3 - "$W/out" "$A" "$CTR2" "$W/v2.json" <<'PY' || fail "the machine after the crash: $(head -c 1000 "$W/out")"
import json, sys
m = json.load(open(sys.argv[1])); v2 = json.load(open(sys.argv[4]))
assert m["machine_id"] == sys.argv[2] and m["name"] == "machine a", m
assert m["last_verdict"] == "pass" and m["last_seq"] == v2["seq"], (m["last_verdict"], m["last_seq"], v2["seq"])
assert m["counter"] == int(sys.argv[3]), ("stored counter", m["counter"], "last accepted", sys.argv[3])
PY
# the consumed nonces are still consumed
for e in ev1 ev2; do
  run 1 attest --machine "$A" --evidence "$W/$e.json"
  grep -q "refused the evidence: nonce: .*(HTTP 403)" "$W/err" || fail "$e replayed after the crash: $(cat "$W/err")"
  expect 403 nonce --data-file "$W/$e.json" POST "/v1/machines/$A/attest"
done
# the outstanding one is still good, once
xquote "$A" "$W/evu.json" --nonce "$NU" -- --eventlog "$LOG" >/dev/null || fail "xquote"
run 0 attest --machine "$A" --evidence "$W/evu.json" --json
[ "$(json "$W/out" 'd["verdict"]')" = pass ] || fail "the nonce issued before the crash: $(head -c 600 "$W/out")"
expect 403 nonce --data-file "$W/evu.json" POST "/v1/machines/$A/attest"
# B's pending challenge survived: answered now, B is enrolled
on_b run 0 "$T" enroll activate "$W/chB.json" --out "$W/respB.json"
expect 200 - --data-file "$W/respB.json" POST /v1/enroll/activate
[ "$(json "$W/body" 'd["machine_id"], d["name"]')" = "('$ID_b', 'machine b')" ] || fail "B's activation: $(cat "$W/body")"
on_b run 0 "$T" eventlog extend "$LOG"
on_b run 0 attest --machine "$ID_b" --eventlog "$LOG" --json
# A attests again
run 0 attest --machine "$A" --eventlog "$LOG" --json
all_pass "$W/out"
expect 200 - "${ADMIN[@]}" GET /metrics
grep -q '^tpmattest_machines_enrolled 2$' "$W/body" || fail "metrics: $(grep enrolled "$W/body")"
echo "ok: enrollments, a pending challenge, consumed and outstanding nonces, counters: all there after kill -9"

# ---- kill -9 during attestations ----
# 16 rounds in the background (nonce, quote, send); the server is killed
# after the third answer.  Then: every evidence answered PASS is refused
# when replayed, and the stored counter is at least each of theirs.
rounds() {
  local i n rc
  for i in $(seq 16); do
    n=$(srv POST "/v1/machines/$A/nonce")
    if [ "$n" = 200 ]; then
      n=$(json "$W/body" 'd["nonce"]')
      xquote "$A" "$W/r$i.json" --nonce "$n" -- --eventlog "$LOG" >/dev/null 2>&1 || { echo "$i quote-failed" >>"$RF"; continue; }
      attest --machine "$A" --evidence "$W/r$i.json" --json --timeout 5 >"$W/r$i.out" 2>/dev/null
      rc=$?
      echo "$i $rc" >>"$RF"
    else
      echo "$i no-nonce" >>"$RF"
      sleep 0.1
    fi
  done
}
RF=$W/rounds
: >"$RF"
# (its own $W for srv's answers)
( W=$W/bg; mkdir -p "$W"; rounds ) &
BG=$!
PIDS+=("$BG")
for _ in $(seq 300); do [ "$(grep -c ' 0$' "$W/rounds")" -ge 3 ] && break; sleep 0.02; done
sleep "0.$((RANDOM % 10))" # somewhere in the fourth round: nonce, quote or verdict
kill9_server
echo "  killed the server after $(grep -c . "$W/rounds") rounds"
for _ in $(seq 600); do kill -0 $BG 2>/dev/null || break; sleep 0.1; done
kill -0 $BG 2>/dev/null && fail "the background rounds did not end"
wait $BG
start_server
run 0 machines show "$A" --json
cp "$W/out" "$W/show-after.json"
python3 - "$W/rounds" "$W/bg" "$W/show-after.json" <<'PY' || fail "after the kill under load"
import json, os, sys
rounds = [l.split() for l in open(sys.argv[1]) if l.strip()]
bg, show = sys.argv[2], json.load(open(sys.argv[3]))
passed = [int(i) for i, rc in rounds if rc == "0"]
assert len(passed) >= 3, rounds
ctrs = [json.load(open("%s/r%d.json" % (bg, i)))["counter"]["value"] for i in passed]
assert show["counter"] >= max(ctrs), ("stored counter %s older than an accepted %s" % (show["counter"], max(ctrs)))
print("ok: %d rounds answered PASS before the kill, counters up to %d; stored %d" % (len(passed), max(ctrs), show["counter"]))
open(sys.argv[2] + "/passed", "w").write(" ".join(map(str, passed)))
PY
for i in $(cat "$W/bg/passed"); do
  expect 403 nonce --data-file "$W/bg/r$i.json" POST "/v1/machines/$A/attest"
done
# those in flight when the server died: once more at most, never PASS
# unless their nonce was never consumed (then a second replay is refused)
for f in "$W"/bg/r*.json; do
  i=$(basename "$f" .json); i=${i#r}
  grep -q "^$i 0$" "$W/rounds" && continue
  got=$(srv --data-file "$f" POST "/v1/machines/$A/attest")
  case $got in
    403) ;;
    200) expect 403 nonce --data-file "$f" POST "/v1/machines/$A/attest" ;;
    *) fail "round $i replayed after the restart: HTTP $got: $(head -c 300 "$W/body")" ;;
  esac
done
run 0 attest --machine "$A" --eventlog "$LOG" --json
all_pass "$W/out"
# and keeps attesting: --interval 1 --count 3, three more verdicts
run 0 machines history "$A" --json
h0=$(json "$W/out" 'len(d["history"])')
run 0 attest --machine "$A" --eventlog "$LOG" --interval 1 --count 3
[ "$(grep -c '^VERIFIED$' "$W/out")" = 3 ] || fail "attest --interval 1 --count 3: $(grep -c VERIFIED "$W/out") verdicts: $(head -c 600 "$W/out")"
run 0 machines history "$A" --json
[ "$(json "$W/out" 'len(d["history"])')" = $((h0 + 3)) ] || fail "history after --count 3: $(json "$W/out" 'len(d["history"])'), want $((h0 + 3))"
[ "$(json "$W/out" '[e["verdict"] for e in d["history"][:3]]')" = "['pass', 'pass', 'pass']" ] || fail "the three verdicts"
log_clean
finish
