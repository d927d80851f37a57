#!/usr/bin/env bash
# Adversarial (issue 11, PostgreSQL): faults inside an attestation's commit,
# made through psql on the servers' database.  Defended: every answer is
# 200 with a verdict the history holds (its seq) or 503 store with nothing
# recorded; never a hang, never a PASS that is not stored.
#  a. the machine's row locked past the statement timeout (5 s): 503 in
#     bounded time, nothing recorded; PASS once the lock goes
#  b. COMMIT itself fails (a deferred trigger raising at commit): 503
#  c. the committer's connection terminated during COMMIT (a deferred
#     trigger sleeping at commit): 503, nothing recorded; service resumes
#  d. COMMIT committed locally, its answer lost (synchronous replication to
#     a standby that does not exist, connection terminated while it waits):
#     503 or PASS, and a PASS answered is in the history
export TPA_TEST_STORE=postgresql
TPA=$1; . "$(dirname "$0")/lib.sh"
command -v psql >/dev/null || skip "psql is not installed"
tpm_new a; tls_setup
serve_start --workers 2; PA=$PORT; PIDS+=("$SRV_PID"); SRV_PID=
serve_start --workers 2; PB=$PORT
export PA PB
timeout 240 python3 - <<'PY' || fail "faults inside an attestation's commit"
import os, select, subprocess, threading, time
from atk import *
PA, PB = int(os.environ["PA"]), int(os.environ["PB"])

with at(PA):
    A, _ = enroll("a")
S = Sql()
def rows():
    with at(PB):
        return {e["seq"]: e["verdict"] for e in history(A, "?limit=1000")}
def answered_ok(r, before, what):
    """200 PASS stored, or 503 store with nothing new recorded."""
    after = rows()
    if r.status == 200:
        check(r.get("verdict") == "pass" and after.get(r.get("seq")) == "pass",
              f"{what}: answered {r}, the history holds {after.get(r.get('seq'))} at that seq")
    else:
        check(r.status == 503 and r.get("error") == "store", f"{what}: {r}")
    return after
def wait_backend(cond, what, deadline=10):
    end = time.time() + deadline
    while time.time() < end:
        p = S.run("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND "
                  f"pid <> pg_backend_pid() AND {cond} LIMIT 1")
        if p:
            return p
        time.sleep(0.05)
    fail(f"no server backend {what} within {deadline} s")

# a. the machine's row locked beyond the statement timeout
with at(PA):
    ev = quote("a", nonce(A))
before = rows()
S.run("BEGIN"); S.run(f"SELECT 1 FROM machines WHERE id = '{A}' FOR UPDATE")
t0 = time.time()
def att():
    with at(PB):
        return req("POST", f"/v1/machines/{A}/attest", ev, timeout=40)
t, o = bg(att)
t.join(25)
held = time.time() - t0
S.run("COMMIT")
t.join(20)
check("r" in o, f"a: the attestation got no answer while the row was locked: {o}")
check(held < 25, f"a: answered only after {held:.1f} s")
r = o["r"]
check(r.status == 503 and r.get("error") == "store", f"a: the row locked for {held:.1f} s: {r}")
check(rows() == before, f"a: a 503 left history rows: {set(rows()) - set(before)}")
with at(PB):
    r = fresh_attest("a")
check(r.status == 200 and r.get("verdict") == "pass", f"a: once the lock went: {r}")
print(f"a. row lock: 503 after {held:.1f} s", file=sys.stderr)

# b. COMMIT fails: a deferred trigger on verdicts raising at commit
S.run("CREATE FUNCTION adv_boom() RETURNS trigger LANGUAGE plpgsql AS "
      "$$BEGIN RAISE EXCEPTION 'adv: commit refused'; END$$")
S.run("CREATE CONSTRAINT TRIGGER adv_boom AFTER INSERT ON verdicts DEFERRABLE INITIALLY DEFERRED "
      "FOR EACH ROW EXECUTE FUNCTION adv_boom()")
before = rows()
with at(PA):
    r = fresh_attest("a")
check(r.status == 503 and r.get("error") == "store", f"b: COMMIT refused: {r}")
check(rows() == before, "b: a refused COMMIT left history rows")
S.run("DROP TRIGGER adv_boom ON verdicts")

# c. the committer's connection terminated while COMMIT runs
S.run("CREATE FUNCTION adv_nap() RETURNS trigger LANGUAGE plpgsql AS "
      "$$BEGIN PERFORM pg_sleep(4); RETURN NULL; END$$")
S.run("CREATE CONSTRAINT TRIGGER adv_nap AFTER INSERT ON verdicts DEFERRABLE INITIALLY DEFERRED "
      "FOR EACH ROW EXECUTE FUNCTION adv_nap()")
for p, name in ((PA, "A"), (PB, "B")):
    before = rows()
    with at(p):
        ev = quote("a", nonce(A))
    def one(p=p, ev=ev):
        with at(p):
            return attest(A, ev)
    t, o = bg(one)
    pid = wait_backend("query = 'COMMIT' AND state = 'active'", "in COMMIT")
    check(S.run(f"SELECT pg_terminate_backend({pid})") == "t", "c: terminate")
    t.join(30)
    check("r" in o, f"c at {name}: no answer: {o}")
    answered_ok(o["r"], before, f"c: COMMIT's connection terminated at {name}")
    check(o["r"].status == 503, f"c at {name}: the transaction was cut off, yet: {o['r']}")
    check(rows() == before, f"c at {name}: rows left by a cut-off COMMIT")
S.run("DROP TRIGGER adv_nap ON verdicts")
for p in (PA, PB):
    with at(p):
        r = fresh_attest("a")
    check(r.status == 200 and r.get("verdict") == "pass", f"c: after the terminations: {r}")

# d. committed locally, the answer lost (and, once, only the wait cancelled)
S.run("ALTER SYSTEM SET synchronous_standby_names = 'adv_nobody'"); S.run("SELECT pg_reload_conf()")
time.sleep(0.5)
try:
    for how in ("pg_terminate_backend", "pg_cancel_backend"):
        before = rows()
        with at(PA):
            ev = quote("a", nonce(A))
        def one(ev=ev):
            with at(PA):
                return attest(A, ev)
        t, o = bg(one)
        pid = wait_backend("wait_event = 'SyncRep'", "waiting for a standby")
        S.run(f"SELECT {how}({pid})")
        t.join(30)
        check("r" in o, f"d {how}: no answer: {o}")
        after = answered_ok(o["r"], before, f"d: {how} while COMMIT waited for a standby")
        print(f"d. {how}: {o['r'].status} {o['r'].get('verdict')}; history rows new: "
              f"{sorted(set(after) - set(before))}", file=sys.stderr)
finally:
    S.run("ALTER SYSTEM RESET synchronous_standby_names"); S.run("SELECT pg_reload_conf()")
time.sleep(0.5)
for p in (PA, PB):
    with at(p):
        r = fresh_attest("a")
    check(r.status == 200 and r.get("verdict") == "pass", f"at the end: {r}")
PY
pass
