#!/usr/bin/env bash
# A find of the adversarial review of issue 13, now defended: the
# freshness a relying party asked for was the signature's, not the
# verdict's.  GET /v1/machines/ID/result signs the machine's LAST verdict
# NOW (iat = now, eat_nonce = the relying party's nonce), so a machine that
# passed once and then stopped attesting (taken over after its last PASS,
# its attester stopped) is "affirming" with a fresh iat and the fresh nonce
# for as long as the server runs.  `tpmattest result verify --nonce N
# --max-age 600`, the man page's example, accepted such a result although
# tpmattest.attested-at was a year old: the check only looked at iat.
# Defence (cli/cmd_result.c): --max-age bounds both iat and
# tpmattest.attested-at, and with --max-age a result without attested-at
# is refused.  Asserted: a verdict of 5 s ago accepted; one of a year ago
# refused (exit 1, naming tpmattest.attested-at and --max-age 600); one
# without attested-at refused (exit 1, naming it).
# The JWT is signed with a key of the test's own (result verify takes any
# JWK): the server makes exactly this shape from an old verdict.
# $1: tpmattest.
set -u
TPA=$(readlink -f "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v python3 >/dev/null || { echo "SKIP: python3 is missing"; exit 77; }
python3 -c 'import cryptography' 2>/dev/null || { echo "SKIP: python3's cryptography module is missing (python3-cryptography)"; exit 77; }
W=$(mktemp -d -t tpa-ear-stale.XXXXXX)
trap 'rm -rf "$W"' EXIT
export W TPA PYTHONPATH=$HERE PYTHONDONTWRITEBYTECODE=1
python3 - <<'PY'
import json, os, sys, time
from ear_atk import *
W, T = os.environ["W"], os.environ["TPA"]
k = Key()
json.dump(k.jwk(), open(f"{W}/k.jwk", "w"))
now = int(time.time())
# the control: a verdict of 5 s ago is accepted
rc, out, err = result_verify(T, jwt(k, claims(iat=now)), f"{W}/k.jwk", "--nonce", NONCE, "--machine", MID, "--max-age", "600", tmp=W)
if rc != 0:
    sys.exit(f"FAIL: a fresh result refused: exit {rc}: {err}")
# the attack: signed now, over the relying party's nonce, verdict a year old
old = claims(iat=now, sub=submod(**{"tpmattest.attested-at": now - 365 * 86400}))
rc, out, err = result_verify(T, jwt(k, old), f"{W}/k.jwk", "--nonce", NONCE, "--machine", MID, "--max-age", "600", tmp=W)
if rc != 1 or "s ago (tpmattest.attested-at), more than --max-age 600" not in err:
    sys.exit(f"FAIL: result verify --max-age 600 accepted (exit {rc}) a verdict attested "
             f"{365 * 86400} s ago because the result was signed now: {out.strip()} {err.strip()}")
# an affirming result without attested-at cannot show its verdict is fresh
noat = claims(iat=now, sub=submod(**{"tpmattest.attested-at": None}))
rc, out, err = result_verify(T, jwt(k, noat), f"{W}/k.jwk", "--max-age", "600", tmp=W)
if rc != 1 or "no tpmattest.attested-at" not in err:
    sys.exit(f"FAIL: result verify --max-age 600 accepted (exit {rc}) an affirming result with no "
             f"tpmattest.attested-at: {out.strip()} {err.strip()}")
print("PASS")
PY
