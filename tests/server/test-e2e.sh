#!/usr/bin/env bash
# The verifier server end to end, with real parts (swtpm, a SQLite file,
# HTTPS on 127.0.0.1): enroll (the id is SHA-256 of the EK public), attest
# PASS with every check passing, PCR 4 extended behind the log's back: FAIL
# naming PCR 4 (default policy learnt with `tpmattest policy create` from the
# first evidence), a swtpm snapshot restored: FAIL naming the rollback; the
# admin's view (machines list/show/history) holds those verdicts; a second
# attestation with an unchanged log sends only the log's hash (seen through
# a TLS-terminating proxy the attester trusts).
# $1: tpmattest.
. "$(dirname "$0")/lib.sh"
need_example_log
LOGSHA=$(sha256sum "$LOG" | cut -d' ' -f1)

machine_a
run 0 "$T" eventlog extend "$LOG"
start_server

# ---- enroll ----
run 0 enroll --name "machine a" --id-file "$W/id" --json
ID=$(json "$W/out" 'd["machine_id"]')
[ "$ID" = "$ID_a" ] || fail "enroll: machine id $ID is not SHA-256 of the EK public ($ID_a)"
[ "$(cat "$W/id")" = "$ID" ] || fail "--id-file holds '$(cat "$W/id")', not $ID"
[ "$(json "$W/out" 'd["name"]')" = "machine a" ] || fail "enroll --json name: $(cat "$W/out")"

# ---- the first attestation, no policy yet ----
run 0 attest --id-file "$W/id" --eventlog "$LOG" --evidence-out "$W/ev1.json" --json
cp "$W/out" "$W/v1.json"
[ "$(json "$W/v1.json" 'd["verdict"], d["verified"], d["recorded"], d["machine_id"], d["name"]')" = "('pass', True, True, '$ID', 'machine a')" ] ||
  fail "first verdict: $(head -c 1500 "$W/v1.json")"
[ "$(json "$W/v1.json" 'd["policy"]["ruled"], "note" in d')" = "(False, True)" ] ||
  fail "a verdict without a policy must say that no policy ruled: $(head -c 1500 "$W/v1.json")"
[ -s "$W/ev1.json" ] || fail "--evidence-out wrote nothing"
[ "$(json "$W/ev1.json" 'd["eventlog"] is not None')" = True ] || fail "--evidence-out: the evidence has no event log"
seq1=$(json "$W/v1.json" 'd["seq"]')

# ---- the default policy, learnt from that evidence; a restart with it ----
run 0 "$T" policy create "$W/ev1.json" --out "$W/policy.json"
stop_server
start_server --policy "$W/policy.json"
# the proxy the attester goes through from now on: it sees what is sent
python3 "$SHERE/srv.py" proxy --port-file "$W/pport" --upstream "$PORT" --cert "$W/pki/server.pem" \
  --key "$W/pki/server.key" --ca "$CA" --logdir "$W/plog" 2>"$W/proxy.err" &
PIDS+=("$!")
for _ in $(seq 50); do [ -s "$W/pport" ] && break; sleep 0.1; done
[ -s "$W/pport" ] || fail "the proxy did not start: $(cat "$W/proxy.err")"
PURL=https://127.0.0.1:$(cat "$W/pport")
pattest() { "$T" attest --server "$PURL" --ca "$CA" --id-file "$W/id" --eventlog "$LOG" --json "$@"; }

# the server holds the log now: the nonce answer names its hash
expect 200 - POST "/v1/machines/$ID/nonce"
[ "$(json "$W/body" 'd["eventlog_sha256"]')" = "$LOGSHA" ] || fail "nonce: eventlog_sha256 is not the log's: $(cat "$W/body")"

# ---- attest PASS under the policy, the log sent as its hash only ----
run 0 pattest --evidence-out "$W/ev2.json"
cp "$W/out" "$W/v2.json"
all_pass "$W/v2.json"
[ "$(json "$W/v2.json" 'd["policy"]["ruled"], "failed_check" in d, d["error"]')" = "(True, False, None)" ] ||
  fail "verdict under the default policy: $(head -c 1500 "$W/v2.json")"
[ "$(json "$W/v2.json" 'd["seq"] > '"$seq1")" = True ] || fail "seq does not grow"
# what went to the server: the attest request had the hash header, and an
# evidence without the log (the nonce request came first)
python3 - "$W/plog" "$ID" "$LOGSHA" <<'PY' || fail "the log was sent again, or not as its hash"
import glob, json, sys
d, mid, sha = sys.argv[1:4]
reqs = []
for f in sorted(glob.glob(d + "/conn-*.txt")):
    b = open(f, "rb").read()
    head, _, body = b.partition(b"\r\n\r\n")
    if head.startswith(b"POST /v1/machines/%s/attest " % mid.encode()):
        reqs.append((head.decode("latin-1").lower(), body))
assert len(reqs) == 1, "want 1 attest request through the proxy, got %d" % len(reqs)
head, body = reqs[0]
assert ("\r\ntpmattest-eventlog-sha256: %s" % sha) in head, "no Tpmattest-Eventlog-Sha256 header: " + head
ev = json.loads(body)
assert ev["eventlog"] is None, "the evidence carried its log"
assert len(body) < 23050, "the body is %d bytes" % len(body)
print("ok: the second attestation sent only the log's hash (%d bytes)" % len(body))
PY
# and the server did not re-parse it: the verdict is the same as with the log
[ "$(json "$W/ev2.json" 'd["eventlog"] is not None')" = True ] || fail "--evidence-out must save the evidence with its log"

# ---- only a hash the server does not hold: 409 eventlog_unknown, the
# nonce not consumed (the full evidence then passes); hash and log both: 400
N=$(nonce "$ID")
xquote "$ID" "$W/evx.json" --nonce "$N" -- --eventlog "$LOG" >/dev/null || fail "xquote"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["eventlog"]=None; json.dump(d, open(sys.argv[2], "w"))' "$W/evx.json" "$W/evx-thin.json"
expect 409 eventlog_unknown --header "Tpmattest-Eventlog-Sha256: $(openssl rand -hex 32)" --data-file "$W/evx-thin.json" POST "/v1/machines/$ID/attest"
expect 400 malformed --header "Tpmattest-Eventlog-Sha256: $LOGSHA" --data-file "$W/evx.json" POST "/v1/machines/$ID/attest"
expect 400 malformed --header "Tpmattest-Eventlog-Sha256: ${LOGSHA^^}" --data-file "$W/evx-thin.json" POST "/v1/machines/$ID/attest"
expect 200 - --data-file "$W/evx.json" POST "/v1/machines/$ID/attest"
cp "$W/body" "$W/vx.json"
all_pass "$W/vx.json"
expect 403 nonce --header "Tpmattest-Eventlog-Sha256: $LOGSHA" --data-file "$W/evx-thin.json" POST "/v1/machines/$ID/attest"
echo "ok: an unknown log hash: 409 eventlog_unknown, the nonce kept; hash and log: 400"

# ---- PCR 4 extended behind the log's back: FAIL naming PCR 4 ----
tpm2_pcrextend "4:sha256=$(openssl rand -hex 32)" 2>"$W/err" || fail "tpm2_pcrextend"
run 1 pattest
cp "$W/out" "$W/v3.json"
[ "$(json "$W/v3.json" 'd["verdict"], d["verified"], d["recorded"]')" = "('fail', False, True)" ] ||
  fail "PCR 4 verdict: $(head -c 1500 "$W/v3.json")"
fc=$(json "$W/v3.json" 'd["failed_check"]')
python3 - "$W/v3.json" <<'PY' || fail "the FAIL verdict does not name PCR 4: $(head -c 2000 "$W/v3.json")"
import json, re, sys
d = json.load(open(sys.argv[1]))
first = [c for c in d["checks"] if c["status"] in ("fail", "not_run")][0]
assert first["name"] == d["failed_check"], (first, d["failed_check"])
assert re.search(r"\bPCR 4\b", d["reason"]), d["reason"]
assert re.search(r"\bPCR 4\b", first["reason"]), first["reason"]
PY
echo "ok: PCR 4 extended: FAIL ($fc): $(json "$W/v3.json" 'd["reason"]')"
# the text form names it too
run 1 attest --id-file "$W/id" --eventlog "$LOG"
grep -q "^NOT VERIFIED: $fc: .*PCR 4" "$W/out" || fail "attest (text): $(head -5 "$W/out")"

# ---- rollback: snapshot after an attestation, two more, restore ----
swtpm_stop
cp -a "$W/tpm/state" "$W/snapshot"
swtpm_start_again
run 0 "$T" eventlog extend "$LOG"
run 0 pattest; cp "$W/out" "$W/v4.json"; all_pass "$W/v4.json"
run 0 pattest --evidence-out "$W/ev5.json"; cp "$W/out" "$W/v5.json"; all_pass "$W/v5.json"
ctr5=$(json "$W/ev5.json" 'd["counter"]["value"]')
swtpm_stop
rm -rf "$W/tpm/state"; cp -a "$W/snapshot" "$W/tpm/state"
swtpm_start_again
run 0 "$T" eventlog extend "$LOG"
run 1 pattest; cp "$W/out" "$W/v6.json"
python3 - "$W/v6.json" <<'PY' || fail "the rolled-back TPM is not refused as a rollback: $(head -c 2000 "$W/v6.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["verdict"] == "fail" and d["failed_check"] in ("counter", "clock"), (d["verdict"], d.get("failed_check"))
st = {c["name"]: c["status"] for c in d["checks"]}
assert st.get("counter") == "fail", st
assert st.get("signature") == "pass", st
print("ok: restored snapshot: FAIL (%s): %s" % (d["failed_check"], d["reason"]))
PY
# and again: still refused (a refused verdict stores no state)
run 1 pattest
[ "$(json "$W/out" 'd["failed_check"]')" = "$(json "$W/v6.json" 'd["failed_check"]')" ] || fail "second attestation from the snapshot: $(head -c 800 "$W/out")"

# ---- the admin's view ----
run 0 machines list --json
python3 - "$W/out" "$ID" "$ctr5" "$W/v6.json" <<'PY' || fail "machines list: $(head -c 1500 "$W/out")"
import json, sys
d = json.load(open(sys.argv[1])); mid = sys.argv[2]; ctr = int(sys.argv[3])
v6 = json.load(open(sys.argv[4]))
ms = d["machines"]
assert [m["machine_id"] for m in ms] == [mid], ms
m = ms[0]
# the last verdict is the rollback's FAIL; the counter the last accepted one
assert m["name"] == "machine a", m
assert m["last_verdict"] == "fail", m
assert m["counter"] == ctr, ("counter", m["counter"], ctr)
assert m["last_at"] == v6["at"] or m["last_at"] >= v6["at"], m
PY
run 0 machines list
grep -q "${ID:0:16}" "$W/out" || fail "machines list (text) does not show the machine: $(cat "$W/out")"
run 0 machines show "$ID" --json
cp "$W/out" "$W/show.json"
run 0 machines history "$ID" --json
cp "$W/out" "$W/hist.json"
python3 - "$W/hist.json" "$W/show.json" "$W"/v{1,2,x,3,4,5,6}.json <<'PY' || fail "history: $(head -c 2000 "$W/hist.json")"
import json, sys
h = json.load(open(sys.argv[1]))["history"]
show = json.load(open(sys.argv[2]))
vs = [json.load(open(f)) for f in sys.argv[3:]]
# newest first: the second snapshot attestation, the first, v5 ... v1;
# the text attestation (PCR 4) between v3 and v4, vx between v2 and v3
want = ["fail", "fail", "pass", "pass", "fail", "fail", "pass", "pass", "pass"]
got = [e["verdict"] for e in h]
assert got == want, (got, want)
seqs = [e["seq"] for e in h]
assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == len(seqs), seqs
for v in vs:
    e = [x for x in h if x["seq"] == v["seq"]]
    assert len(e) == 1 and e[0]["verdict"] == v["verdict"], (v["seq"], e)
# each entry's result is the verdict that was answered
for v in vs:
    e = [x for x in h if x["seq"] == v["seq"]][0]
    r = e["result"]
    for k in ("verdict", "verified", "failed_check", "reason", "at", "checks"):
        assert r.get(k) == v.get(k), ("history seq %d: result.%s is %r, the answer said %r" % (v["seq"], k, r.get(k), v.get(k)))
assert show["machine_id"] == vs[0]["machine_id"] and show["last_verdict"] == "fail", show
assert show["last_seq"] == h[0]["seq"], (show["last_seq"], h[0]["seq"])
assert show["enrollment"]["ek_certificate"]["root"] == "CN=swtpm-localca-rootca", show["enrollment"]
print("ok: history", got)
PY
# the stored result carries the seq the answer had (docs/api.md: history
# entries hold the verdict)
python3 - "$W/hist.json" <<'PY' || echo "DISCREPANCY: GET /v1/machines/ID/history: result.seq is not the entry's seq: $(json "$W/hist.json" '[(e["seq"], e["result"].get("seq")) for e in d["history"]]')" | tee -a "$W/discrepancies" >&2
import json, sys
h = json.load(open(sys.argv[1]))["history"]
sys.exit(0 if all(e["result"].get("seq") == e["seq"] for e in h) else 1)
PY
run 0 machines history "$ID"
[ "$(grep -c -i 'fail' "$W/out")" -ge 4 ] || fail "machines history (text): $(cat "$W/out")"
log_clean
finish
