#!/usr/bin/env bash
# Results for relying parties (issue 13, THREATS "results forged for
# relying parties"): every recorded verdict is also an EAR JWT signed with
# the server's result key, made on the first start (mode 0600) and kept
# across restarts; the public key at /v1/.well-known/result-key as a JWK;
# GET /v1/machines/ID/result[?nonce=HEX] the last verdict signed now, with
# the relying party's nonce.  Each JWT is verified by an independent
# implementation (Python's cryptography, ear_check.py) and by `tpmattest
# result verify`, with the exact claims: none before the first verdict,
# warning without a policy, affirming with one, contraindicated naming the
# failed check after PCR 4 is extended behind the log's back.  Tampered
# JWTs (a claim changed, alg none, a signature byte, no signature, another
# key) are refused by both.  A key file others may read, or that is not a
# key, stops the server with the reason.
# $1: tpmattest.
. "$(dirname "$0")/lib.sh"
need_example_log
python3 -c 'import cryptography' 2>/dev/null || skip "python3's cryptography module is missing (python3-cryptography)"
EAR="python3 $SHERE/ear_check.py"
PROFILE=tag:github.com,2023:veraison/ear

machine_a
run 0 "$T" eventlog extend "$LOG"
start_server

# ---- the key: made on the first start, 0600, public as a JWK ----
if store_is_pg; then KEYF=$W/result-key.pem; else KEYF=$DB.result-key; fi
RK=(--result-key "$KEYF")
[ -f "$KEYF" ] || fail "no result key at $KEYF (the default: --db's file + .result-key)"
[ "$(stat -c %a "$KEYF")" = 600 ] || fail "$KEYF has mode $(stat -c %a "$KEYF"), not 600"
grep -q "^tpmattest serve: made a new result key in $KEYF\$" "$SRV_LOG" || fail "no 'made a new result key' line: $(head -c 600 "$SRV_LOG")"
openssl pkey -in "$KEYF" -noout -text 2>/dev/null | grep -q 'NIST CURVE: P-256' || fail "$KEYF is not a P-256 key"
expect 200 - GET /v1/.well-known/result-key
cp "$W/body" "$W/key.jwk"
python3 - "$W/key.jwk" "$KEYF" <<'PY' || fail "the JWK is not the key file's public key: $(cat "$W/key.jwk")"
import json, sys, base64, subprocess
j = json.load(open(sys.argv[1]))
assert sorted(j) == ["alg", "crv", "kid", "kty", "use", "x", "y"], sorted(j)
assert (j["kty"], j["crv"], j["alg"], j["use"]) == ("EC", "P-256", "ES256", "sig"), j
pub = subprocess.run(["openssl", "pkey", "-in", sys.argv[2], "-pubout", "-outform", "DER"],
                     check=True, capture_output=True).stdout
pt = pub[-65:]  # the uncompressed point at the end of the SubjectPublicKeyInfo
d = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
assert pt[0] == 4 and pt[1:33] == d(j["x"]) and pt[33:] == d(j["y"]), "point differs"
PY
KID=$(json "$W/key.jwk" 'd["kid"]')
# ctype PATH [CERT KEY]: the answer's Content-Type
ctype() {
  python3 - "$PORT" "$CA" "$@" <<'PY'
import http.client, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
if len(sys.argv) > 4:
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), context=ctx, timeout=10)
c.request("GET", sys.argv[3])
r = c.getresponse()
print(r.status, r.getheader("Content-Type"))
PY
}
[ "$(ctype /v1/.well-known/result-key)" = "200 application/jwk+json" ] || fail "the JWK's Content-Type: $(ctype /v1/.well-known/result-key)"

run 0 enroll --name "result test" --id-file "$W/id"
ID=$(cat "$W/id")

# claims FILE: the payload as the independent verifier printed it
# sub FILE EXPR: EXPR over the machine's submodule (s) and the claims (d)
# (tv: the vector as (instance-identity, hardware, executables, configuration))
sub() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); s=d["submods"][sys.argv[2]]; tv=tuple(s["ear.trustworthiness-vector"][k] for k in ("instance-identity","hardware","executables","configuration")); print(eval(sys.argv[3]))' "$1" "$ID" "$2"; }
# indep JWT_FILE OUT: ear_check.py verify with the server's JWK, or fail
indep() { $EAR verify "$1" "$W/key.jwk" >"$2" || fail "Python's cryptography refuses the server's JWT $1: $(cat "$2")"; }
# common CLAIMS: what every result of this server has
common() {
  python3 - "$1" "$ID" "$PROFILE" <<'PY' || fail "claims of $1: $(cat "$1")"
import json, sys, time
d = json.load(open(sys.argv[1]))
assert d["eat_profile"] == sys.argv[3], d["eat_profile"]
assert isinstance(d["iat"], int) and abs(d["iat"] - time.time()) < 120, d["iat"]
v = d["ear.verifier-id"]
assert v["developer"] == "tpmattest" and v["build"].startswith("tpmattest "), v
assert list(d["submods"]) == [sys.argv[2]], list(d["submods"])
PY
}

# ---- before the first verdict: status none ----
expect 200 - "${ADMIN[@]}" GET "/v1/machines/$ID/result"
cp "$W/body" "$W/r0.jwt"
indep "$W/r0.jwt" "$W/c0.json"
common "$W/c0.json"
[ "$(sub "$W/c0.json" 's["ear.status"], s["tpmattest.verdict"], tv, sorted(s["ear.trustworthiness-vector"])')" = "('none', None, (0, 0, 0, 0), ['configuration', 'executables', 'hardware', 'instance-identity'])" ] ||
  fail "a machine without a verdict: $(cat "$W/c0.json")"
"$T" result verify "$W/r0.jwt" --key "$W/key.jwk" >"$W/out" 2>"$W/err"; rc=$?
[ "$rc" = 1 ] || fail "result verify of a 'none' result: exit $rc, not 1: $(cat "$W/out" "$W/err")"
grep -q none "$W/out" "$W/err" || fail "result verify of a 'none' result does not say none: $(cat "$W/out" "$W/err")"

# ---- a pass without a policy: warning, "ear" in the answer ----
run 0 attest --id-file "$W/id" --eventlog "$LOG" --evidence-out "$W/ev1.json" --json
cp "$W/out" "$W/v1.json"
json "$W/v1.json" 'd["ear"]' >"$W/a1.jwt" || fail "the attestation's answer has no \"ear\": $(head -c 800 "$W/v1.json")"
indep "$W/a1.jwt" "$W/c1.json"
common "$W/c1.json"
[ "$(sub "$W/c1.json" 's["ear.status"], s["tpmattest.verdict"], s["ear.appraisal-policy-id"], s["tpmattest.seq"] == '"$(json "$W/v1.json" 'd["seq"]')")" = "('warning', 'pass', 'tpmattest:policy/none', True)" ] ||
  fail "a pass without a policy must be a warning: $(cat "$W/c1.json")"
[ "$(sub "$W/c1.json" 's["ear.trustworthiness-vector"]["instance-identity"], s["ear.trustworthiness-vector"]["hardware"], s["ear.trustworthiness-vector"]["executables"], s["ear.trustworthiness-vector"]["configuration"], s["tpmattest.failed-checks"]')" = "(2, 2, 0, 0, [])" ] ||
  fail "the vector of a pass without a policy: $(cat "$W/c1.json")"
run 1 "$T" result verify "$W/a1.jwt" --key "$W/key.jwk"
grep -q warning "$W/out" "$W/err" || fail "result verify of a warning does not say warning: $(cat "$W/out" "$W/err")"
run 0 "$T" result verify "$W/a1.jwt" --key "$W/key.jwk" --allow-warning

# ---- with a policy: affirming; the relying party's nonce ----
run 0 "$T" policy create "$W/ev1.json" --out "$W/golden.json"
run 0 machines policy "$ID" "$W/golden.json" --name golden
expect 200 - "${ADMIN[@]}" GET /v1/policies/golden
POLSHA=$(sha256sum <"$W/body" | cut -d' ' -f1)
run 0 attest --id-file "$W/id" --eventlog "$LOG" --json
cp "$W/out" "$W/v2.json"
[ "$(json "$W/v2.json" 'd["verdict"]')" = pass ] || fail "attestation with the golden policy: $(head -c 800 "$W/v2.json")"
N=$(openssl rand -hex 16)
expect 200 - "${ADMIN[@]}" GET "/v1/machines/$ID/result?nonce=$N"
cp "$W/body" "$W/r2.jwt"
[ "$(ctype "/v1/machines/$ID/result" "$W/pki/admin.pem" "$W/pki/admin.key")" = "200 application/jwt" ] || fail "the result's Content-Type is not application/jwt"
indep "$W/r2.jwt" "$W/c2.json"
common "$W/c2.json"
[ "$(json "$W/c2.json" 'd["eat_nonce"]')" = "$N" ] || fail "eat_nonce is not the relying party's nonce $N: $(cat "$W/c2.json")"
[ "$(sub "$W/c2.json" 's["ear.status"], s["tpmattest.verdict"], tv, s["tpmattest.failed-checks"], s["tpmattest.seq"] == '"$(json "$W/v2.json" 'd["seq"]')")" = "('affirming', 'pass', (2, 2, 3, 2), [], True)" ] ||
  fail "a pass under a policy must be affirming: $(cat "$W/c2.json")"
PID_WANT="tpmattest:policy/golden@sha256:$POLSHA"
[ "$(sub "$W/c2.json" 's["ear.appraisal-policy-id"]')" = "$PID_WANT" ] ||
  fail "ear.appraisal-policy-id is not $PID_WANT: $(cat "$W/c2.json")"
run 0 "$T" result verify "$W/r2.jwt" --key "$W/key.jwk" --nonce "$N" --machine "$ID" --max-age 120
run 1 "$T" result verify "$W/r2.jwt" --key "$W/key.jwk" --nonce "$(openssl rand -hex 16)"
grep -qi nonce "$W/err" "$W/out" || fail "a nonce mismatch is not named: $(cat "$W/out" "$W/err")"
run 1 "$T" result verify "$W/r2.jwt" --key "$W/key.jwk" --machine "$(printf '%064d' 1)"
# the same from the CLI: machines result, machines result-key
run 0 machines result "$ID" --nonce "$N" --out "$W/r2b.jwt"
run 0 machines result-key --out "$W/key2.jwk"
[ "$(json "$W/key.jwk" 'd')" = "$(json "$W/key2.jwk" 'd')" ] || fail "machines result-key wrote another key: $(cat "$W/key2.jwk")"
run 0 "$T" result verify "$W/r2b.jwt" --key "$W/key2.jwk" --nonce "$N"
# bad nonces: 400
for q in "nonce=zz" "nonce=$(openssl rand -hex 4)" "nonce=$(openssl rand -hex 33)" "nonce=abc" "other=1" "nonce=${N}&nonce=$N"; do
  expect 400 malformed "${ADMIN[@]}" GET "/v1/machines/$ID/result?$q"
done
# authority: the result is the admin's; the key is public
expect 401 admin_certificate_required GET "/v1/machines/$ID/result"
expect 404 not_found "${ADMIN[@]}" GET "/v1/machines/$(printf '%064d' 0)/result"
expect 405 method_not_allowed "${ADMIN[@]}" POST "/v1/machines/$ID/result"

# ---- tampered: refused by both ----
for how in payload header-none sig strip; do
  $EAR tamper "$W/r2.jwt" "$how" >"$W/t-$how.jwt"
  if $EAR verify "$W/t-$how.jwt" "$W/key.jwk" >"$W/out"; then fail "Python accepts a JWT tampered ($how)"; fi
  "$T" result verify "$W/t-$how.jwt" --key "$W/key.jwk" >"$W/out" 2>"$W/err"; rc=$?
  [ "$rc" = 1 ] || fail "result verify of a JWT tampered ($how): exit $rc, not 1: $(cat "$W/out" "$W/err")"
done
# another verifier's key signing the same claims: refused with ours
python3 -c 'import base64,sys; p=open(sys.argv[1]).read().split(".")[1]; sys.stdout.buffer.write(base64.urlsafe_b64decode(p+"="*(-len(p)%4)))' "$W/r2.jwt" >"$W/payload.json"
$EAR sign "$W/other.jwk" "$W/payload.json" >"$W/forged.jwt"
run 0 "$T" result verify "$W/forged.jwt" --key "$W/other.jwk" --nonce "$N"
"$T" result verify "$W/forged.jwt" --key "$W/key.jwk" >"$W/out" 2>"$W/err"; rc=$?
[ "$rc" = 1 ] || fail "a JWT signed by another key verified with the server's: exit $rc: $(cat "$W/out" "$W/err")"
echo "ok: results verified by Python's cryptography and result verify; 4 tamperings and another key refused by both"

# ---- PCR 4 extended behind the log's back: contraindicated, named ----
tpm2_pcrextend "4:sha256=$(openssl rand -hex 32)" 2>"$W/err" || fail "tpm2_pcrextend: $(cat "$W/err")"
run 1 attest --id-file "$W/id" --eventlog "$LOG" --json
cp "$W/out" "$W/v3.json"
FC=$(json "$W/v3.json" 'd["failed_check"]')
[ "$FC" = eventlog_replay ] || fail "after PCR 4 was extended: failed check $FC: $(head -c 800 "$W/v3.json")"
json "$W/v3.json" 'd["ear"]' >"$W/a3.jwt"
indep "$W/a3.jwt" "$W/c3.json"
[ "$(sub "$W/c3.json" 's["ear.status"], s["tpmattest.verdict"], s["ear.trustworthiness-vector"]["executables"], s["tpmattest.failed-checks"][0]["name"]')" = "('contraindicated', 'fail', 96, 'eventlog_replay')" ] ||
  fail "a failed replay must be contraindicated, executables 96, naming eventlog_replay: $(cat "$W/c3.json")"
expect 200 - "${ADMIN[@]}" GET "/v1/machines/$ID/result"
cp "$W/body" "$W/r3.jwt"
indep "$W/r3.jwt" "$W/c3b.json"
[ "$(sub "$W/c3b.json" 's["ear.status"], s["tpmattest.failed-checks"][0]["name"]')" = "('contraindicated', 'eventlog_replay')" ] ||
  fail "the last result after the failure: $(cat "$W/c3b.json")"
run 1 "$T" result verify "$W/r3.jwt" --key "$W/key.jwk" --allow-warning
grep -q contraindicated "$W/out" "$W/err" && grep -q eventlog_replay "$W/out" "$W/err" ||
  fail "result verify must say contraindicated and name eventlog_replay: $(cat "$W/out" "$W/err")"

# ---- a restart keeps the key; old results still verify ----
stop_server
start_server
grep -q "made a new result key" "$SRV_LOG" && fail "the restart made another result key"
expect 200 - GET /v1/.well-known/result-key
cmp -s "$W/body" "$W/key.jwk" || fail "the JWK changed across a restart: $(cat "$W/body")"
run 0 "$T" result verify "$W/r2.jwt" --key "$W/key.jwk" --nonce "$N"
stop_server

# ---- key files the server must refuse ----
chmod 644 "$KEYF"
run 4 "$T" serve --listen 127.0.0.1:0 --db "$DB" --tls-cert "$W/pki/server.pem" --tls-key "$W/pki/server.key" \
  --admin-ca "$W/pki/admin-ca.pem" --ek-roots "$W/roots" "${RK[@]}"
grep -q "result-key $KEYF: group or others may read or write it (mode 0644)" "$W/err" || fail "mode 0644 not named: $(cat "$W/err")"
chmod 600 "$KEYF"
printf 'not a key\n' >"$W/junk.key"; chmod 600 "$W/junk.key"
run 3 "$T" serve --listen 127.0.0.1:0 --db "$DB" --tls-cert "$W/pki/server.pem" --tls-key "$W/pki/server.key" \
  --admin-ca "$W/pki/admin-ca.pem" --ek-roots "$W/roots" --result-key "$W/junk.key"
grep -q "result-key $W/junk.key" "$W/err" || fail "a junk key file not named: $(cat "$W/err")"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out "$W/p384.key" 2>/dev/null; chmod 600 "$W/p384.key"
run 3 "$T" serve --listen 127.0.0.1:0 --db "$DB" --tls-cert "$W/pki/server.pem" --tls-key "$W/pki/server.key" \
  --admin-ca "$W/pki/admin-ca.pem" --ek-roots "$W/roots" --result-key "$W/p384.key"
ln -s "$KEYF" "$W/link.key"
run 4 "$T" serve --listen 127.0.0.1:0 --db "$DB" --tls-cert "$W/pki/server.pem" --tls-key "$W/pki/server.key" \
  --admin-ca "$W/pki/admin-ca.pem" --ek-roots "$W/roots" --result-key "$W/link.key"
grep -q "result-key $W/link.key" "$W/err" || fail "a symbolic link as the key not named: $(cat "$W/err")"
log_clean
finish
