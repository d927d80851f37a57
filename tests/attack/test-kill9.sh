#!/usr/bin/env bash
# kill -9 under load, 6 times at random moments while attestations are in
# flight, restarting each time: every verdict answered before the kill is in
# the history afterwards, the stored counter is the highest answered PASS's
# or later, no nonce answered is usable again, and the machine still attests.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start --quiet; enroll a
for round in 1 2 3 4 5 6; do
  python3 - <<'PY' >"$W/round.json" || fail "round $round: before the kill"
import json, threading
from atk import *
A = machine_id("a")
evs = [quote("a", nonce(A)) for _ in range(4)]
json.dump({"evs": evs}, open(f"{W}/evs.json", "w"))
PY
  # send the four in a row in the background; kill -9 somewhere in between
  python3 - <<'PY' &
import json, time
from atk import *
A = machine_id("a")
evs = json.load(open(f"{W}/evs.json"))["evs"]
out = []
for e in evs:
    try:
        r = attest(A, e)
        out.append({"status": r.status, "verdict": r.get("verdict"), "seq": r.get("seq"),
                    "counter": e["counter"]["value"], "nonce": e["nonce"]})
    except Exception as x:
        out.append({"status": None, "nonce": e["nonce"], "counter": e["counter"]["value"]})
    json.dump(out, open(f"{W}/answers.json", "w"))
PY
  sender=$!
  # after the first answer, a random 0..40 ms: mid-way through the rest
  for _ in $(seq 100); do [ -s "$W/answers.json" ] && break; sleep 0.02; done
  sleep "0.0$(( RANDOM % 5 ))"
  kill -9 "$SRV_PID"; wait "$SRV_PID" 2>/dev/null; SRV_PID=
  wait "$sender"
  serve_start --quiet
  python3 - <<'PY' || fail "round $round: after kill -9 and restart"
from atk import *
A = machine_id("a")
answers = json.load(open(f"{W}/answers.json")) if os.path.exists(f"{W}/answers.json") else []
seqs = {h["seq"]: h["verdict"] for h in history(A, "?limit=1000")}
state = show(A)["state"]
for a in answers:
    if a["status"] == 200:
        check(seqs.get(a["seq"]) == a["verdict"], f"answered {a}, history has {seqs.get(a['seq'])}")
        if a["verdict"] == "pass":
            check(state["counter"]["value"] >= a["counter"], f"answered PASS at counter {a['counter']}, stored {state['counter']}")
        r = attest(A, quote("a", a["nonce"]))
        check(r.status == 403 and r.get("error") == "nonce", f"a nonce answered before the kill: {r}")
print("answered before the kill:", sum(1 for a in answers if a["status"] == 200), "of 4", file=sys.stderr)
r = fresh_attest("a")
check(r.status == 200 and r.get("verdict") == "pass", f"after restart: {r}")
PY
  rm -f "$W/answers.json"
done
pass
