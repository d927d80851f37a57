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
. "$(dirname "$0")/load-lib.sh" "$@"

serve_start
gen 12 --record "$W/rec.jsonl" >"$W/gen.out" 2>"$W/gen.err" &
GEN_PID=$!
# three kills, each 1.5-3.5 s after the previous restart: the first lands
# after enrollment (20 machines take well under a second)
for k in 1 2 3; do
  sleep "$(( 1 + RANDOM % 2 )).$(( RANDOM % 10 ))"
  kill -0 "$GEN_PID" 2>/dev/null || fail "the generator ended before kill $k: $(tail -3 "$W/gen.err")"
  serve_kill 0
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
