#!/usr/bin/env bash
# Enrollment through the server (docs/api.md POST /v1/enroll, /activate):
# an EK certificate that does not chain to --ek-roots is 403 refused
# (check ek_certificate); a wrong secret 403 refused (secret), and the
# challenge is consumed whatever the outcome (the right answer after it:
# 404); a late answer 403 refused (expired); an answer to no challenge 404;
# an unrestricted "AK" 403 refused (ak); then the genuine enrollment.
# $1: tpmattest.
. "$(dirname "$0")/lib.sh"

machine_a
mkdir -p "$W/otherroots"
cp "$SHERE/../data/ekcert/roots/root.pem" "$W/otherroots/" || fail "no other root"
wrap() { python3 -c 'import json,sys; print(json.dumps({"name": sys.argv[2] or None, "request": json.load(open(sys.argv[1]))}))' "$1" "${2:-}"; }
# refused STATUS CHECK ARGS...: the answer's error is "refused" naming CHECK
refused() {
  local check=$1; shift
  expect 403 refused "$@"
  [ "$(json "$W/body" 'd.get("check")')" = "$check" ] || fail "want check '$check': $(cat "$W/body")"
}

# ---- EK roots that are not the TPM vendor's ----
EK_ROOTS=$W/otherroots start_server
# the request as enroll --server makes it: the counter with this store's key
areq "$W/req.json"
wrap "$W/req.json" >"$W/enr.json"
run 1 enroll --name x
grep -q "refused (ek_certificate).*(HTTP 403)" "$W/err" || fail "enroll against other roots: $(cat "$W/err")"
refused ek_certificate --data-file "$W/enr.json" POST /v1/enroll
stop_server

# ---- the challenge: one try, a deadline ----
start_server --challenge-lifetime 3
# the older counter (anyone on the machine may increment it) is refused
# without --legacy-counters, naming the counter check
run 0 "$T" enroll request --out "$W/req-old.json"
wrap "$W/req-old.json" >"$W/enr-old.json"
refused counter --data-file "$W/enr-old.json" POST /v1/enroll
grep -q "0x01000100 is the older counter" "$W/body" || fail "the older counter's refusal: $(cat "$W/body")"
expect 200 - --data-file "$W/enr.json" POST /v1/enroll
[ "$(json "$W/body" 'd["machine_id"]')" = "$ID_a" ] || fail "challenge for another id: $(head -c 300 "$W/body")"
python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["challenge"], open(sys.argv[2], "w"))' "$W/body" "$W/ch.json"
run 0 "$T" enroll activate "$W/ch.json" --out "$W/resp.json"
python3 - "$W/resp.json" "$W/resp-bad.json" <<'PY'
import base64, json, sys
d = json.load(open(sys.argv[1]))
s = bytearray(base64.b64decode(d["secret"])); s[0] ^= 1
d["secret"] = base64.b64encode(bytes(s)).decode()
json.dump(d, open(sys.argv[2], "w"))
PY
refused secret --data-file "$W/resp-bad.json" POST /v1/enroll/activate
# the secret the server expected is not in its answer
secret=$(json "$W/resp.json" 'd["secret"]')
! grep -qF "$secret" "$W/body" || fail "the expected secret is in the answer"
expect 404 not_found --data-file "$W/resp.json" POST /v1/enroll/activate
expect 404 not_found POST "/v1/machines/$ID_a/nonce"
# late: the challenge lives 3 s, counted in whole seconds (good through
# second issued + 3), so only 4 s and more after it is it surely expired
expect 200 - --data-file "$W/enr.json" POST /v1/enroll
python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["challenge"], open(sys.argv[2], "w"))' "$W/body" "$W/ch2.json"
run 0 "$T" enroll activate "$W/ch2.json" --out "$W/resp2.json"
sleep 4.2
refused expired --data-file "$W/resp2.json" POST /v1/enroll/activate
# an answer to no challenge
python3 - "$W/resp.json" "$W/resp-none.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["id"] = "".join("0" if c != "-" else c for c in d["id"]) if isinstance(d["id"], str) else d["id"]
json.dump(d, open(sys.argv[2], "w"))
PY
if [ "$(json "$W/resp-none.json" 'd["id"]')" != "$(json "$W/resp.json" 'd["id"]')" ]; then
  code=$(srv --data-file "$W/resp-none.json" POST /v1/enroll/activate)
  [ "$code" = 404 ] || [ "$code" = 400 ] || fail "an answer to no challenge: HTTP $code: $(cat "$W/body")"
fi
echo "ok: wrong secret (403 secret, then 404), late answer (403 expired), no such challenge"

# ---- an AK that is not an attestation key ----
if command -v tpm2_createprimary >/dev/null && command -v tpm2_create >/dev/null; then
  q() { "$@" >/dev/null 2>"$W/err"; local r=$?; tpm2_flushcontext -t >/dev/null 2>&1; return $r; }
  q tpm2_createprimary -C o -G ecc -c "$W/prim.ctx" || fail "createprimary"
  q tpm2_create -C "$W/prim.ctx" -G ecc -a "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|sign" -u "$W/unr.pub" -r "$W/unr.priv" || fail "create"
  python3 - "$W/req.json" "$W/unr.pub" "$W/enr-unr.json" <<'PY'
import base64, json, sys
d = json.load(open(sys.argv[1]))
d["ak"]["public"] = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
json.dump({"name": None, "request": d}, open(sys.argv[3], "w"))
PY
  refused ak --data-file "$W/enr-unr.json" POST /v1/enroll
  echo "ok: an unrestricted AK: 403 ak"
fi
# ---- malformed requests ----
expect 400 malformed --data '{"name": null}' POST /v1/enroll
expect 400 malformed --data '{"name": null, "request": {}}' POST /v1/enroll
expect 400 malformed --data '{"name": null, "request": null, "extra": 1}' POST /v1/enroll
expect 400 malformed --data 'not json' POST /v1/enroll/activate
expect 405 method_not_allowed GET /v1/enroll

# ---- and the genuine one ----
run 0 enroll --name genuine --id-file "$W/id" --json
[ "$(json "$W/out" 'd["machine_id"], d["name"]')" = "('$ID_a', 'genuine')" ] || fail "enroll: $(cat "$W/out")"
expect 200 - "${ADMIN[@]}" GET /metrics
grep -q '^tpmattest_enrollments_total 1$' "$W/body" || fail "metrics: $(grep enrollments "$W/body")"
grep -q '^tpmattest_machines_enrolled 1$' "$W/body" || fail "metrics: $(grep enrolled "$W/body")"
run 0 machines show "$ID_a" --json
[ "$(json "$W/out" 'd["enrollment"]["ek_certificate"]["root"], d["enrollment"]["ak"]["handle"], d["enrollment"]["counter"]["index"]')" = "('CN=swtpm-localca-rootca', '0x81000100', '0x01000101')" ] ||
  fail "the enrollment record: $(head -c 800 "$W/out")"
# the counter is the verifier-authorized one, with this server's policy
# (PolicyAuthorize by the key, the machine id as policyRef: computed here)
python3 - "$W/out" "$W/counter-key.json" <<'PY' || fail "the record's counter policy: $(head -c 800 "$W/out")"
import hashlib, json, sys
def policy(key_name_hex, machine_id_hex):
    h = hashlib.sha256(b"\0" * 32 + bytes.fromhex("0000016A") + bytes.fromhex(key_name_hex)).digest()
    return hashlib.sha256(h + bytes.fromhex(machine_id_hex)).hexdigest()
d = json.load(open(sys.argv[1])); k = json.load(open(sys.argv[2]))
assert d["enrollment"]["counter"]["authorized_by_policy"] == policy(k["name"], d["machine_id"]), d["enrollment"]["counter"]
PY
log_clean
finish
