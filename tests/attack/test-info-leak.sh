#!/usr/bin/env bash
# What unauthenticated callers learn.  Anyone can replay any machine's
# (public) enrollment request with any name: a 409 name_taken must not tell
# them which machine id holds the name (names are what people pick --
# "db-prod-01" -- and an id is what the nonce endpoint needs), nor may any
# answer to an attester endpoint carry another machine's id.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tpm_new b; tls_setup; serve_start; enroll a db-prod-01
python3 - <<'PY' || fail "information to unauthenticated callers"
from atk import *
A = machine_id("a")
reqb = json.load(open(f"{W}/tpm-b/req.json"))
r = req("POST", "/v1/enroll", {"name": "db-prod-01", "request": reqb})
check(r.status == 409 and r.get("error") == "name_taken", f"B with A's name: {r}")
check(A not in r.raw.decode() and A[:16] not in r.raw.decode(),
      f"the 409 name_taken answer names the machine that holds the name: {r.get('reason')}")
PY
pass
