#!/usr/bin/env bash
# Adversarial review of issue 13 (results for relying parties), a find, now defended: the test asserts the defence.
# (design).
# Attack: the admin tightens the policy that ruled a machine's last PASS
#   (PUT /v1/policies/golden with a stricter document, or assigns another
#   policy), because what the machine booted is no longer acceptable.  The
#   machine - taken over, its attester stopped - does not attest again.
# What happens: GET /v1/machines/ID/result signs the last verdict as it
#   was recorded, now: "affirming", under the old policy's digest, with a
#   fresh iat and the relying party's nonce, until the machine attests
#   again; the store knows the policy changed (state_gen was bumped), the
#   status page shows PASS.  `tpmattest result verify --nonce N --max-age
#   S` accepts it for S seconds after the verdict, however long after the
#   policy change.
# Expected: a result signed after the machine's policy changed does not
#   affirm a verdict reached under the old one: "warning" (or "none"), or
#   a claim that says the policy is no longer the machine's.
# Suggested fix: in srv_result_get, compare the verdict document's policy
#   (name and sha256) with the machine's current one (policy_for) and
#   downgrade ear.status to warning when they differ (or record a
#   generation in the verdict and compare it with state_gen).
# Run: bash tests/attack/test-p13-result-policy-change.sh BUILD/cli/tpmattest
# (swtpm, as tests/server/test-result.sh)
. "$(dirname "$0")/../server/lib.sh"
need_example_log
machine_a
run 0 "$T" eventlog extend "$LOG"
start_server
expect 200 - GET /v1/.well-known/result-key
cp "$W/body" "$W/key.jwk"
run 0 enroll --name pc --id-file "$W/id"
ID=$(cat "$W/id")
run 0 attest --id-file "$W/id" --eventlog "$LOG" --evidence-out "$W/ev.json" --json
run 0 "$T" policy create "$W/ev.json" --out "$W/golden.json"
run 0 machines policy "$ID" "$W/golden.json" --name golden
run 0 attest --id-file "$W/id" --eventlog "$LOG" --json
status() {
  expect 200 - "${ADMIN[@]}" GET "/v1/machines/$ID/result?nonce=$1"
  python3 -c 'import json,sys,base64; p=open(sys.argv[1]).read().split(".")[1]; c=json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4))); s=c["submods"][sys.argv[2]]; print(s["ear.status"], s["ear.appraisal-policy-id"])' "$W/body" "$ID"
}
N=$(openssl rand -hex 16)
case $(status "$N") in affirming*) ;; *) fail "control: not affirming under golden: $(status "$N")" ;; esac
# golden replaced by a policy the machine fails (PCR 0 must be zeros)
printf '{"version":2,"pcrs":{"sha256":[0]},"pcr_values":{"sha256":{"0":["%s"]}}}' "$(printf '00%.0s' $(seq 32))" >"$W/strict.json"
expect 200 - "${ADMIN[@]}" --data-file "$W/strict.json" PUT /v1/policies/golden
N=$(openssl rand -hex 16)
got=$(status "$N")
cp "$W/body" "$W/after.jwt"
if "$T" result verify "$W/after.jwt" --key "$W/key.jwk" --nonce "$N" --machine "$ID" --max-age 600 >"$W/o" 2>&1; then
  fail "after the policy golden was replaced by one the machine fails, GET result still signs '$got' (fresh nonce) and result verify --max-age 600 accepts it: $(cat "$W/o")"
fi
case $got in "none "*) ;; *) fail "after the policy was replaced: the result is '$got', not none" ;; esac
# the machine's page says so; the fleet page still shows the verdict itself
expect 200 - "${ADMIN[@]}" GET "/machines/$ID"
grep -q '<dd id="policy-changed" class="error">none: the policy that ruled the last verdict has changed since' "$W/body" ||
  fail "the machine page does not say the signed result is none now: $(grep -o '<dl id="summary">.*' "$W/body" | head -c 600)"
# attested again under the new policy: a signed FAIL, and no note
run 1 attest --id-file "$W/id" --eventlog "$LOG" --json
N=$(openssl rand -hex 16)
case $(status "$N") in "contraindicated tpmattest:policy/golden@sha256:"*) ;; *) fail "after attesting under the new policy: $(status "$N")" ;; esac
expect 200 - "${ADMIN[@]}" GET "/machines/$ID"
grep -q 'id="policy-changed"' "$W/body" && fail "the page still says the policy changed after the machine attested under it"
pass
