#!/usr/bin/env bash
# The log memo (tpa_log_memo: a hash-only attestation of an unchanged log,
# PCR values and policy takes the log's checks from the last PASS) must
# never stand for a check that would now fail: a policy document replaced
# under the same name, a machine moved to another policy, a PCR extended
# since the last PASS (same log hash, other claimed values), another PCR
# selection (checked in full, against the held log), and a machine deleted
# and enrolled again (its held log is gone with the old enrollment).
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start --workers 1; enroll a
use_tpm a
"$TPA" quote --nonce "$(openssl rand -hex 32)" --eventlog "$LOG" --out "$W/golden.json" >/dev/null 2>&1 || fail "quote"
"$TPA" policy create "$W/golden.json" --out "$W/golden-policy.json" >/dev/null 2>&1 || fail "policy create"
python3 - <<'PY' || fail "log memo"
from atk import *
A = machine_id("a")
golden = open(f"{W}/golden-policy.json").read()
strict = json.dumps({"version": 2, "pcrs": {"sha256": [0]},
                     "pcr_values": {"sha256": {"0": ["00" * 32]}}})
H = {"Tpmattest-Eventlog-Sha256": sha256hex(open(LOG, "rb").read())}

def hash_only(what, verdict, failed=None, pcrs=None):
    n = nonce(A)
    out = f"{W}/tpm-a/h-{n[:16]}.json"
    cmd = [TPA, "quote", "--nonce", n, "--out", out, "--eventlog", "none"] + (["--pcrs", pcrs] if pcrs else [])
    p = subprocess.run(cmd, env=tpm_env("a"), capture_output=True, timeout=120)
    check(p.returncode == 0, p.stderr.decode()[-400:])
    ev = json.load(open(out)); ev["eventlog"] = None
    r = attest(A, ev, headers=H)
    check(r.status == 200 and r.get("verdict") == verdict and r.get("recorded") is True,
          f"{what}: want {verdict} recorded, got {r}")
    if failed:
        check((r.get("failed_check") or "").startswith(failed), f"{what}: failed check {r.get('failed_check')}, want {failed}")
    return r

for name, doc in (("golden", golden), ("golden2", golden), ("strict2", strict)):
    r = admin("PUT", f"/v1/policies/{name}", doc); check(r.status == 200, f"PUT {name}: {r}")
r = admin("PUT", f"/v1/machines/{A}/policy", {"policy": "golden"}); check(r.status == 200, f"{r}")
r = fresh_attest("a"); check(r.status == 200 and r.get("verdict") == "pass", f"full log, golden: {r}")
hash_only("hash only, golden (the memo)", "pass")
hash_only("hash only again", "pass")
# the document under the same name replaced by one this machine fails
r = admin("PUT", "/v1/policies/golden", strict); check(r.status == 200, f"{r}")
hash_only("hash only after golden was replaced by strict", "fail", "policy")
# another name, the golden document: checked in full, passes; then a
# policy this machine fails under yet another name
r = admin("PUT", f"/v1/machines/{A}/policy", {"policy": "golden2"}); check(r.status == 200, f"{r}")
hash_only("hash only under golden2", "pass")
hash_only("hash only under golden2 (the memo)", "pass")
r = admin("PUT", f"/v1/machines/{A}/policy", {"policy": "strict2"}); check(r.status == 200, f"{r}")
hash_only("hash only under strict2", "fail", "policy")
r = admin("PUT", f"/v1/machines/{A}/policy", {"policy": None}); check(r.status == 200, f"{r}")
hash_only("hash only, no policy", "pass")
r = admin("PUT", f"/v1/machines/{A}/policy", {"policy": "golden2"}); check(r.status == 200, f"{r}")
hash_only("hash only under golden2 once more", "pass")
# another selection (PCRs 0-7): another memo key, the held log checked in
# full, and golden2 (made from a quote of PCRs 0-9) wants PCR 8
hash_only("hash only, PCRs 0-7", "fail", "policy_pcrs", pcrs="0-7")
hash_only("hash only, PCRs 0-9 again", "pass")
# PCR 4 extended since the last PASS: same log hash, other PCR values
p = subprocess.run(["tpm2_pcrextend", "4:sha256=" + "ab" * 32], env=tpm_env("a"), capture_output=True, timeout=60)
check(p.returncode == 0, p.stderr.decode())
hash_only("hash only after PCR 4 was extended", "fail", "eventlog_replay")
hash_only("hash only after PCR 4 was extended, again", "fail", "eventlog_replay")
# deleted and enrolled again: the old enrollment's held log is not the new one's
r = admin("DELETE", f"/v1/machines/{A}"); check(r.status == 200, f"{r}")
mid, _ = enroll("a"); check(mid == A, "id")
n = nonce(A)
ev = quote("a", n); ev["eventlog"] = None
r = attest(A, ev, headers=H)
check(r.status == 409 and r.get("error") == "eventlog_unknown", f"hash only after re-enrollment: {r}")
s = show(A); check(s["state"] is None and s["last_verdict"] is None, f"after the refused hash-only: {s}")
PY
pass
