#!/usr/bin/env bash
# Signed results (EAR, issue 13): what a result costs to make and to check.
#  1. bench-ear: tpa_ear_sign and tpa_ear_verify per result, in process,
#     against the OpenSSL bound (one P-256 ECDSA signature / verification of
#     a signing input of the same length), in the same run.
#  2. The relying party's check against a peer's: the same JWT checked by
#     Python's cryptography (the independent implementation the tests use:
#     base64url, ECDSA verify, json.loads, the status read), in process, in
#     the same run: ratio = Python's time / ours.
# The server's whole cost per attestation with and without signing is
# bench/attest-load BUILD --server OLD/cli/tpmattest (bench/README.md).
# Usage: bench/bench-ear.sh [BUILD_DIR]   (a release build: -Dbench=true)
# Last line: ear: sign_us=.. sign_ratio_bound=.. server_sign_us=.. (the document
#            signed as the server holds it, parsed) server_sign_ratio_bound=..
#            verify_us=.. verify_ratio_bound=..
#            python_verify_us=.. python_over_ours=..
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
case $B in /*) ;; *) B=$PWD/$B ;; esac
E=$B/bench/bench-ear
[ -x "$E" ] || { echo "bench-ear.sh: no $E (meson setup $B -Dbench=true && ninja -C $B)" >&2; exit 2; }
python3 -c 'import cryptography' 2>/dev/null || { echo "bench-ear.sh: python3's cryptography module is missing" >&2; exit 2; }
W=$(mktemp -d -t bench-ear.XXXXXX)
trap 'rm -rf "$W"' EXIT
"$E" --jwt-out "$W/r.jwt" --jwk-out "$W/r.jwk" | tee "$W/c.out"
PY=$(python3 - "$W/r.jwt" "$W/r.jwk" <<'PY'
import base64, json, statistics, sys, time
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
jwt, jwk = open(sys.argv[1]).read().strip(), json.load(open(sys.argv[2]))
def b64(s): return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def check(tok):
    # what a relying party does with its own reader: the JWK's key, the
    # header's alg, the signature, the payload's status
    key = ec.EllipticCurvePublicNumbers(int.from_bytes(b64(jwk["x"]), "big"),
                                        int.from_bytes(b64(jwk["y"]), "big"),
                                        ec.SECP256R1()).public_key()
    h, p, s = tok.split(".")
    assert json.loads(b64(h))["alg"] == "ES256"
    sig = b64(s)
    key.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")),
               (h + "." + p).encode(), ec.ECDSA(hashes.SHA256()))
    c = json.loads(b64(p))
    return next(iter(c["submods"].values()))["ear.status"]
assert check(jwt) == "affirming"
for _ in range(20): check(jwt)
samples = []
for _ in range(101):
    t = time.perf_counter()
    for _ in range(20): check(jwt)
    samples.append((time.perf_counter() - t) / 20)
print("%.1f" % (statistics.median(samples) * 1e6))
PY
)
read -r SIGN SB < <(sed -n 's/^ear sign: us=\([0-9.]*\) bound_us=[0-9.]* ratio=\([0-9.]*\).*/\1 \2/p' "$W/c.out")
read -r SD SDB < <(sed -n 's/^ear sign (parsed document): us=\([0-9.]*\) bound_us=[0-9.]* ratio=\([0-9.]*\).*/\1 \2/p' "$W/c.out")
read -r VER VB < <(sed -n 's/^ear verify: us=\([0-9.]*\) bound_us=[0-9.]* ratio=\([0-9.]*\).*/\1 \2/p' "$W/c.out")
echo "python cryptography verify: us=$PY"
echo "ear: sign_us=$SIGN sign_ratio_bound=$SB server_sign_us=$SD server_sign_ratio_bound=$SDB verify_us=$VER verify_ratio_bound=$VB python_verify_us=$PY python_over_ours=$(python3 -c "print('%.2f' % ($PY / $VER))")"
