#!/usr/bin/env bash
# Two server processes on one store file (server/README.md: the store's
# conditional update keeps read-check-commit atomic across processes).
# Fresh evidences of one machine sent to both at once, 8 rounds: never two
# PASS that leave the counter behind one of them, no 503 from locking; the
# caches (parsed policies, held logs) of one process never outlive a change
# made through the other.  The store's files are 0600.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start; P1=$PORT; S1=$SRV_PID
SRV_PID=; serve_start; P2=$PORT; PIDS+=("$S1")
P1=$P1 P2=$P2 python3 - <<'PY' || fail "two servers"
import threading
import atk
from atk import *
P1, P2 = os.environ["P1"], os.environ["P2"]
def on(p, f, *a, **k):
    os.environ["PORT"] = p
    return f(*a, **k)
mid, _ = on(P1, enroll, "a")
r = on(P2, fresh_attest, "a"); check(r.get("verdict") == "pass", f"A via the second server: {r}")
def counter_of(ev):
    return ev["counter"]["value"]
for rnd in range(8):
    e1 = quote("a", on(P1, nonce, mid)); e2 = quote("a", on(P2, nonce, mid))
    out = {}
    def send(tag, p, e):
        out[tag] = req_on(p, e)
    def req_on(p, e):
        c = http.client.HTTPSConnection("127.0.0.1", int(p), context=ctx(), timeout=30)
        c.request("POST", f"/v1/machines/{mid}/attest", json.dumps(e), {"Content-Type": "application/json"})
        x = c.getresponse(); b = x.read(); c.close()
        return Resp(x.status, b, {})
    ts = [threading.Thread(target=send, args=("1", P1, e1)), threading.Thread(target=send, args=("2", P2, e2))]
    [t.start() for t in ts]; [t.join(60) for t in ts]
    st = {k: (v.status, v.get("verdict"), v.get("error"), v.get("failed_check")) for k, v in out.items()}
    check(all(v[0] in (200, 409) for v in st.values()), f"round {rnd}: {st}")
    check(all(v[2] == "conflict" for v in st.values() if v[0] == 409), f"round {rnd}: {st}")
    passed = [k for k, v in st.items() if v[1] == "pass"]
    check(passed, f"round {rnd}: neither passed: {st}")
    state = on(P1, show, mid)["state"]
    best = max(counter_of(e1 if k == "1" else e2) for k in passed)
    check(state["counter"]["value"] == best, f"round {rnd}: stored counter {state['counter']}, passes {passed} up to {best}: {st}")
# policy replaced through the other process
golden = None
strict = json.dumps({"version": 2, "pcrs": {"sha256": [0]}, "pcr_values": {"sha256": {"0": ["00" * 32]}}})
on(P1, admin, "PUT", "/v1/policies/p", strict)
on(P1, admin, "PUT", f"/v1/machines/{mid}/policy", {"policy": "p"})
r = on(P1, fresh_attest, "a"); check(r.get("verdict") == "fail", f"strict policy: {r}")
ev = quote("a", "00" * 32)
on(P1, admin, "PUT", f"/v1/machines/{mid}/policy", {"policy": None})
# held log changed through the other process: L2 = L1 + an EV_NO_ACTION
logb = open(LOG, "rb").read()
r = on(P1, fresh_attest, "a"); check(r.get("verdict") == "pass", f"{r}")
n = on(P1, nonce, mid)
ev = quote("a", n); ev["eventlog"] = None
r = on(P1, attest, mid, ev, headers={"Tpmattest-Eventlog-Sha256": sha256hex(logb)})
check(r.get("verdict") == "pass", f"hash only on the first server (its cache filled): {r}")
l2 = append_events(logb, [(0, 3, b"extra no-action")])
ev = quote("a", on(P2, nonce, mid)); ev["eventlog"] = b64(l2)
r = on(P2, attest, mid, ev)
if r.get("verdict") == "pass":
    ev = quote("a", on(P1, nonce, mid)); ev["eventlog"] = None
    r = on(P1, attest, mid, ev, headers={"Tpmattest-Eventlog-Sha256": sha256hex(logb)})
    check(r.status == 409 and r.get("error") == "eventlog_unknown",
          f"the first server used its cached log after the second replaced it: {r}")
    ev = quote("a", on(P1, nonce, mid)); ev["eventlog"] = None
    r = on(P1, attest, mid, ev, headers={"Tpmattest-Eventlog-Sha256": sha256hex(l2)})
    check(r.get("verdict") == "pass", f"the new held log on the first server: {r}")
else:
    print("note: a log with an extra EV_NO_ACTION was not accepted:", r.get("failed_check"), r.get("reason"))
PY
for f in "$W/verifier.db" "$W/verifier.db-wal" "$W/verifier.db-shm"; do
  [ -e "$f" ] && [ "$(stat -c %a "$f")" != 600 ] && fail "$f is mode $(stat -c %a "$f")"
done
pass
