#!/usr/bin/env bash
# Races and replays: one evidence sent on 20 connections at once (exactly
# one verdict recorded, the others 403 nonce when the winner was committed
# before they were read, 409 conflict when they lost the commit); two challenges of one EK
# activated at once (one enrollment, the other 409); two machines' challenges
# for one name activated at once (one 200, one 409 name_taken); a secret
# sent under another pending challenge's id (403 secret, that challenge
# spent); an activation replayed
# (404); one name wanted by two machines (409 name_taken); an enrolled EK
# enrolling again (409); deletion only by an admin, and what it forgets.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tpm_new b; tpm_new c; tls_setup; serve_start
python3 - <<'PY' || fail "races"
import threading
from atk import *

def parallel(n, payloads):
    """Sends payloads[i] (method, path, body bytes) on n pre-opened TLS
    connections at once; returns the statuses and JSON answers."""
    socks = [tls_socket() for _ in range(n)]
    out = [None] * n
    go = threading.Barrier(n)
    def run(i):
        m, p, b = payloads[i]
        data = (f"{m} {p} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(b)}\r\nConnection: close\r\n\r\n").encode() + b
        go.wait()
        socks[i].sendall(data)
        a = read_answer(socks[i], 60)
        out[i] = (a[0], json.loads(a[2])) if a else (None, None)
        socks[i].close()
    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    [t.start() for t in ts]; [t.join(90) for t in ts]
    return out

# two challenges for one EK, both activated at once
d = f"{W}/tpm-a"
reqdoc = json.load(open(f"{d}/req.json"))
resps = []
for i in range(2):
    r = req("POST", "/v1/enroll", {"name": "same", "request": reqdoc}); check(r.status == 200, f"enroll {i}: {r}")
    json.dump(r.json["challenge"], open(f"{d}/ch{i}.json", "w"))
    p = subprocess.run([TPA, "enroll", "activate", f"{d}/ch{i}.json", "--out", f"{d}/resp{i}.json"],
                       env=tpm_env("a"), capture_output=True, timeout=120)
    check(p.returncode == 0, p.stderr.decode())
    resps.append(open(f"{d}/resp{i}.json", "rb").read())
out = parallel(2, [("POST", "/v1/enroll/activate", resps[i]) for i in range(2)])
st = sorted(o[0] for o in out)
check(st == [200, 409], f"two activations of one EK at once: {out}")
check([o[1]["error"] for o in out if o[0] == 409] == ["already_enrolled"], f"{out}")
A = [o[1]["machine_id"] for o in out if o[0] == 200][0]
open(f"{d}/id", "w").write(A)
# replayed activation
r = req("POST", "/v1/enroll/activate", resps[0])
check(r.status == 404 and r.get("error") == "not_found", f"replayed activation: {r}")
# enrolled EK again
r = req("POST", "/v1/enroll", {"name": None, "request": reqdoc})
check(r.status == 409 and r.get("error") == "already_enrolled", f"enrolled EK again: {r}")
# B and C both hold a challenge for one name; activated at once: one wins
def challenge(tpm, name):
    d = f"{W}/tpm-{tpm}"
    r = req("POST", "/v1/enroll", {"name": name, "request": json.load(open(f"{d}/req.json"))})
    check(r.status == 200, f"enroll {tpm}: {r}")
    json.dump(r.json["challenge"], open(f"{d}/chn.json", "w"))
    p = subprocess.run([TPA, "enroll", "activate", f"{d}/chn.json", "--out", f"{d}/respn.json"],
                       env=tpm_env(tpm), capture_output=True, timeout=120)
    check(p.returncode == 0, p.stderr.decode())
    return open(f"{d}/respn.json", "rb").read(), r.json["challenge"]["id"]
rb, idb = challenge("b", "wanted"); rc, idc = challenge("c", "wanted")
out = parallel(2, [("POST", "/v1/enroll/activate", rb), ("POST", "/v1/enroll/activate", rc)])
check(sorted(o[0] for o in out) == [200, 409] and [o[1]["error"] for o in out if o[0] == 409] == ["name_taken"],
      f"two machines, one name, at once: {out}")
won = [o[1]["machine_id"] for o in out if o[0] == 200][0]
check(admin("DELETE", f"/v1/machines/{won}").status == 200, "delete the winner")
# an activation carrying another pending challenge's id (C's secret, B's id)
rb, idb = challenge("b", None); rc, idc = challenge("c", None)
forged = json.loads(rc); forged["id"] = idb
r = req("POST", "/v1/enroll/activate", json.dumps(forged))
check(r.status == 403 and r.get("error") == "refused" and r.get("check") == "secret",
      f"C's secret under B's challenge id: {r}")
check(len(admin("GET", "/v1/machines").json["machines"]) == 1, "a machine enrolled by a wrong secret")
r = req("POST", "/v1/enroll/activate", rb)
check(r.status == 404, f"B's challenge after another's try (one try per challenge): {r}")
r = req("POST", "/v1/enroll/activate", rc)
check(r.status == 200, f"C's own activation: {r}")
# B wants A's name: at the challenge, refused
r = req("POST", "/v1/enroll", {"name": "same", "request": json.load(open(f"{W}/tpm-b/req.json"))})
check(r.status == 409 and r.get("error") == "name_taken", f"B with A's name: {r}")
# one evidence on 20 connections at once
ev = json.dumps(quote("a", nonce(A))).encode()
out = parallel(20, [("POST", f"/v1/machines/{A}/attest", ev)] * 20)
passes = [o for o in out if o[0] == 200]
others = [o for o in out if o[0] != 200]
check(len(passes) == 1 and passes[0][1]["verdict"] == "pass", f"20 at once: {len(passes)} answered 200: {[o[0] for o in out]}")
check(all((o[0], o[1]["error"]) in ((403, "nonce"), (409, "conflict")) for o in others),
      f"the others: {others[:2]}")
check(len(history(A)) == 1, f"history after the race: {len(history(A))} rows")
# 20 different fresh evidences of A, sent at once: each on its own nonce,
# all accepted in some order, counter strictly increasing in the history
evs = []
for _ in range(5):
    evs.append(json.dumps(quote("a", nonce(A))).encode())
out = parallel(4, [("POST", f"/v1/machines/{A}/attest", e) for e in evs[1:]])
# any order may FAIL on the counter (an older quote after a newer one) but
# never two PASS out of order
ok = [o for o in out if o[0] == 200 and o[1]["verdict"] == "pass"]
check(len(ok) >= 1, f"four fresh evidences at once: {[(o[0], o[1].get('failed_check')) for o in out]}")
# deletion: only an admin
for cert in (None, "other", "expired"):
    r = req("DELETE", f"/v1/machines/{A}", cert=cert)
    check(r.status in (401, 403), f"DELETE with {cert}: {r}")
check(show(A)["machine_id"] == A, "A gone after refused deletes")
stale = nonce(A)
r = admin("DELETE", f"/v1/machines/{A}"); check(r.status == 200, f"admin delete: {r}")
r = req("POST", f"/v1/machines/{A}/nonce"); check(r.status == 404, f"nonce after delete: {r}")
mid, _ = enroll("a", "same")
check(mid == A, "the id is the EK's")
r = attest(A, quote("a", stale))
check(r.status == 403 and r.get("error") == "nonce", f"a nonce from before the delete: {r}")
s = show(A)
check(s["state"] is None and s["last_verdict"] is None, f"state after re-enrollment: {s}")
PY
pass
