#!/usr/bin/env bash
# A find of the adversarial review of issue 13, now defended:
# `tpmattest result verify --max-age SECONDS` computed now - iat in int64
# (cli/cmd_result.c decide()), and tpa_ear_verify let iat be any int64.
# With iat = -2^63 the subtraction overflowed (undefined behaviour; in
# practice it wrapped to a negative age) and a result "issued" at the
# smallest time there is passed --max-age 600.  Only a signer the relying
# party trusts can make such a JWT (the server signs time(NULL)), so this is
# defence in depth: result verify is also what relying parties run against
# other EAR producers' keys.  Defence: tpa_ear_verify refuses an iat, exp or
# tpmattest.attested-at outside 0..253402300799 (1970 to 9999) as malformed,
# naming the claim, and decide() compares iat < now - max_age with
# --max-age at most 10 years (a usage error above), which cannot overflow.
# Asserted: exit 3 naming the claim for iat -1, -2^62, -2^63 and year 10000,
# exp and attested-at -2^63; exit 2 for --max-age over 10 years.
# $1: tpmattest.
set -u
TPA=$(readlink -f "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v python3 >/dev/null || { echo "SKIP: python3 is missing"; exit 77; }
python3 -c 'import cryptography' 2>/dev/null || { echo "SKIP: python3's cryptography module is missing (python3-cryptography)"; exit 77; }
W=$(mktemp -d -t tpa-ear-iat.XXXXXX)
trap 'rm -rf "$W"' EXIT
export W TPA PYTHONPATH=$HERE PYTHONDONTWRITEBYTECODE=1
python3 - <<'PY'
import json, os, sys
from ear_atk import *
W, T = os.environ["W"], os.environ["TPA"]
k = Key()
json.dump(k.jwk(), open(f"{W}/k.jwk", "w"))
for iat in (-1, -(2 ** 62), -(2 ** 63), 253402300800):
    rc, out, err = result_verify(T, jwt(k, claims(iat=iat)), f"{W}/k.jwk", "--max-age", "600", tmp=W)
    if rc != 3 or f"iat: {iat} is not a time" not in err:
        sys.exit(f"FAIL: iat {iat} with --max-age 600: exit {rc}, not 3 naming iat: {out.strip()} {err.strip()}")
for name, c in (("exp", claims(exp=-(2 ** 63))),
                ("tpmattest.attested-at", claims(sub=submod(**{"tpmattest.attested-at": -(2 ** 63)})))):
    rc, out, err = result_verify(T, jwt(k, c), f"{W}/k.jwk", "--max-age", "600", tmp=W)
    if rc != 3 or f"{name}: {-(2 ** 63)} is not a time" not in err:
        sys.exit(f"FAIL: {name} -2^63: exit {rc}, not 3 naming it: {out.strip()} {err.strip()}")
rc, out, err = result_verify(T, jwt(k), f"{W}/k.jwk", "--max-age", str(2 ** 63 - 1), tmp=W)
if rc != 2 or "--max-age: more than" not in err:
    sys.exit(f"FAIL: --max-age 2^63-1: exit {rc}, not 2: {err.strip()}")
print("PASS")
PY
