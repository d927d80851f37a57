#!/usr/bin/env bash
# The admin API's authority (THREATS "administration without authority",
# docs/api.md "Admin endpoints"): every admin endpoint without a client
# certificate is 401 admin_certificate_required, with a certificate from
# another CA (or from a look-alike CA with the admin CA's name, or
# self-signed) 403 admin_certificate_refused, and changes nothing; with the
# admin's certificate 200.  Attester endpoints and /healthz need none; a
# plain-HTTP server (--insecure-http) has no admin API and refuses to listen
# beyond loopback.  python3 http.client with ssl contexts (srv.py).
# $1: tpmattest.
. "$(dirname "$0")/lib.sh"
need_example_log

start_swtpm
make_certs
# a CA with the admin CA's subject and another key, and a client from it
mkcert fake-admin-ca self "" admin-ca
mkcert fake-admin fake-admin-ca "basicConstraints=CA:FALSE;keyUsage=critical,digitalSignature;extendedKeyUsage=clientAuth" admin
# a self-signed client certificate
mkcert selfsigned self ""
FAKE=(--cert "$W/pki/fake-admin.pem" --key "$W/pki/fake-admin.key")
SELF=(--cert "$W/pki/selfsigned.pem" --key "$W/pki/selfsigned.key")
BATCH_CREDS=(--cred "fake=$W/pki/fake-admin.pem,$W/pki/fake-admin.key"
  --cred "self=$W/pki/selfsigned.pem,$W/pki/selfsigned.key")
ek_roots
provision_tpm a
run 0 "$T" eventlog extend "$LOG"
start_server
run 0 enroll --name admin-test --id-file "$W/id"
ID=$(cat "$W/id")
run 0 attest --machine "$ID" --eventlog "$LOG" --evidence-out "$W/ev.json"
run 0 "$T" policy create "$W/ev.json" --out "$W/golden.json"
printf '{"policy": "golden"}' >"$W/assign.json"
printf '{"policy": null}' >"$W/unassign.json"

# the endpoints: METHOD PATH [body file]
ENDPOINTS=(
  "GET /v1/machines"
  "GET /v1/machines/$ID"
  "GET /v1/machines/$ID/history"
  "GET /v1/machines/$ID/history?limit=1"
  "PUT /v1/policies/golden $W/golden.json"
  "GET /v1/policies/golden"
  "GET /v1/policies"
  "PUT /v1/machines/$ID/policy $W/assign.json"
  "GET /metrics"
  "GET /v1/machines/$ID/result"
  "GET /v1/machines/$ID/result?nonce=00112233445566778899aabbccddeeff"
  "GET /"
  "GET /?verdict=fail"
  "GET /machines/$ID"
  "DELETE /v1/machines/$ID"
)
# call CREDS-ARRAY-NAME STATUS ERROR ENDPOINT
call() {
  local -n creds=$1
  local m p b
  read -r m p b <<<"$4"
  if [ -n "$b" ]; then
    expect "$2" "$3" "${creds[@]}" --data-file "$b" "$m" "$p"
  else
    expect "$2" "$3" "${creds[@]}" "$m" "$p"
  fi
}
NONE=()
# the refusals, in one python3 process (srv.py batch)
: >"$W/refusals.tsv"
for e in "${ENDPOINTS[@]}" "GET /v1/machines/$(printf '%064d' 0)" "GET /v1/policies/nosuch" \
         "DELETE /v1/machines/$(printf '%064d' 0)" "GET /v1/machines/$(printf '%064d' 0)/history" \
         "PUT /v1/policies/golden $W/unassign.json"; do
  read -r m p b <<<"$e"
  printf '401\tadmin_certificate_required\tnone\t%s\t%s\t%s\n' "$m" "$p" "$b" >>"$W/refusals.tsv"
  for c in other fake self; do
    printf '403\tadmin_certificate_refused\t%s\t%s\t%s\t%s\n' "$c" "$m" "$p" "$b" >>"$W/refusals.tsv"
  done
done
batch "$W/refusals.tsv"
echo "ok: ${#ENDPOINTS[@]} admin endpoints (and 5 lookups) refused without a certificate (401) and with 3 foreign ones (403)"
# authority before anything else: an unauthenticated caller learns nothing
# about names and ids (docs/api.md: none gives 401)
soft_expect 401 admin_certificate_required PUT "/v1/policies/bad!name"
expect 401 admin_certificate_required GET "/v1/machines/not-an-id"

# nothing changed: the machine is there, no policy stored or assigned
expect 200 - "${ADMIN[@]}" GET "/v1/machines/$ID"
[ "$(json "$W/body" 'd["machine_id"], d["policy"]')" = "('$ID', None)" ] || fail "after the refused requests: $(head -c 600 "$W/body")"
expect 404 not_found "${ADMIN[@]}" GET /v1/policies/golden
expect 200 - "${ADMIN[@]}" GET /v1/policies
[ "$(json "$W/body" 'len(d["policies"])')" = 0 ] || fail "a policy was stored by a refused request: $(cat "$W/body")"

# the admin: 200 on each, in an order where each one has what it needs
for e in "${ENDPOINTS[@]}"; do
  call ADMIN 200 - "$e"
  cp "$W/body" "$W/ans.$(echo "$e" | cut -d' ' -f1-2 | tr -c 'A-Za-z0-9\n' _)"
done
echo "ok: the admin certificate: 200 on every endpoint"
a() { cat "$W/ans.$(echo "$1" | tr -c 'A-Za-z0-9\n' _)"; }
python3 - "$ID" "$W" <<'PY' || fail "the admin's answers"
import json, sys, re, glob
mid, w = sys.argv[1:3]
def p_ok(e):
    return set(e) == {"seq", "at", "verdict", "error", "result"} and e["result"]["verdict"] == e["verdict"]
def ans(e):
    return open(w + "/ans." + re.sub(r"[^A-Za-z0-9]", "_", e), "rb").read()
ms = json.loads(ans("GET /v1/machines"))["machines"]
assert [m["machine_id"] for m in ms] == [mid], ms
m = json.loads(ans("GET /v1/machines/" + mid))
assert m["machine_id"] == mid and m["name"] == "admin-test" and m["last_verdict"] == "pass", m
h = json.loads(ans("GET /v1/machines/%s/history" % mid))["history"]
assert len(h) == 1 and h[0]["verdict"] == "pass", h
assert p_ok(h[0]), h[0]
h1 = json.loads(ans("GET /v1/machines/%s/history?limit=1" % mid))["history"]
assert len(h1) == 1, h1
p = json.loads(ans("GET /v1/policies/golden"))
assert p == json.load(open(w + "/golden.json")), "GET /v1/policies/golden is not the document stored"
ps = json.loads(ans("GET /v1/policies"))["policies"]
assert [x["name"] for x in ps] == ["golden"], ps
assert json.loads(ans("PUT /v1/policies/golden")) == {"stored": True}, ans("PUT /v1/policies/golden")
a = json.loads(ans("PUT /v1/machines/%s/policy" % mid))
assert a == {"machine_id": mid, "policy": "golden"}, a
assert json.loads(ans("DELETE /v1/machines/" + mid)) == {"deleted": True}, ans("DELETE /v1/machines/" + mid)
met = ans("GET /metrics").decode()
for k in ("tpmattest_attestations_total{verdict=\"pass\"} 1", "tpmattest_machines_enrolled 1",
          "tpmattest_attestation_seconds_bucket", "tpmattest_store_commit_seconds_bucket",
          "tpmattest_nonces_consumed ", "tpmattest_connections_open "):
    assert k in met, "metrics: no %r" % k
print("ok: the admin's answers hold the machine, its history, the policy, the metrics")
PY
# the deletion happened; its history stays (docs/api.md)
expect 404 not_found "${ADMIN[@]}" GET "/v1/machines/$ID"
expect 404 not_found POST "/v1/machines/$ID/nonce"
expect 200 - "${ADMIN[@]}" GET /metrics
grep -q '^tpmattest_machines_enrolled 0$' "$W/body" || fail "metrics after the deletion: $(grep enrolled "$W/body")"

# ---- the CLI with each certificate ----
run 0 enroll --name admin-test --id-file "$W/id"
run 1 "$T" machines list --server "$URL" --ca "$CA" "${OTHER[@]}"
grep -q "admin_certificate_refused.*(HTTP 403)" "$W/err" || fail "machines list, other CA: $(cat "$W/err")"
run 1 "$T" machines delete "$ID" --server "$URL" --ca "$CA" "${FAKE[@]}"
grep -q "admin_certificate_refused.*(HTTP 403)" "$W/err" || fail "machines delete, look-alike CA: $(cat "$W/err")"
run 1 "$T" machines policy "$ID" "$W/golden.json" --name golden --server "$URL" --ca "$CA" "${SELF[@]}"
grep -q "admin_certificate_refused.*(HTTP 403)" "$W/err" || fail "machines policy, self-signed: $(cat "$W/err")"
run 0 machines show "$ID" --json
# the policy assigned by the CLI rules the next verdict
run 0 machines policy "$ID" "$W/golden.json" --name golden2
run 0 attest --machine "$ID" --eventlog "$LOG" --json
[ "$(json "$W/out" 'd["verdict"], d["policy"]["name"], d["policy"]["ruled"]')" = "('pass', 'golden2', True)" ] ||
  fail "the assigned policy: $(head -c 800 "$W/out")"
expect 200 - "${ADMIN[@]}" --data-file "$W/unassign.json" PUT "/v1/machines/$ID/policy"
run 0 attest --machine "$ID" --eventlog "$LOG" --json
[ "$(json "$W/out" 'd["policy"]["name"], d["policy"]["ruled"]')" = "(None, False)" ] ||
  fail "back to the default (none): $(head -c 800 "$W/out")"

# ---- the admin's mistakes: 400, 404, 405 ----
expect 404 not_found "${ADMIN[@]}" --data-file "$W/assign.json" PUT "/v1/machines/$(printf '%064d' 0)/policy"
printf '{"policy": "nosuch"}' >"$W/assign-nosuch.json"
expect 404 not_found "${ADMIN[@]}" --data-file "$W/assign-nosuch.json" PUT "/v1/machines/$ID/policy"
expect 400 malformed "${ADMIN[@]}" --data '{"policy": 7}' PUT "/v1/machines/$ID/policy"
expect 400 malformed "${ADMIN[@]}" --data '{"policy": "golden", "extra": 1}' PUT "/v1/machines/$ID/policy"
expect 400 malformed "${ADMIN[@]}" --data '{"format": "not a policy"}' PUT /v1/policies/bad
expect 400 malformed "${ADMIN[@]}" --data-file "$W/golden.json" PUT "/v1/policies/bad!name"
# a path parameter that is not valid is 400 malformed (docs/api.md "Errors")
soft_expect 400 malformed "${ADMIN[@]}" --data-file "$W/golden.json" PUT "/v1/policies/bad%20name"
expect 400 malformed "${ADMIN[@]}" --data-file "$W/golden.json" PUT "/v1/policies/$(printf 'x%.0s' $(seq 65))"
expect 200 - "${ADMIN[@]}" --data-file "$W/golden.json" PUT "/v1/policies/$(printf 'x%.0s' $(seq 64))"
expect 400 malformed "${ADMIN[@]}" GET "/v1/machines/$ID/history?limit=0"
expect 400 malformed "${ADMIN[@]}" GET "/v1/machines/$ID/history?limit=1001"
expect 400 malformed "${ADMIN[@]}" GET "/v1/machines/not-an-id"
expect 404 not_found "${ADMIN[@]}" GET /v1/nosuch
expect 405 method_not_allowed "${ADMIN[@]}" POST /v1/machines
expect 405 method_not_allowed "${ADMIN[@]}" GET "/v1/machines/$ID/nonce"
expect 405 method_not_allowed GET "/v1/machines/$ID/attest"

# ---- attester endpoints and /healthz: no certificate needed, any accepted ----
expect 200 - GET /healthz
[ "$(json "$W/body" 'd["status"]')" = ok ] || fail "/healthz: $(cat "$W/body")"
expect 200 - "${OTHER[@]}" GET /healthz
expect 200 - "${OTHER[@]}" POST "/v1/machines/$ID/nonce"
expect 200 - "${ADMIN[@]}" POST "/v1/machines/$ID/nonce"

# ---- plain HTTP: no admin API; only on loopback ----
PORT_HTTPS=$PORT URL_HTTPS=$URL
# 192.0.2.1 (TEST-NET-1) is assigned to no interface here: even if the
# loopback check broke, nothing could listen beyond loopback
"$T" serve --listen 192.0.2.1:0 --insecure-http --db "$W/plain0.db" --ek-roots "$W/roots" \
  --port-file "$W/port0" >"$W/out" 2>"$W/err" &
p0=$!
for _ in $(seq 50); do kill -0 $p0 2>/dev/null || break; sleep 0.1; done
if kill -0 $p0 2>/dev/null; then kill $p0; fail "--insecure-http on 192.0.2.1 is still running"; fi
wait $p0; rc=$?
[ "$rc" = 2 ] && [ ! -s "$W/port0" ] || fail "--insecure-http on 192.0.2.1: want exit 2, got $rc"
grep -q "not a loopback address" "$W/err" || fail "--insecure-http on 192.0.2.1: $(cat "$W/err")"
"$T" serve --listen 127.0.0.1:0 --insecure-http --db "$W/plain.db" --ek-roots "$W/roots" \
  --admin-ca "$W/pki/admin-ca.pem" --port-file "$W/port1" 2>"$W/serve.plain.log" &
p1=$!
PIDS+=("$p1")
for _ in $(seq 100); do [ -s "$W/port1" ] && break; sleep 0.1; done
[ -s "$W/port1" ] || fail "--insecure-http on 127.0.0.1 did not start: $(cat "$W/serve.plain.log")"
URL=http://127.0.0.1:$(cat "$W/port1")
expect 200 - GET /healthz
for e in "${ENDPOINTS[@]}"; do call NONE 401 admin_certificate_required "$e"; done
kill -TERM $p1; wait $p1 || fail "the plain-HTTP server exited $? after SIGTERM"
URL=$URL_HTTPS
log_clean
finish
