#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""`tpmattest result verify` against EAR JWTs made here, independently of
the library: a P-256 key and its JWK (RFC 7638 kid) with Python's
cryptography (Debian 12's 38.0.4 API only), ES256 signatures as r || s,
base64url without padding.  Each case asserts the exact exit status and
that the message names the reason.  Usage: result_verify.py TPMATTEST.
Exit 77 (skip) without the cryptography module."""
import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import time

try:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
except ImportError:
    print("SKIP: python3 cryptography is not installed")
    sys.exit(77)

TPA = sys.argv[1]
MID = "5c" * 32
PROFILE = "tag:github.com,2023:veraison/ear"
W = tempfile.mkdtemp(prefix="tpa-result-")
failures = 0


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwk_of(key):
    n = key.public_key().public_numbers()
    x, y = b64u(n.x.to_bytes(32, "big")), b64u(n.y.to_bytes(32, "big"))
    canon = '{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}' % (x, y)
    kid = b64u(hashlib.sha256(canon.encode()).digest())
    return {"kty": "EC", "crv": "P-256", "x": x, "y": y, "alg": "ES256", "use": "sig",
            "kid": kid}


def es256(key, data):
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def jwt(key, claims, header=None, kid=True, sig=None):
    h = header if header is not None else {"alg": "ES256", "typ": "JWT"}
    if header is None and kid:
        h["kid"] = jwk_of(key)["kid"]
    hp = b64u(json.dumps(h, separators=(",", ":")).encode()) + "." + \
        b64u(json.dumps(claims, separators=(",", ":")).encode())
    s = sig(hp.encode()) if sig else es256(key, hp.encode())
    return hp + "." + b64u(s)


def claims(status="affirming", vec=(2, 2, 3, 2), iat=None, nonce=None, failed=(),
           at=0, **extra):
    # at: the verdict's time, 0 = now (None: no tpmattest.attested-at)
    at = int(time.time()) if at == 0 else at
    c = {"eat_profile": PROFILE, "iat": int(time.time()) if iat is None else iat,
         "ear.verifier-id": {"build": "independent 1.0", "developer": "tests"},
         "submods": {MID: {
             "ear.status": status,
             "ear.trustworthiness-vector": dict(zip(
                 ["instance-identity", "hardware", "executables", "configuration"], vec)),
             "ear.appraisal-policy-id": "tpmattest:policy/golden@sha256:" + "ab" * 32,
             "tpmattest.verdict": "pass" if status in ("affirming", "warning") else
             (None if status == "none" else "fail"),
             "tpmattest.attested-at": at, "tpmattest.seq": 7,
             "tpmattest.failed-checks": [{"name": n, "status": "fail", "reason": "r " + n}
                                         for n in failed]}}}
    if nonce:
        c["eat_nonce"] = nonce
    c.update(extra)
    return c


def write(name, text):
    p = os.path.join(W, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def run(args, stdin=None):
    p = subprocess.run([TPA, "result"] + args, input=stdin, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def expect(desc, want_rc, args, reason=None, out=None, stdin=None):
    global failures
    rc, so, se = run(args, stdin)
    bad = []
    if rc != want_rc:
        bad.append("exit %d, want %d" % (rc, want_rc))
    if reason is not None and reason not in se:
        bad.append("stderr does not name %r" % reason)
    if out is not None and out not in so:
        bad.append("stdout does not hold %r" % out)
    if bad:
        failures += 1
        print("FAIL: %s: %s\n  stdout: %s\n  stderr: %s" % (desc, "; ".join(bad), so[:600],
                                                           se[:600]))
    else:
        print("ok: %s" % desc)
    return so


key = ec.generate_private_key(ec.SECP256R1())
other = ec.generate_private_key(ec.SECP256R1())
KEY = write("key.jwk", json.dumps(jwk_of(key)))


def verify(desc, want_rc, token, *extra, reason=None, out=None):
    return expect(desc, want_rc, ["verify", write("r.jwt", token + "\n"), "--key", KEY] +
                  list(extra), reason, out)


good = jwt(key, claims())
verify("affirming, signed independently", 0, good, out="affirming: machine " + MID)
so = verify("--json", 0, good, "--json")
try:
    d = json.loads(so)
    assert d["valid_signature"] is True and d["accepted"] is True and d["reason"] is None
    assert d["status"] == "affirming" and d["machine_id"] == MID
    assert d["claims"]["eat_profile"] == PROFILE and d["claims"]["submods"][MID]["tpmattest.seq"] == 7
    print("ok: --json fields")
except Exception as e:  # noqa: BLE001
    failures += 1
    print("FAIL: --json fields: %r in %s" % (e, so[:600]))
expect("from stdin, trailing newline", 0, ["verify", "-", "--key", KEY], stdin=good + "\r\n")
verify("without kid and typ", 0, jwt(key, claims(), header={"alg": "ES256"}))

# statuses
verify("warning refused", 1, jwt(key, claims("warning", (2, 2, 0, 0))),
       reason="status warning")
verify("warning with --allow-warning", 0, jwt(key, claims("warning", (2, 2, 0, 0))),
       "--allow-warning")
verify("contraindicated", 1, jwt(key, claims("contraindicated", (2, 2, 3, 96),
                                             failed=("pcr_digest", "policy"))),
       "--allow-warning", reason="status contraindicated, failed checks: pcr_digest, policy")
verify("none", 1, jwt(key, claims("none", (0, 0, 0, 0))), "--allow-warning",
       reason="status none")
verify("affirming over a contraindicated vector", 3, jwt(key, claims("affirming", (2, 2, 96, 2))),
       reason="worst claim")

# tampering
h, p, s = good.split(".")
pb = bytearray(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
pb[pb.index(b"affirming")] ^= 0x01  # "`ffirming": still JSON, another payload
verify("payload byte changed", 1, h + "." + b64u(bytes(pb)) + "." + s, reason="does not verify")
verify("payload re-encoded from other claims", 1,
       h + "." + b64u(json.dumps(claims("affirming", iat=1)).encode()) + "." + s,
       reason="does not verify")
none_h = b64u(b'{"alg":"none","typ":"JWT"}')
verify("alg none, no signature", 1, none_h + "." + p + ".", reason='alg "none"')
verify("alg none, the old signature", 1, none_h + "." + p + "." + s, reason='alg "none"')
secret = open(KEY, "rb").read()
verify("HS256 with the public JWK as the secret", 1,
       jwt(key, claims(), header={"alg": "HS256", "typ": "JWT"},
           sig=lambda d: hmac.new(secret, d, hashlib.sha256).digest()),
       reason="only ES256")
sig = base64.urlsafe_b64decode(s + "==")
verify("signature truncated (63 bytes)", 1, h + "." + p + "." + b64u(sig[:63]),
       reason="63 bytes")
verify("signature byte changed", 1, h + "." + p + "." + b64u(sig[:10] + bytes([sig[10] ^ 1]) +
                                                               sig[11:]),
       reason="does not verify")
verify("signature as DER", 1, h + "." + p + "." + b64u(key.sign(
    (h + "." + p).encode(), ec.ECDSA(hashes.SHA256()))), reason="not ES256's 64")
verify("another key, no kid", 1, jwt(other, claims(), kid=False), reason="does not verify")
verify("another key, its kid", 1, jwt(other, claims()), reason="kid")
verify("kid mismatch, right key", 1,
       jwt(key, claims(), header={"alg": "ES256", "kid": jwk_of(other)["kid"]}),
       reason="is not this key's")
verify("crit header", 1, jwt(key, claims(), header={"alg": "ES256", "crit": ["b64"], "b64": False}),
       reason="critical")
verify("another profile", 1, jwt(key, claims(eat_profile="tag:ietf.org,2026:rats/ear#04")),
       reason="eat_profile")

# junk
verify("not a JWT", 3, "hello world", reason="three base64url parts")
verify("padding", 3, h + "=." + p + "." + s, reason="header: not base64url")
verify("four parts", 3, good + ".x", reason="three base64url parts")
verify("header not JSON", 3, b64u(b"{alg") + "." + p + "." + s, reason="header: not JSON")
hp = h + "." + b64u(b"{not json")
verify("payload not JSON, validly signed", 3, hp + "." + b64u(es256(key, hp.encode())),
       reason="payload: not JSON")

# freshness and binding
n = os.urandom(16).hex()
verify("--nonce matches", 0, jwt(key, claims(nonce=n)), "--nonce", n.upper())
verify("--nonce differs", 1, jwt(key, claims(nonce=n)), "--nonce", "00" * 16,
       reason="is not the nonce given")
verify("--nonce, no eat_nonce", 1, good, "--nonce", n, reason="no eat_nonce")
now = int(time.time())
verify("--max-age exceeded", 1, jwt(key, claims(iat=now - 1000, at=now - 1000)), "--max-age",
       "60", reason=" s ago (iat), more than --max-age 60")
verify("--max-age within", 0, jwt(key, claims(iat=now - 1000, at=now - 2000)), "--max-age",
       "5000")
# --max-age bounds the verdict too: the server signs the last verdict now
verify("--max-age, the verdict older", 1, jwt(key, claims(iat=now, at=now - 1000)), "--max-age",
       "600", reason=" s ago (tpmattest.attested-at), more than --max-age 600")
verify("--max-age, no attested-at", 1, jwt(key, claims(iat=now, at=None)), "--max-age", "600",
       reason="no tpmattest.attested-at")
verify("no --max-age: 600 s by default, an old verdict", 1, jwt(key, claims(iat=now, at=now - 10 ** 8)),
       reason="more than --max-age 600")
verify("no --max-age: 600 s by default, an old signature", 1, jwt(key, claims(iat=now - 700)),
       reason="s ago (iat), more than --max-age 600")
verify("--any-age, an old verdict", 0, jwt(key, claims(iat=now - 10 ** 8, at=now - 10 ** 8)), "--any-age")
verify("--any-age, no attested-at", 0, jwt(key, claims(iat=now, at=None)), "--any-age")
verify("--any-age with --max-age", 2, jwt(key, claims()), "--any-age", "--max-age", "60")
verify("attested-at in the future", 1, jwt(key, claims(at=now + 1000)),
       reason="s in the future (tpmattest.attested-at")
verify("iat before 1970", 3, jwt(key, claims(iat=-1)), reason="iat: -1 is not a time")
verify("iat -2^63, --max-age", 3, jwt(key, claims(iat=-2 ** 63, at=now)), "--max-age", "600",
       reason="iat: -9223372036854775808 is not a time")
verify("iat in the future", 1, jwt(key, claims(iat=now + 1000)), reason="in the future")
verify("iat a little ahead (skew)", 0, jwt(key, claims(iat=now + 60)))
verify("exp passed", 1, jwt(key, claims(exp=now - 10)), reason="expired")
verify("--machine matches", 0, good, "--machine", MID.upper())
verify("--machine differs", 1, good, "--machine", "ab" * 32, reason="not " + "ab" * 32)

# usage, files, keys
J = write("g.jwt", good)
expect("no --key", 2, ["verify", J], reason="--key")
expect("no JWT", 2, ["verify", "--key", KEY], reason="one JWT")
expect("bad --nonce", 2, ["verify", J, "--key", KEY, "--nonce", "xyz"], reason="--nonce")
expect("short --nonce", 2, ["verify", J, "--key", KEY, "--nonce", "0011"], reason="--nonce")
expect("bad --max-age", 2, ["verify", J, "--key", KEY, "--max-age", "ten"], reason="--max-age")
expect("--max-age over 10 years", 2, ["verify", J, "--key", KEY, "--max-age", "315360001"],
       reason="--max-age: more than 315360000 s")
expect("bad --machine", 2, ["verify", J, "--key", KEY, "--machine", "12"], reason="--machine")
expect("unknown subcommand", 2, ["check", J], reason="unknown subcommand")
expect("unknown option", 2, ["verify", J, "--key", KEY, "--frob"], reason="unknown option")
expect("--help", 0, ["verify", "--help"], out="usage: tpmattest result verify")
expect("result --help", 0, ["--help"], out="usage: tpmattest result verify")
expect("JWT unreadable", 4, ["verify", os.path.join(W, "absent.jwt"), "--key", KEY],
       reason="cannot read")
expect("key unreadable", 4, ["verify", J, "--key", os.path.join(W, "absent.jwk")],
       reason="cannot read")
expect("key not JSON", 3, ["verify", J, "--key", write("bad.jwk", "{kty")], reason="JWK")
pt = jwk_of(key)
pt["y"] = b64u(((key.public_key().public_numbers().y + 1) % 2**256).to_bytes(32, "big"))
del pt["kid"]
expect("key not on the curve", 3, ["verify", J, "--key", write("off.jwk", json.dumps(pt))],
       reason="not a point on P-256")
wrong_kid = jwk_of(key)
wrong_kid["kid"] = "someone-else"
expect("key with a kid that is not its thumbprint", 3,
       ["verify", J, "--key", write("kid.jwk", json.dumps(wrong_kid))], reason="thumbprint")

print("%d failed" % failures if failures else "all passed")
sys.exit(1 if failures else 0)
