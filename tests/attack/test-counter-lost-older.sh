#!/usr/bin/env bash
# Two things issue 12 promises besides the rollback itself, on one server:
# a lost attestation does not lock a machine out (the attester got its nonce
# and the server's authorization, incremented the counter and died before
# sending: the next attestation passes, the lost evidence found later is
# refused), and a machine enrolled with the older counter keeps attesting,
# each verdict naming its weaker rollback check, while the server refuses
# new ones of that kind unless started with --legacy-counters.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tpm_new b; tls_setup
# ---- a: the verifier-authorized counter, through the CLI ----
SERVE_COUNTERS= serve_start
use_tpm a
"$TPA" enroll --server "$URL" --ca "$W/tls/ca.pem" --id-file "$W/tpm-a/id" >/dev/null 2>"$W/err" || fail "enroll a: $(cat "$W/err")"
att() { "$TPA" attest --server "$URL" --ca "$W/tls/ca.pem" --id-file "$W/tpm-a/id" --eventlog "$LOG" --json >"$W/att.out" 2>"$W/att.err"; }
att || fail "a's first attestation: $(cat "$W/att.err")"
python3 - <<'PY' || fail "the lost attestation"
import json, os, subprocess
from atk import *
mid = machine_id("a")
before = show(mid)["state"]["counter"]["value"]
# the attester's exchange, then it dies: the evidence is never sent
ev = f"{W}/lost.json"
q = subprocess.Popen([TPA, "quote", "--exchange", "--out", ev, "--eventlog", LOG], env=tpm_env("a"),
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
nt = json.loads(q.stdout.readline())["nonce_tpm"]
r = req("POST", f"/v1/machines/{mid}/nonce", {"nonce_tpm": nt})
check(r.status == 200 and r.json["counter_authorization"] is not None, f"nonce: {r}")
au = r.json["counter_authorization"]
check(au["low"] == au["high"] == before and au["machine_id"] == mid, f"the authorization: {au}")
q.stdin.write((json.dumps({"nonce": r.json["nonce"], "counter_authorization": au}) + "\n").encode())
q.stdin.close()
out = json.loads(q.stdout.read().decode().strip().splitlines()[-1])
check(q.wait(120) == 0 and out["incremented"] is True and out["counter"] == before + 1, f"the lost quote: {out}")
lost_nonce = r.json["nonce"]
# the machine attests again: the TPM refuses the new authorization (its
# counter is past the last accepted value), the quote certifies the counter
# as the lost attestation left it, and that is accepted
p = subprocess.run([TPA, "attest", "--server", os.environ["URL"], "--ca", f"{W}/tls/ca.pem", "--id-file",
                    f"{W}/tpm-a/id", "--eventlog", LOG, "--json"], env=tpm_env("a"),
                   capture_output=True, timeout=120)
v = json.loads(p.stdout)
check(p.returncode == 0 and v["verdict"] == "pass", f"after the lost attestation: {v} {p.stderr[-400:]}")
c = [x for x in v["checks"] if x["name"] == "counter"][0]
check(f"NV counter {before + 1} > last accepted {before}, within the 2 increments" in c["reason"], c)
# the lost evidence, found later: its nonce is good, its counter is not new
r = attest(mid, json.load(open(ev)))
st = {x["name"]: x["status"] for x in r.json["checks"]}
check(r.status == 200 and r.json["verdict"] == "fail" and st["counter"] == "fail"
      and st["nonce"] == "pass" and r.json["recorded"] is True, f"the lost evidence later: {r}")
PY
serve_stop
# ---- b: the older counter, enrolled through the API (enroll request without
# the key), refused by the default server, accepted with --legacy-counters ----
SERVE_COUNTERS= serve_start
python3 - <<'PY' || fail "the older counter refused"
from atk import *
import json
r = req("POST", "/v1/enroll", {"name": None, "request": json.load(open(f"{W}/tpm-b/req.json"))})
check(r.status == 403 and r.json["check"] == "counter" and "older counter" in r.json["reason"], f"{r}")
PY
serve_stop
serve_start
enroll b
python3 - <<'PY' || fail "the older counter, reported"
from atk import *
mid = machine_id("b")
check("authorized_by_policy" not in show(mid)["enrollment"]["counter"], "b's record")
for i in range(2):
    r = fresh_attest("b")
    check(r.status == 200 and r.json["verdict"] == "pass", f"b attestation {i}: {r}")
    c = [x for x in r.json["checks"] if x["name"] == "counter"][0]
    check(c["status"] == "pass" and "the older counter: anyone on the machine may increment it" in c["reason"], c)
# it asks for authorizations: none given, none counted
n = req("POST", f"/v1/machines/{mid}/nonce", {"nonce_tpm": "ab" * 16})
check(n.status == 200 and n.json["counter_authorization"] is None and n.json["counter"] == {"authorized": False}, f"{n}")
check(show(mid)["counter_auths"] == 0, "counted")
PY
pass
