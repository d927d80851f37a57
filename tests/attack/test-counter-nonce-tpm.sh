#!/usr/bin/env bash
# Issue 12: the nonce request's {"nonce_tpm": HEX} (docs/rollback.md step
# 2), as an attacker sends it: malformed bodies are refused with 400
# "malformed" and count no authorization; null / no member gives a nonce
# and no authorization; 16 and 64 bytes are the bounds; an unknown machine
# is 404.  Then a race: nonce requests with nonceTPMs from 6 threads, for as long as
# an attestation takes (at least 24, at most 240): every authorization is counted exactly
# once (the machine's counter_auths afterwards is the count issued minus
# the one the attestation used), and every authorization has the exact
# bounds low == high == the last accepted counter at its time: L before
# the attestation's commit, L + 1 after it, never back to L once a thread
# has seen L + 1.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new b; tls_setup
SERVE_COUNTERS= serve_start
use_tpm b
"$TPA" enroll --server "$URL" --ca "$W/tls/ca.pem" --id-file "$W/tpm-b/id" >"$W/enroll.out" 2>&1 ||
  { cat "$W/enroll.out" >&2; fail "enroll --server"; }
"$TPA" attest --server "$URL" --ca "$W/tls/ca.pem" --id-file "$W/tpm-b/id" --eventlog "$LOG" --json >"$W/v1" 2>"$W/v1.err" ||
  fail "first attestation: $(cat "$W/v1" "$W/v1.err")"
python3 - <<'PY' || fail "nonce_tpm bodies"
import json, os, subprocess, threading
from atk import *
b = machine_id("b")
def auths():
    return show(b)["counter_auths"]
L = show(b)["state"]["counter"]["value"]
n0 = auths()
BAD_HEX = "nonce_tpm: not 16..64 bytes in lowercase hex"
bad = [
    ({"nonce_tpm": "AB" * 32}, BAD_HEX),            # uppercase
    ({"nonce_tpm": "ab" * 15}, BAD_HEX),            # 15 bytes
    ({"nonce_tpm": "ab" * 65}, BAD_HEX),            # 65 bytes
    ({"nonce_tpm": "a" * 33}, BAD_HEX),             # odd
    ({"nonce_tpm": "zz" * 32}, BAD_HEX),            # not hex
    ({"nonce_tpm": "ab" * 31 + "a\u0000"}, "in a string"),  # a NUL inside (the JSON reader refuses it)
    ({"nonce_tpm": " " + "ab" * 31 + "a"}, BAD_HEX),
    ({"nonce_tpm": 12345678901234567890}, BAD_HEX),
    ({"nonce_tpm": ["ab" * 32]}, BAD_HEX),
    ({"nonce_tpm": {"x": "ab" * 32}}, BAD_HEX),
    ({"nonce_tpm": True}, BAD_HEX),
    ({"nonce_tpm": "ab" * 32, "first": True}, 'nonce request body: unknown member (only "nonce_tpm")'),
    ({"low": 0, "high": 99}, 'nonce request body: unknown member (only "nonce_tpm")'),
    (["ab" * 32], "nonce request body: not a JSON object"),
    ("\"" + "ab" * 32 + "\"", "nonce request body: not a JSON object"),
]
for body, msg in bad:
    r = req("POST", f"/v1/machines/{b}/nonce", body)
    check(r.status == 400 and r.get("error") == "malformed" and msg in (r.get("reason") or r.get("message") or r.raw.decode()),
          f"body {str(body)[:80]}: {r}")
for raw_body in (b'{"nonce_tpm":', b'{"nonce_tpm":"' + b"ab" * 32 + b'"}{}', b"\xff\xfe"):
    r = req("POST", f"/v1/machines/{b}/nonce", raw_body)
    check(r.status == 400 and r.get("error") == "malformed", f"raw body {raw_body[:40]!r}: {r}")
check(auths() == n0, f"malformed bodies counted authorizations: {n0} -> {auths()}")
print("  %d malformed bodies: 400 malformed, none counted" % (len(bad) + 3))
for body in ({"nonce_tpm": None}, {}):
    r = req("POST", f"/v1/machines/{b}/nonce", body)
    check(r.status == 200 and r.json["counter_authorization"] is None and r.json["counter"]["authorized"] is True,
          f"body {body}: {r}")
r = req("POST", f"/v1/machines/{b}/nonce")
check(r.status == 200 and r.json["counter_authorization"] is None, f"no body: {r}")
check(auths() == n0, f"requests without a nonceTPM counted authorizations: {n0} -> {auths()}")
for n in (16, 64):
    r = req("POST", f"/v1/machines/{b}/nonce", {"nonce_tpm": "cd" * n})
    au = r.json and r.json["counter_authorization"]
    check(r.status == 200 and au and au["nonce_tpm"] == "cd" * n and au["first"] is False and au["low"] == au["high"] == L,
          f"{n} bytes: {r}")
check(auths() == n0 + 2, f"two authorizations: {n0} -> {auths()}")
r = req("POST", "/v1/machines/" + "0" * 64 + "/nonce", {"nonce_tpm": "ab" * 32})
check(r.status == 404, f"unknown machine: {r}")
r = req("POST", "/v1/machines/" + "0" * 63 + "/nonce", {"nonce_tpm": "ab" * 32})
check(r.status in (400, 404), f"malformed machine id: {r}")
print("  null / {} / no body: no authorization; 16 and 64 bytes: one each; unknown machine 404")

# the race
n1 = auths()
got, errs = [], []
lock = threading.Lock()
done = threading.Event()
seen = [[] for k in range(6)]  # each thread's authorizations' low, in order
def asker(k):
    for i in range(40):  # until the attestation is done, at most 40 each
        if i >= 4 and done.is_set():
            break
        r = req("POST", f"/v1/machines/{b}/nonce", {"nonce_tpm": os.urandom(32).hex()})
        with lock:
            (got.append(r.json["counter_authorization"]) if r.status == 200 else errs.append(repr(r)))
            if r.status == 200:
                seen[k].append(r.json["counter_authorization"]["low"])
att = {}
def attester():
    p = subprocess.run([TPA, "attest", "--server", os.environ["URL"], "--ca", f"{W}/tls/ca.pem",
                        "--id-file", f"{W}/tpm-b/id", "--eventlog", LOG, "--json"],
                       env=tpm_env("b"), capture_output=True, timeout=120)
    att["rc"], att["out"], att["err"] = p.returncode, p.stdout, p.stderr
    done.set()
ts = [threading.Thread(target=asker, args=(k,)) for k in range(6)] + [threading.Thread(target=attester)]
for t in ts: t.start()
for t in ts: t.join(180)
check(not errs, f"nonce requests refused in the race: {errs[:3]}")
N = len(got)
check(N >= 24, f"{N} authorizations")
check(att.get("rc") == 0, f"the attestation in the race: {att}")
v = json.loads(att["out"])
check(v["verdict"] == "pass", f"the attestation in the race: {v}")
s = show(b)
L2 = s["state"]["counter"]["value"]
check(L2 == L + 1, f"accepted counter {L2}, want {L + 1}")
# issued: N + the attestation's own; used: 1
check(s["counter_auths"] == n1 + N + 1 - 1, f"counter_auths {s['counter_auths']}, want {n1 + N}")
# exact bounds: the last accepted counter at its time, L before the
# commit, L2 after it, and in each thread never L again after L2
check(all(a["low"] == a["high"] for a in got), f"authorizations with low != high: {[(a['low'], a['high']) for a in got if a['low'] != a['high']]}")
check(all(a["low"] in (L, L2) for a in got), f"an authorization for another value: {sorted(set(a['low'] for a in got))}")
for k, ls in enumerate(seen):
    check(ls == sorted(ls), f"thread {k}: an authorization for {L} after one for {L2}: {ls}")
r = req("POST", f"/v1/machines/{b}/nonce", {"nonce_tpm": os.urandom(32).hex()})
au = r.json and r.json["counter_authorization"]
check(r.status == 200 and au and au["low"] == au["high"] == L2, f"after the race: not [{L2}, {L2}]: {r}")
print(f"  race: {N} issued around the commit ({sum(a['low'] == L for a in got)} before it), counted exactly, each [{L}, {L}] or [{L2}, {L2}]; counter_auths {s['counter_auths']}")
PY
pass
