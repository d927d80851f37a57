#!/usr/bin/env bash
# Adversarial (issue 11, two servers on PostgreSQL):
#  a. one nonce from A, its evidence sent 16 times at once, 8 to A and 8 to
#     B: exactly one 200 PASS, the rest 403 nonce or 409 conflict, and one
#     history row
#  b. the machine deleted and enrolled again at A while B's commit of an
#     attestation of the old enrollment waits (its nonce's row held
#     uncommitted by psql, so B's INSERT ... ON CONFLICT waits on it): B
#     must not record it for the new enrollment (409 conflict); then B,
#     whose caches hold the old enrollment, attests the new one: PASS
#  c. a challenge issued at A, the database restarted, activated at B: 200
# Defended outcomes as listed.
export TPA_TEST_STORE=postgresql
TPA=$1; . "$(dirname "$0")/lib.sh"
command -v psql >/dev/null || skip "psql is not installed"
tpm_new a; tls_setup
serve_start --workers 2; PA=$PORT; PIDS+=("$SRV_PID"); SRV_PID=
serve_start --workers 2; PB=$PORT
export PA PB STORE_PG_DIR STORE_PG_SH
timeout 240 python3 - <<'PY' || fail "replay / re-enrollment / restart across two servers"
import os, select, subprocess, threading, time
from atk import *
PA, PB = int(os.environ["PA"]), int(os.environ["PB"])

with at(PA):
    A, _ = enroll("a")
    r = fresh_attest("a")
check(r.status == 200 and r.get("verdict") == "pass", f"first: {r}")

# a. 16 copies at once over both servers
with at(PA):
    n = nonce(A)
ev = quote("a", n)
with at(PB):
    h0 = len(history(A, "?limit=1000"))
out = [None] * 16
def send(i):
    with at(PA if i % 2 else PB):
        out[i] = attest(A, ev)
ts = [threading.Thread(target=send, args=(i,)) for i in range(16)]
for t in ts: t.start()
for t in ts: t.join(60)
check(all(out), f"a: unanswered: {out}")
ok = [r for r in out if r.status == 200]
check(len(ok) == 1 and ok[0].get("verdict") == "pass", f"a: {len(ok)} answers 200 of 16: {ok}")
for r in out:
    check(r.status == 200 or (r.status, r.get("error")) in ((403, "nonce"), (409, "conflict")), f"a: {r}")
with at(PA):
    check(len(history(A, "?limit=1000")) == h0 + 1, "a: history rows for one nonce")

# b. delete + re-enroll at A while B's commit of the old enrollment waits
with at(PB):
    n = nonce(A)
    show(A)                                  # B's view and caches: enrollment 1
ev = quote("a", n)
S = Sql()
S.run("BEGIN")
S.run(f"INSERT INTO consumed_nonces (nonce, machine_id, expires) VALUES ('\\x{n}'::bytea, '{A}', 0)")
res = {}
def b_attest():
    with at(PB):
        res["r"] = attest(A, ev)
t = threading.Thread(target=b_attest); t.start()
end = time.time() + 8
while time.time() < end and S.run("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'") == "0":
    time.sleep(0.05)
check(S.run("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'") != "0",
      "b: B's commit is not waiting on the nonce")
with at(PA):
    check(admin("DELETE", f"/v1/machines/{A}").status in (200, 204), "b: delete at A")
    A2, _ = enroll("a")
check(A2 == A, "b: same EK, same id")
S.run("ROLLBACK")                            # B's INSERT of the nonce goes through now
t.join(30)
check("r" in res, "b: B gave no answer")
r = res["r"]
with at(PA):
    s = show(A); h = history(A, "?limit=1000")
check(not (r.status == 200 and r.get("verdict") == "pass"),
      f"b: an attestation of the deleted enrollment recorded at B after the re-enrollment: {r}; "
      f"the new enrollment's state: {s.get('state')}, last verdict {s.get('last_verdict')}")
check(r.status == 409 and r.get("error") == "conflict" or r.status == 503, f"b: {r}")
check(not s.get("last_verdict"), f"b: the new enrollment has a last verdict: {s}")
with at(PB):
    r = fresh_attest("a")
check(r.status == 200 and r.get("verdict") == "pass", f"b: the new enrollment at B: {r}")
S.close()

# c. a challenge at A, the database restarted, the activation at B
with at(PA):
    check(admin("DELETE", f"/v1/machines/{A}").status in (200, 204), "c: delete")
d = f"{W}/tpm-a"
with at(PA):
    r1 = req("POST", "/v1/enroll", {"name": "again", "request": json.load(open(f"{d}/req.json"))})
check(r1.status == 200, f"c: enroll at A: {r1}")
json.dump(r1.json["challenge"], open(f"{d}/ch.json", "w"))
p = subprocess.run([TPA, "enroll", "activate", f"{d}/ch.json", "--out", f"{d}/resp.json"],
                   env=tpm_env("a"), capture_output=True, timeout=60)
check(p.returncode == 0, p.stderr.decode())
subprocess.run([os.environ["STORE_PG_SH"], "kill", os.environ["STORE_PG_DIR"]], check=True, timeout=30)
subprocess.run([os.environ["STORE_PG_SH"], "restart", os.environ["STORE_PG_DIR"]], check=True,
               timeout=60, stdout=subprocess.DEVNULL)
body = open(f"{d}/resp.json", "rb").read()
for i in range(10):                          # a connection found dead: 503 once, then re-opened
    with at(PB):
        r2 = req("POST", "/v1/enroll/activate", body)
    if r2.status != 503:
        break
    time.sleep(0.5)
check(r2.status == 200, f"c: activation at B after the restart: {r2}")
# each of A's connections (2 workers, the committer) is found dead once: 503
for i in range(6):
    with at(PA):
        rn = req("POST", f"/v1/machines/{A}/nonce")
        r = attest(A, quote("a", rn.json["nonce"])) if rn.status == 200 else rn
    check(r.status in (200, 503), f"c: at A after the restart: {r}")
    if r.status == 200:
        break
check(r.status == 200 and r.get("verdict") == "pass", f"c: at A after the restart: {r}")
PY
pass
