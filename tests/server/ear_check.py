#!/usr/bin/env python3
# An independent check of tpmattest's EAR JWTs (issue 13): Python's
# cryptography (Debian 12: python3-cryptography), not tpmattest's code.
#
#   ear_check.py verify JWT_FILE JWK_FILE   prints the payload (JSON) and
#       exits 0 when the JWS is ES256 over a P-256 key whose JWK is
#       JWK_FILE (kid its RFC 7638 thumbprint) and the signature verifies;
#       exits 1 with the reason otherwise
#   ear_check.py tamper JWT_FILE HOW        prints a tampered copy: HOW is
#       payload (one claim changed, re-encoded), header-none (alg "none"),
#       sig (one signature byte flipped), strip (no signature)
#   ear_check.py sign JWK_OUT PAYLOAD_FILE  a JWT over PAYLOAD signed with a
#       fresh key (another verifier), its JWK written to JWK_OUT
import base64
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature, encode_dss_signature)


def b64d(s):
    if any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in s):
        raise ValueError("not base64url: %r" % s[:40])
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def thumbprint(jwk):
    canon = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"], "y": jwk["y"]},
                       separators=(",", ":"), sort_keys=True)
    return b64e(hashlib.sha256(canon.encode()).digest())


def verify(jwt, jwk):
    if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
        return "the JWK is not an EC P-256 key"
    x, y = b64d(jwk["x"]), b64d(jwk["y"])
    if len(x) != 32 or len(y) != 32:
        return "the JWK's x and y are not 32 bytes"
    if jwk.get("kid") != thumbprint(jwk):
        return "the JWK's kid is not its RFC 7638 thumbprint"
    pub = ec.EllipticCurvePublicNumbers(int.from_bytes(x, "big"), int.from_bytes(y, "big"),
                                        ec.SECP256R1()).public_key()
    parts = jwt.split(".")
    if len(parts) != 3:
        return "not three parts"
    header = json.loads(b64d(parts[0]))
    if header != {"alg": "ES256", "typ": "JWT", "kid": jwk["kid"]}:
        return "header %r" % header
    sig = b64d(parts[2])
    if len(sig) != 64:
        return "signature of %d bytes, not 64" % len(sig)
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        pub.verify(der, (parts[0] + "." + parts[1]).encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return "InvalidSignature"
    print(json.dumps(json.loads(b64d(parts[1])), sort_keys=True))
    return None


def tamper(jwt, how):
    h, p, s = jwt.split(".")
    if how == "payload":
        claims = json.loads(b64d(p))
        sub = next(iter(claims["submods"].values()))
        sub["ear.status"] = "affirming" if sub["ear.status"] != "affirming" else "warning"
        return h + "." + b64e(json.dumps(claims, separators=(",", ":")).encode()) + "." + s
    if how == "header-none":
        return b64e(b'{"alg":"none","typ":"JWT"}') + "." + p + "."
    if how == "sig":
        b = bytearray(b64d(s))
        b[10] ^= 1
        return h + "." + p + "." + b64e(bytes(b))
    if how == "strip":
        return h + "." + p + "."
    raise SystemExit("unknown tampering " + how)


def sign(jwk_out, payload):
    key = ec.generate_private_key(ec.SECP256R1())
    n = key.public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64e(n.x.to_bytes(32, "big")),
           "y": b64e(n.y.to_bytes(32, "big")), "alg": "ES256", "use": "sig"}
    jwk["kid"] = thumbprint(jwk)
    with open(jwk_out, "w") as f:
        json.dump(jwk, f)
    h = b64e(json.dumps({"alg": "ES256", "typ": "JWT", "kid": jwk["kid"]}, separators=(",", ":")).encode())
    p = b64e(payload)
    r, s = decode_dss_signature(key.sign((h + "." + p).encode(), ec.ECDSA(hashes.SHA256())))
    return h + "." + p + "." + b64e(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    cmd = sys.argv[1]
    if cmd == "verify":
        why = verify(open(sys.argv[2]).read().strip(), json.load(open(sys.argv[3])))
        if why:
            print(why)
            sys.exit(1)
    elif cmd == "tamper":
        print(tamper(open(sys.argv[2]).read().strip(), sys.argv[3]))
    elif cmd == "sign":
        print(sign(sys.argv[2], open(sys.argv[3], "rb").read()))
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main()
