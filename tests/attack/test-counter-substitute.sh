#!/usr/bin/env bash
# Issue 12, what an attacker on a machine with the verifier-authorized
# counter tries besides the rollback itself (defended):
# - certifying the older counter instead (0x01000100, which the owner
#   increments freely), pushed past the last accepted value: refused,
#   failed_check "counter" (not the enrolled counter's Name);
# - an authorization given for one session replayed in another: the TPM
#   refuses PolicySigned (TPM_RC_SIGNATURE), no evidence, counter unmoved;
# - the attester told no authorization (a null counter_authorization): the
#   quote shows the old counter: FAIL "counter", recorded, and the next
#   ordinary attestation passes (not locked out);
# - a machine enrolled with the older counter asking for an authorization
#   (server with --legacy-counters): none is given, none is counted, and
#   an authorization fed to its attester is refused before the TPM.
command -v tpm2_nvincrement >/dev/null || { echo "SKIP: no tpm2_nvincrement"; exit 77; }
TPA=$1; . "$(dirname "$0")/lib.sh"
IDX=0x01000101 OLD=0x01000100
tpm_new b; tpm_new o; tls_setup
SERVE_COUNTERS= serve_start
use_tpm b
"$TPA" enroll --server "$URL" --ca "$W/tls/ca.pem" --id-file "$W/tpm-b/id" >"$W/enroll.out" 2>&1 ||
  { cat "$W/enroll.out" >&2; fail "enroll --server"; }
att() { "$TPA" attest --server "$URL" --ca "$W/tls/ca.pem" --id-file "$W/tpm-b/id" --eventlog "$LOG" --json >"$1" 2>"$1.err"; }
verdict() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("verdict"), d.get("failed_check"), d.get("recorded"))' "$1"; }
nvval() { # unwritten: 0
  local h; h=$(tpm2_nvread -C "$1" -s 8 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n'); printf %d "0x${h:-0}"; }
att "$W/v1" || fail "first attestation: $(cat "$W/v1" "$W/v1.err")"
L=$(nvval $IDX)

# the older counter, pushed past L, certified instead
while [ "$(nvval $OLD)" -le $((L + 1)) ]; do tpm2_nvincrement -C o $OLD >/dev/null 2>&1 || fail "nvincrement $OLD"; done
python3 - <<PY || fail "the older counter certified"
import json, subprocess
from atk import *
b = machine_id("b")
n = nonce(b)
p = subprocess.run([TPA, "quote", "--nonce", n, "--nv-index", "$OLD", "--eventlog", LOG, "--out", f"{W}/old.json"],
                   env=tpm_env("b"), capture_output=True, timeout=120)
check(p.returncode == 0, f"quote --nv-index $OLD: {p.stderr.decode()[-400:]}")
r = attest(b, json.load(open(f"{W}/old.json")))
c = [c for c in r.json["checks"] if c["name"] == "counter"][0] if r.status == 200 else None
check(r.status == 200 and r.get("verdict") == "fail" and r.get("failed_check") == "counter" and
      "not the machine's counter" in c["reason"], f"the older counter: {r}")
check(show(b)["state"]["counter"]["value"] == $L, "the accepted counter moved")
print("  the older counter certified: FAIL counter:", c["reason"])
PY

# an authorization replayed in another session
python3 - <<'PY' || fail "replay"
import json, subprocess
from atk import *
b = machine_id("b")
def xq(answer_of):
    q = subprocess.Popen([TPA, "quote", "--exchange", "--eventlog", "none", "--out", f"{W}/xr.json"],
                         env=tpm_env("b"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    nt = json.loads(q.stdout.readline())["nonce_tpm"]
    ans = answer_of(nt)
    out, err = q.communicate((json.dumps(ans) + "\n").encode(), timeout=120)
    return q.returncode, out.decode(), err.decode()
# one authorization obtained for a session that is then abandoned
kept = {}
def first(nt):
    r = req("POST", f"/v1/machines/{b}/nonce", {"nonce_tpm": nt})
    kept.update(r.json)
    return {"nonce": r.json["nonce"], "counter_authorization": None}
rc, out, err = xq(first)
check(rc == 0, f"quote without authorization: {rc} {err}")
def replay(nt):
    r = req("POST", f"/v1/machines/{b}/nonce", {"nonce_tpm": nt})
    return {"nonce": r.json["nonce"], "counter_authorization": kept["counter_authorization"]}
rc, out, err = xq(replay)
check(rc == 4 and "TPM2_PolicySigned" in err and "0x5db" in err and "another session's nonceTPM" in err,
      f"replayed authorization: exit {rc}: {err[-500:]}")
print("  replayed authorization: exit 4, PolicySigned refused (0x5db)")
PY
[ "$(nvval $IDX)" -eq "$L" ] || fail "the replay moved the counter"

# the attester told no authorization: the old counter, FAIL, then a PASS
python3 - <<'PY' || fail "null authorization"
import json, subprocess
from atk import *
b = machine_id("b")
q = subprocess.Popen([TPA, "quote", "--exchange", "--eventlog", LOG, "--out", f"{W}/xn.json"],
                     env=tpm_env("b"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
nt = json.loads(q.stdout.readline())["nonce_tpm"]
r = req("POST", f"/v1/machines/{b}/nonce", {"nonce_tpm": nt})
out, err = q.communicate((json.dumps({"nonce": r.json["nonce"], "counter_authorization": None}) + "\n").encode(), timeout=120)
check(q.returncode == 0 and json.loads(out)["incremented"] is False, f"quote: {q.returncode} {out} {err}")
r = attest(b, json.load(open(f"{W}/xn.json")))
check(r.status == 200 and r.get("verdict") == "fail" and r.get("failed_check") == "counter" and r.get("recorded") is True,
      f"not incremented: {r}")
print("  no authorization given: FAIL counter, recorded")
PY
att "$W/v2" || fail "after the null authorization: $(cat "$W/v2" "$W/v2.err")"
[ "$(verdict "$W/v2")" = "pass None True" ] || fail "after the null authorization: $(head -c 500 "$W/v2")"

# a machine with the older counter (server with --legacy-counters)
serve_stop; unset SERVE_COUNTERS; serve_start
enroll o
python3 - <<'PY' || fail "the older counter's machine"
import json, os, subprocess
from atk import *
o = machine_id("o")
for i in range(3):
    r = req("POST", f"/v1/machines/{o}/nonce", {"nonce_tpm": os.urandom(32).hex()})
    check(r.status == 200 and r.json["counter_authorization"] is None and r.json["counter"]["authorized"] is False, f"nonce: {r}")
check(show(o)["counter_auths"] == 0, f"counted: {show(o)}")
# an authorization (b's) fed to o's attester: refused before the TPM
b = machine_id("b")
q = subprocess.Popen([TPA, "quote", "--exchange", "--eventlog", "none", "--out", f"{W}/xo.json"],
                     env=tpm_env("o"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
line = json.loads(q.stdout.readline())
check(line == {"nonce_tpm": None}, f"the older counter's attester: {line}")
r = req("POST", f"/v1/machines/{b}/nonce", {"nonce_tpm": os.urandom(32).hex()})
out, err = q.communicate((json.dumps({"nonce": r.json["nonce"], "counter_authorization": r.json["counter_authorization"]}) + "\n").encode(), timeout=120)
check(q.returncode == 3 and "a counter authorization for the older counter" in err.decode(), f"{q.returncode} {err}")
print("  the older counter's machine: no authorization given or counted; one fed to it refused")
PY
pass
