#!/usr/bin/env bash
# Table and query limits: nonces are not stored, so asking for many takes
# nothing from anyone (200 of one machine's: the first and the last both
# good); expired nonces (--nonce-lifetime 20) refused with 403 nonce; history limit/before edges; policy names with
# path characters; a policy PUT that is JSON but not a policy; an
# assignment of a policy that does not exist.
TPA=$1; . "$(dirname "$0")/lib.sh"
# long enough for 200 nonce requests and two quotes on a slow CI machine under
# AddressSanitizer (2 s was not); the expiry check comes last and sleeps
# only what the other sections have not taken
export LIFE=20
tpm_new a; tpm_new b; tls_setup; serve_start --nonce-lifetime $LIFE
enroll a; enroll b
python3 - <<'PY' || fail "limits"
import os, time
from atk import *
A, B = machine_id("a"), machine_id("b")
LIFE = int(os.environ["LIFE"])
na = [nonce(A) for _ in range(200)]
t_last = time.time()
nb = [nonce(B) for _ in range(2)]
check(len(set(na + nb)) == 202, "nonces repeat")
r = req("POST", f"/v1/machines/{'1' * 64}/nonce")
check(r.status == 404, f"nonce for an unknown machine: {r}")
r = attest(B, quote("b", nb[0]))
check(r.status == 200 and r.get("verdict") == "pass", f"B with a nonce it holds: {r}")
r = attest(A, quote("a", na[0]))
check(r.status == 200 and r.get("verdict") == "pass", f"A with the first of 200 nonces: {r}")
na.pop(0)
# history: limit and before
for i in range(3):
    check(fresh_attest("a").get("verdict") == "pass", "attest")
h = history(A)
check([x["seq"] for x in h] == sorted([x["seq"] for x in h], reverse=True) and len(h) == 4, f"history: {h}")
check(len(history(A, "?limit=1")) == 1 and history(A, "?limit=1")[0]["seq"] == h[0]["seq"], "limit=1")
check(len(history(A, "?limit=1000")) == 4, "limit=1000")
check([x["seq"] for x in history(A, f"?before={h[0]['seq']}")] == [x["seq"] for x in h[1:]], "before")
check(history(A, "?before=1") == [], "before=1")
check(len(history(A, f"?before={10**17}")) == 4, "before=10^17")
for q in ("?limit=0", "?limit=1001", "?limit=-1", "?limit=+1", "?limit=1e2", "?limit=", "?limit",
          "?before=-1", "?before=x", "?before=99999999999999999999", "?limit=1&x=2", "?x=1",
          "?limit=01%00", "?limit=1;before=2", "?&", "?limit=1&limit=2"[:0] + "?=1"):
    r = admin("GET", f"/v1/machines/{A}/history{q}")
    check(r.status == 400 and r.get("error") == "malformed", f"history{q}: {r}")
r = admin("GET", f"/v1/machines/{'2' * 64}/history")
check(r.status == 404, f"history of an unknown machine: {r}")
# policy names
policy = json.dumps({"version": 2, "pcrs": {"sha256": [0]}, "pcr_values": {"sha256": {"0": ["00" * 32]}}})
for name in ("..", ".", ".hidden", "a" * 65, "a%2fb", "a%00", "a%20b", "a\\b", "%c3%a9", "a:b", "a*b", "a~b"):
    r = admin("PUT", "/v1/policies/" + name, policy)
    check(r.status in (400, 404), f"PUT /v1/policies/{name}: {r}")
for path in ("/v1/policies/a/b", "/v1/policies/../machines", "/v1/policies//x"):
    r = admin("PUT", path, policy)
    check(r.status in (400, 404), f"PUT {path}: {r}")
check(admin("GET", "/v1/policies").json["policies"] == [], "no policy stored by the refused PUTs")
check(admin("PUT", "/v1/policies/" + "a" * 64, policy).status == 200, "64-character name")
check(admin("PUT", "/v1/policies/A-z_0.9", policy).status == 200, "name of every allowed class")
for doc in ('{}', '[]', '{"version":2}', '{"version":1,"pcrs":{"sha256":[0]}}', '{"version":2,"pcrs":{"sha256":[0]}}',
            '{"version":2,"pcrs":{"sha256":[0]},"pcr_values":{"sha256":{"0":["00"]}}}', 'null', '"x"',
            policy[:-1] + ',"extra":1}', policy[:-1] + ',"version":2}', policy + " x"):
    r = admin("PUT", "/v1/policies/p2", doc)
    check(r.status == 400 and r.get("error") == "malformed", f"PUT policy {doc[:50]}: {r}")
check(admin("GET", "/v1/policies/p2").status == 404, "a refused document stored")
for body in ({"policy": "nope"},):
    r = admin("PUT", f"/v1/machines/{A}/policy", body)
    check(r.status == 404, f"assign {body}: {r}")
for body in ({"policy": "../x"}, {"policy": 1}, {"policy": "a" * 65}, {}, {"policy": None, "x": 1}, [], "x"):
    r = admin("PUT", f"/v1/machines/{A}/policy", body)
    check(r.status == 400 and r.get("error") == "malformed", f"assign {body}: {r}")
r = admin("PUT", f"/v1/machines/{'3' * 64}/policy", {"policy": None})
check(r.status == 404, f"assign to an unknown machine: {r}")
# expiry: the last of the 200, never used ("expires" is the last good second)
time.sleep(max(0.0, t_last + LIFE + 1.5 - time.time()))
r = attest(A, quote("a", na[-1]))
check(r.status == 403 and r.get("error") == "nonce", f"an expired nonce: {r}")
check(req("POST", f"/v1/machines/{B}/nonce").status == 200, "a nonce once the others expired")
PY
pass
