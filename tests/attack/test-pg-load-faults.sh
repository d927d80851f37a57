#!/usr/bin/env bash
# Two servers on one PostgreSQL under the load of a fleet (issue 11):
# attest-load-gen drives 20 emulated machines from 8 clients, each client
# sending its requests to both servers in turn (the nonce to one, the
# evidence to the other).
#  1. kill -9 of one server 3 s into a 9 s run: the other keeps serving
#     (PASS answered after the kill), and no state is lost: every verdict
#     answered is in the history, no counter went back, every PASS evidence
#     sent again is refused for its nonce.
#  2. PostgreSQL itself killed (-9) 3 s into a 12 s run on both servers and
#     started again 2 s later: while it is down no PASS is answered (503
#     store), after it is back the servers reconnect and PASS again, and the
#     same checks of the record hold.  Then a short run: no error, no FAIL.
# Skipped without PostgreSQL (Debian's postgresql) or the generator.
# Usage: test-pg-load-faults.sh TPMATTEST ATTEST_LOAD_GEN
export TPA_TEST_STORE=postgresql
. "$(dirname "$0")/load-lib.sh" "$@"

now() { date +%s.%N; }
serve_start 0; serve_start 1
gen 9 --record "$W/rec1.jsonl" >"$W/gen1.out" 2>"$W/gen1.err" &
GEN_PID=$!
sleep 3
kill -0 "$GEN_PID" 2>/dev/null || fail "the generator ended early: $(tail -3 "$W/gen1.err")"
serve_kill 1
T_KILL=$(now)
wait "$GEN_PID"; rc=$?; GEN_PID=
[ "$rc" = 0 ] || fail "run 1: the generator exited $rc: $(tail -5 "$W/gen1.err")"
export T_KILL PORT_0
python3 - <<'PY' || fail "run 1: one of two servers killed -9"
from atk import *
t_kill = float(os.environ["T_KILL"])
lines = check_load_record(f"{W}/rec1.jsonl", 20, ports=[int(os.environ["PORT_0"])], min_pass=50)
after = [l for l in lines if l["at"] > t_kill + 0.5 and l["status"] == 200 and l["verdict"] == "pass"]
check(len(after) >= 20, f"only {len(after)} PASS answered after the kill: the other server stopped serving")
print(f"run 1: {len(lines)} answers, {len(after)} PASS after the kill", file=sys.stderr)
PY

serve_start 1
gen 12 --record "$W/rec2.jsonl" >"$W/gen2.out" 2>"$W/gen2.err" &
GEN_PID=$!
sleep 3
"$HERE/../pg/pg.sh" kill "$STORE_PG_DIR"
T_DOWN=$(now)
sleep 2
T_UP=$(now)
"$HERE/../pg/pg.sh" restart "$STORE_PG_DIR" >/dev/null || fail "PostgreSQL did not start again"
wait "$GEN_PID"; rc=$?; GEN_PID=
[ "$rc" = 0 ] || fail "run 2: the generator exited $rc: $(tail -5 "$W/gen2.err")"
for k in 0 1; do kill -0 "${SRV[$k]}" 2>/dev/null || fail "server $k died with the database"; done
export T_DOWN T_UP PORT_1
python3 - <<'PY' || fail "run 2: PostgreSQL killed and started again under load"
from atk import *
t_down, t_up = float(os.environ["T_DOWN"]), float(os.environ["T_UP"])
ports = [int(os.environ["PORT_0"]), int(os.environ["PORT_1"])]
lines = check_load_record(f"{W}/rec2.jsonl", 20, ports=ports, min_pass=50)
during = [l for l in lines if t_down + 0.5 < l["at"] < t_up and l["status"] == 200]
check(not during, f"{len(during)} verdicts answered while PostgreSQL was down: {during[:2]}")
# the nonce requests fail first (503 store: the machine cannot be read), and
# the generator records attestations only: it counts those as errors
summary = open(f"{W}/gen2.out").read()
errors = int(summary.split(" errors=")[1].split()[0])
check(errors > 0, f"no error while PostgreSQL was down: {summary}")
refused = [l for l in lines if l["status"] == 503]
check(all(l["error"] == "store" for l in lines if l["status"] == 503),
      f"a 503 that is not 'store': {[l for l in lines if l['status'] == 503 and l['error'] != 'store'][:2]}")
back = [l for l in lines if l["at"] > t_up and l["status"] == 200 and l["verdict"] == "pass"]
check(len(back) >= 20, f"only {len(back)} PASS after PostgreSQL came back")
print(f"run 2: {len(lines)} answers, {errors} errors ({len(refused)} attestations 503) during "
      f"the outage, {len(back)} PASS after",
      file=sys.stderr)
PY

gen 3 >"$W/gen3.out" 2>"$W/gen3.err" || fail "run 3: $(tail -5 "$W/gen3.err")"
grep -Eq '^attest-load: machines=20 .* fail=0 errors=0$' "$W/gen3.out" || fail "run 3: $(cat "$W/gen3.out")"
echo "PASS"
