"""Forged and malformed EAR JWTs and JWKs for the adversarial tests of
tpmattest's results (tests/attack/test-ear-*.sh): an attacker's own P-256
key, raw control over every byte of the header, payload and signature.
Only APIs of Debian 12's python3-cryptography (38)."""
import base64
import hashlib
import json
import time

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature, encode_dss_signature)

PROFILE = "tag:github.com,2023:veraison/ear"
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
MID = "ab" * 32
NONCE = "00112233445566778899aabbccddeeff"


def b64e(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def thumb(x, y):
    canon = json.dumps({"crv": "P-256", "kty": "EC", "x": x, "y": y}, separators=(",", ":"))
    return b64e(hashlib.sha256(canon.encode()).digest())


class Key:
    def __init__(self, priv=None):
        self.priv = priv or ec.generate_private_key(ec.SECP256R1())
        n = self.priv.public_key().public_numbers()
        self.xb, self.yb = n.x.to_bytes(32, "big"), n.y.to_bytes(32, "big")
        self.x, self.y = b64e(self.xb), b64e(self.yb)
        self.kid = thumb(self.x, self.y)

    def jwk(self, **over):
        j = {"kty": "EC", "crv": "P-256", "x": self.x, "y": self.y, "alg": "ES256",
             "use": "sig", "kid": self.kid}
        for k, v in over.items():
            if v is None:
                j.pop(k, None)
            else:
                j[k] = v
        return j

    def rs(self, msg):
        return decode_dss_signature(self.priv.sign(msg, ec.ECDSA(hashes.SHA256())))

    def sig(self, msg):
        r, s = self.rs(msg)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def submod(status="affirming", vec=(2, 2, 3, 2), **over):
    s = {"ear.status": status,
         "ear.trustworthiness-vector": dict(zip(
             ("instance-identity", "hardware", "executables", "configuration"), vec)),
         "ear.appraisal-policy-id": "tpmattest:policy/golden@sha256:" + "00" * 32,
         "tpmattest.verdict": "pass", "tpmattest.attested-at": int(time.time()) - 5,
         "tpmattest.seq": 1, "tpmattest.failed-checks": []}
    s.update(over)
    return s


def claims(mid=MID, nonce=NONCE, sub=None, **over):
    c = {"eat_profile": PROFILE, "iat": int(time.time()),
         "ear.verifier-id": {"build": "tpmattest 0", "developer": "tpmattest"},
         "submods": {mid: sub if sub is not None else submod()}}
    if nonce:
        c["eat_nonce"] = nonce
    c.update(over)
    return c


def enc(v):
    """JSON text (bytes) of v, or v itself when it is bytes/str already."""
    if isinstance(v, bytes):
        return v
    if isinstance(v, str):
        return v.encode()
    return json.dumps(v, separators=(",", ":")).encode()


def header(k, **over):
    h = {"alg": "ES256", "typ": "JWT", "kid": k.kid}
    h.update(over)
    return {a: b for a, b in h.items() if b is not None}


def jwt(k, payload=None, hdr=None, h64=None, p64=None):
    """h64/p64: the parts' text as sent (signed as they are)."""
    h64 = h64 if h64 is not None else b64e(enc(hdr if hdr is not None else header(k)))
    p64 = p64 if p64 is not None else b64e(enc(payload if payload is not None else claims()))
    return h64 + "." + p64 + "." + b64e(k.sig((h64 + "." + p64).encode()))


def payload_of(token):
    """The claims of a JWT, decoded without any check (the tests compare
    them after `tpmattest result verify` accepted the signature)."""
    return json.loads(b64d(token.split(".")[1]))


def result_verify(tpa, token, jwk_path, *args, tmp="/tmp"):
    """`tpmattest result verify` of token: (exit code, stdout, stderr)."""
    import os
    import subprocess
    import tempfile
    fd, path = tempfile.mkstemp(dir=tmp, suffix=".jwt")
    with os.fdopen(fd, "w") as f:
        f.write(token)
    try:
        p = subprocess.run([tpa, "result", "verify", path, "--key", jwk_path, *args],
                           capture_output=True, text=True, timeout=30)
        return p.returncode, p.stdout, p.stderr
    finally:
        os.unlink(path)
