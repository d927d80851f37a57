#!/usr/bin/env bash
# THREATS.md, "rolled back, then pushed forward", for a machine enrolled
# with the OLDER counter (the server runs --legacy-counters; the machine is
# enrolled through the API with `enroll request` without --counter-key):
# restore a snapshot of the TPM's state, then increment the NV counter past
# the last accepted value (tpm2_nvincrement with the owner's empty auth: the
# counter is ownerwrite/authwrite with no policy) and attest: must be
# refused, and is not: expected to fail, docs/rollback.md "What remains
# possible" (test-rollback-forward.sh is the verifier-authorized counter,
# which defends).  The
# naive rollback (restore only) is refused with failed_check "counter";
# the pushed-forward one must be refused too (THREATS: increments need the
# verifier's signed authorization, PolicySigned on the NV index, accepted
# only up to last + authorizations issued).
command -v tpm2_nvincrement >/dev/null || { echo "SKIP: no tpm2_nvincrement"; exit 77; }
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start; enroll a
use_tpm a
# the snapshot: taken after enrollment, before any attestation
swtpm_down a; cp -a "$W/tpm-a/state" "$W/snapshot"; swtpm_up a
"$TPA" eventlog extend "$LOG" >/dev/null || fail "extend"
python3 - <<'PY' || fail "attestations before the rollback"
from atk import *
for i in range(2):
    r = fresh_attest("a"); check(r.get("verdict") == "pass", f"attestation {i}: {r}")
PY
swtpm_down a; rm -rf "$W/tpm-a/state"; cp -a "$W/snapshot" "$W/tpm-a/state"; swtpm_up a
"$TPA" eventlog extend "$LOG" >/dev/null || fail "extend"
python3 - <<'PY' || fail "rollback"
from atk import *
r = fresh_attest("a")
check(r.get("verdict") == "fail" and r.get("failed_check") == "counter" and r.get("recorded") is True,
      f"restored snapshot: {r}")
check(show(machine_id("a"))["last_verdict"] == "fail", "the rollback FAIL is the machine's last verdict")
PY
for i in 1 2 3; do tpm2_nvincrement -C o 0x01000100 >/dev/null 2>&1 || fail "tpm2_nvincrement"; done
python3 - <<'PY' || fail "rolled back, then pushed forward"
from atk import *
r = fresh_attest("a")
check(r.status == 200 and r.get("verdict") == "fail",
      f"restored snapshot, counter incremented past the last accepted value by the owner: "
      f"verdict {r.get('verdict')} (counter {show(machine_id('a'))['state']['counter']['value']} accepted)")
PY
pass
