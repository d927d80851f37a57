#!/usr/bin/env bash
# The disk under the store fills up under the load of a fleet:
# attest-load-gen (bench/attest_load.c) drives 20 emulated machines from 8
# client threads for 8 s, recording every answer, with the database on a
# 64 MiB tmpfs that is filled but for 12 KiB 2.5 s in.  Every attestation
# answered is a verdict or 503 store (at least one 503: the disk did fill),
# and the server stays up.  The space freed, the generator runs again with
# no error and no FAIL.  Then kill -9 and a restart: every verdict answered
# is in its machine's history with that verdict (never a PASS the store
# does not hold), and no stored counter is below the highest answered PASS.
# Needs mount (skipped without).
# Usage: test-load-disk-full.sh TPMATTEST ATTEST_LOAD_GEN
. "$(dirname "$0")/load-lib.sh" "$@"
store_is_pg && skip "the disk under a SQLite store (PostgreSQL's disk is its own)"

mkdir "$W/disk"
mount -t tmpfs -o size=64m,mode=0700 tmpfs "$W/disk" 2>/dev/null || skip "cannot mount a tmpfs"
LOAD_UMOUNT=$W/disk
DB=$W/disk/verifier.db

serve_start
gen 8 --record "$W/rec.jsonl" >"$W/gen.out" 2>"$W/gen.err" &
GEN_PID=$!
sleep 2.5
kill -0 "$GEN_PID" 2>/dev/null || fail "the generator ended before the disk filled: $(tail -3 "$W/gen.err")"
free=$(df -B1 --output=avail "$W/disk" | tail -1)
dd if=/dev/zero of="$W/disk/filler" bs=4096 count=$(( (free - 12288) / 4096 )) 2>/dev/null
for _ in $(seq 300); do kill -0 "$GEN_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$GEN_PID" 2>/dev/null && fail "the generator did not end within 30 s of its 8"
wait "$GEN_PID"; rc=$?; GEN_PID=
[ "$rc" = 0 ] || fail "the generator exited $rc: $(tail -5 "$W/gen.err")"
grep -q '^attest-load: machines=20 clients=8 mode=hash ' "$W/gen.out" || fail "no summary line: $(cat "$W/gen.out")"
kill -0 "${SRV[0]}" 2>/dev/null || fail "the server died when the disk filled"

python3 - <<'PY' || fail "while the disk was full"
import json
from atk import *
lines = [json.loads(l) for l in open(f"{W}/rec.jsonl")]
odd = [l for l in lines if not (l["status"] == 200 and l["verdict"] in ("pass", "fail")) and
       not (l["status"] == 503 and l["error"] == "store")]
check(not odd, f"{len(odd)} answers neither a verdict nor 503 store: " +
      "; ".join(f"{l['status']} {l['error']}" for l in odd[:5]))
full = sum(1 for l in lines if l["status"] == 503)
check(full >= 1, f"no 503 store among {len(lines)} answers: the disk did not fill")
print(f"recorded {len(lines)} answers, {full} of them 503 store", file=sys.stderr)
PY

# the space back: the same server attests every machine again
rm -f "$W/disk/filler"
gen 2 >"$W/gen2.out" 2>"$W/gen2.err" || fail "after freeing the space: $(tail -5 "$W/gen2.err")"
grep -Eq '^attest-load: machines=20 .* fail=0 errors=0$' "$W/gen2.out" || fail "after freeing the space: $(cat "$W/gen2.out") $(head -5 "$W/gen2.err")"

serve_kill 0
serve_start
python3 - <<'PY' || fail "after kill -9 and restart"
from atk import *
check_load_record(f"{W}/rec.jsonl", 20, min_pass=50)
PY
echo "PASS"
