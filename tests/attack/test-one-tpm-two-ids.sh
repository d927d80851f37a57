#!/usr/bin/env bash
# One TPM, two machines: a TPM has an RSA and an ECC default EK, both
# certified, and the machine id is the hash of the one EK the AK was made
# under.  After enrolling with tpmattest's AK (under the ECC EK), the same
# TPM enrolls again with an AK made under its RSA EK (tpm2_createak) and
# gets a second machine id -- one genuine TPM counts as two machines, with
# one NV counter between them.  What is right: an enrollment whose request
# carries any EK of an enrolled machine is 409 already_enrolled (keep every
# EK's hash of the request, unique in the store).
command -v tpm2_createak >/dev/null || { echo "SKIP: no tpm2_createak"; exit 77; }
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup; serve_start; enroll a
use_tpm a
(
  cd "$W" &&
  tpm2_createek -G rsa -c ek.ctx >/dev/null 2>&1 &&
  tpm2_flushcontext -t >/dev/null 2>&1 &&
  tpm2_createak -C ek.ctx -c ak.ctx -G ecc -g sha256 -s ecdsa -u ak.pub -n ak.name >/dev/null 2>&1 &&
  tpm2_flushcontext -t >/dev/null 2>&1 &&
  tpm2_evictcontrol -C o -c ak.ctx 0x81000101 >/dev/null 2>&1 &&
  tpm2_flushcontext -t >/dev/null 2>&1
) || fail "an AK under the RSA EK"
"$TPA" enroll request --ak-handle 0x81000101 --out "$W/tpm-a/req-rsa.json" >/dev/null 2>&1 || fail "enroll request"
python3 - <<'PY' || fail "one TPM enrolled twice"
from atk import *
A = machine_id("a")
d = f"{W}/tpm-a"
r1 = req("POST", "/v1/enroll", {"name": None, "request": json.load(open(f"{d}/req-rsa.json"))})
if r1.status == 200:
    json.dump(r1.json["challenge"], open(f"{d}/ch2.json", "w"))
    p = subprocess.run([TPA, "enroll", "activate", f"{d}/ch2.json", "--out", f"{d}/resp2.json"],
                       env=tpm_env("a"), capture_output=True, timeout=120)
    check(p.returncode == 0, "activate: " + p.stderr.decode()[-300:])
    r2 = req("POST", "/v1/enroll/activate", open(f"{d}/resp2.json", "rb").read())
    ids = [m["machine_id"] for m in admin("GET", "/v1/machines").json["machines"]]
    fail(f"the TPM of machine {A[:16]} enrolled again under its RSA EK: {r2.status}, "
         f"{len(ids)} machines now ({', '.join(i[:16] for i in ids)})")
check(r1.status == 409 and r1.get("error") == "already_enrolled", f"second enrollment of one TPM: {r1}")
PY
pass
