#!/usr/bin/env bash
# What the adversarial review of issue 13 tried against a relying party's
# check of a result (`tpmattest result verify`, tpa_ear_verify and the JWK
# reader) and against the server's result key at start-up, all defended and
# asserted here (exit code and reason): forged JWTs made with an
# attacker's own P-256 key and every byte of header, payload and signature
# under the attacker's control (ear_atk.py).
#  - alg confusion: HS256 (also with the JWK's text as the HMAC secret),
#    none, es256, ES384; duplicate "alg"; kid of another key; jku, jwk, x5u
#    and crit header members; typ other than JWT
#  - base64url: padding, leading whitespace, '+' and '/', the unused low
#    bits of the last character set, 2 or 4 parts, an empty signature
#  - ECDSA: r = 0, s = n, all-zero signature, another key's signature
#  - payload: duplicate ear.status (strict reader), NUL escape, overlong
#    UTF-8, BOM, trailing data, nesting deeper than 32, larger than the
#    cap; iat as 1e20, 1.5, "1", 2^63, 2^64-1, 300+ s in the future; exp
#    passed or a float; the submodule named in uppercase, short, two or no
#    submodules; affirming (or warning) with a warning or contraindicated
#    claim (also -97, file-system 96), a claim of 128, "AFFIRMING"; a
#    top-level ear.status affirming over a contraindicated submodule;
#    another profile; eat_nonce in uppercase; another nonce, no nonce,
#    another machine
#  - the JWK: x of 33 bytes with a leading zero or of 31, not on the
#    curve, (0, 0), the negated point, d present, kty oct or "ec", P-384,
#    secp256k1, alg ES384, use enc, a wrong kid, duplicate x, a JWK set,
#    x as a number or padded, an array
#  - the key file at start-up (no swtpm needed): encrypted PEM, Ed25519,
#    a directory, a symbolic link, a truncated PEM, owned by another user
#    (as root), mode 0640, empty; two servers starting at once on one new
#    key file end with the same key (five rounds)
# Noted, accepted and asserted as such: a high-S signature (RFC 7518 does
# not ask for low S; the claims are the same), and a header without typ
# and kid.
# $1: tpmattest.
set -u
TPA=$(readlink -f "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v python3 >/dev/null || { echo "SKIP: python3 is missing"; exit 77; }
python3 -c 'import cryptography' 2>/dev/null || { echo "SKIP: python3's cryptography module is missing (python3-cryptography)"; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: openssl is missing"; exit 77; }
W=$(mktemp -d -t tpa-ear-refusals.XXXXXX)
PIDS=()
cleanup() { local p; for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$W"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export W TPA PYTHONPATH=$HERE PYTHONDONTWRITEBYTECODE=1

python3 - <<'PY' || fail "result verify accepted or misjudged a forged JWT or JWK"
import hashlib, hmac, json, os, sys, time
from ear_atk import *
W, T = os.environ["W"], os.environ["TPA"]
k, other = Key(), Key()
KJ = f"{W}/k.jwk"
json.dump(k.jwk(), open(KJ, "w"))
bad = []

def case(name, tok, rc, msg, *extra, key=KJ):
    got, out, err = result_verify(T, tok, key, *extra, tmp=W)
    if got != rc or msg not in err + out:
        bad.append(f"{name}: exit {got} (want {rc} with {msg!r}): {err.strip()[:200]}")

H = b64e(enc(header(k)))
PL = b64e(enc(claims()))
MSG = (H + "." + PL).encode()
r, s = k.rs(MSG)
def rs(rv, sv): return H + "." + PL + "." + b64e(rv.to_bytes(32, "big") + sv.to_bytes(32, "big"))
SIGBAD = "the signature does not verify with this key"
case("genuine", jwt(k), 0, "affirming: machine " + MID)
case("high S", rs(r, N - s), 0, "affirming")
case("no typ, no kid", jwt(k, hdr={"alg": "ES256"}), 0, "affirming")
# alg confusion
case("HS256", jwt(k, hdr=header(k, alg="HS256")), 1, 'alg "HS256": only ES256')
hh = b64e(enc({"alg": "HS256", "typ": "JWT"}))
case("HS256 keyed with the JWK", hh + "." + PL + "." + b64e(hmac.new(open(KJ, "rb").read(), (hh + "." + PL).encode(), hashlib.sha256).digest()), 1, 'alg "HS256"')
case("none", b64e(enc({"alg": "none"})) + "." + PL + ".", 1, 'alg "none"')
case("es256", jwt(k, hdr=header(k, alg="es256")), 1, 'alg "es256"')
case("ES384", jwt(k, hdr=header(k, alg="ES384")), 1, 'alg "ES384"')
case("duplicate alg", jwt(k, h64=b64e(b'{"alg":"ES256","alg":"none"}')), 3, "member name already used")
case("kid of another key", jwt(k, hdr=header(k, kid=other.kid)), 1, "is not this key's")
for p in ("jku", "jwk", "x5u", "x5c", "b64"):
    case("header " + p, jwt(k, hdr=header(k, **{p: "x"})), 1, f'parameter "{p}" is not understood')
case("crit", jwt(k, hdr=header(k, crit=["exp"])), 1, "critical extension list")
case("typ jose", jwt(k, hdr=header(k, typ="JOSE")), 3, 'typ: not "JWT"')
# base64url
case("padding", H + "=." + PL + "." + b64e(k.sig(MSG)), 3, "header: not base64url")
case("leading space", " " + jwt(k), 3, "header: not base64url")
SIG64 = b64e(k.sig(MSG))
case("+ in the signature", H + "." + PL + ".+" + SIG64[1:], 3, "signature: not base64url")
case("/ in the signature", H + "." + PL + "./" + SIG64[1:], 3, "signature: not base64url")
A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
t = jwt(k); sg = t.rsplit(".", 1)[1]
case("non-canonical last character", t.rsplit(".", 1)[0] + "." + sg[:-1] + A[A.index(sg[-1]) | 1], 3, "signature: not base64url")
case("4 parts", jwt(k) + ".AAAA", 3, "not a JWS compact serialization")
case("2 parts", H + "." + PL, 3, "not a JWS compact serialization")
case("empty signature", H + "." + PL + ".", 1, "signature: 0 bytes")
# ECDSA
case("r = 0", rs(0, s), 1, SIGBAD)
case("s = n", rs(r, N), 1, SIGBAD)
case("all zero", H + "." + PL + "." + b64e(bytes(64)), 1, SIGBAD)
case("another key's signature", H + "." + PL + "." + b64e(other.sig(MSG)), 1, SIGBAD)
case("payload changed after signing", H + "." + b64e(enc(claims(sub=submod(status="affirming", **{"tpmattest.seq": 2})))) + "." + b64e(k.sig(MSG)), 1, SIGBAD)
# payload
case("duplicate ear.status", jwt(k, p64=b64e(enc(claims()).replace(b'"ear.status":"affirming"', b'"ear.status":"contraindicated","ear.status":"affirming"'))), 3, "member name already used")
case("NUL escape", jwt(k, p64=b64e(enc(claims()).replace(b'"tpmattest"}', b'"tpm\\u0000attest"}'))), 3, "\\u0000 in a string")
case("overlong UTF-8", jwt(k, p64=b64e(enc(claims()).replace(b'"tpmattest"}', b'"tpm\xc0\xafattest"}'))), 3, "not UTF-8")
case("BOM", jwt(k, p64=b64e(b"\xef\xbb\xbf" + enc(claims()))), 3, "payload: not JSON")
case("trailing data", jwt(k, p64=b64e(enc(claims()) + b" {}")), 3, "data after the JSON document")
case("deep", jwt(k, claims(deep=json.loads('{"a":' * 100 + "1" + "}" * 100))), 3, "nested deeper than 32")
case("larger than the cap", jwt(k, claims(pad="A" * 300000)), 3, "larger than")
case("not an object", jwt(k, p64=b64e(b"[1]")), 3, "payload: not a JSON object")
case("iat 1e20", jwt(k, p64=b64e(enc(claims()).replace(b'"iat":', b'"iat":1e20,"x":'))), 3, "iat: missing or not an integer")
for name, v in (("1.5", 1.5), ("string", "1"), ("2^63", 2 ** 63), ("2^64-1", 2 ** 64 - 1)):
    case("iat " + name, jwt(k, claims(iat=v)), 3, "iat: missing or not an integer")
case("iat in the future", jwt(k, claims(iat=int(time.time()) + 1000)), 1, "in the future")
case("iat too old", jwt(k, claims(iat=int(time.time()) - 1000)), 1, "more than --max-age 600", "--max-age", "600")
case("exp passed", jwt(k, claims(exp=int(time.time()) - 1)), 1, "(exp)")
case("exp float", jwt(k, claims(exp=1e12)), 3, "exp: not an integer")
case("submodule uppercase", jwt(k, claims(mid="AB" * 32)), 3, "not a machine id")
case("submodule short", jwt(k, claims(mid="ab" * 31)), 3, "not a machine id")
c = claims(); c["submods"]["cd" * 32] = submod()
case("two submodules", jwt(k, c), 3, "2 submodules")
c = claims(); c["submods"] = {}
case("no submodule", jwt(k, c), 3, "0 submodules")
WORSE = "is better than its vector's worst claim"
case("affirming, executables 96", jwt(k, claims(sub=submod(vec=(2, 2, 96, 2)))), 3, WORSE)
case("affirming, executables 33", jwt(k, claims(sub=submod(vec=(2, 2, 33, 2)))), 3, WORSE)
case("affirming, executables -97", jwt(k, claims(sub=submod(vec=(2, 2, -97, 2)))), 3, WORSE)
case("warning, executables 96", jwt(k, claims(sub=submod(status="warning", vec=(2, 2, 96, 2)))), 3, WORSE, "--allow-warning")
v = dict(submod()["ear.trustworthiness-vector"], **{"file-system": 96})
case("affirming, file-system 96", jwt(k, claims(sub=submod(**{"ear.trustworthiness-vector": v}))), 3, WORSE)
case("claim 128", jwt(k, claims(sub=submod(vec=(2, 2, 128, 2)))), 3, "not an integer in -128..127")
case("claim 3.0", jwt(k, claims(sub=submod(vec=(2, 2, 3.0, 2)))), 3, "not an integer in -128..127")
case("AFFIRMING", jwt(k, claims(sub=submod(status="AFFIRMING"))), 3, "ear.status: missing or not")
case("top-level affirming over contraindicated", jwt(k, claims(sub=submod(status="contraindicated", vec=(2, 2, 96, 2)), **{"ear.status": "affirming"})), 1, "status contraindicated")
case("none", jwt(k, claims(sub=submod(status="none", vec=(0, 0, 0, 0)))), 1, "status none")
case("warning without --allow-warning", jwt(k, claims(sub=submod(status="warning", vec=(2, 2, 0, 0)))), 1, "--allow-warning accepts it")
case("another profile", jwt(k, claims(eat_profile="tag:example.com,2023:other")), 1, "is not tag:github.com,2023:veraison/ear")
case("eat_nonce uppercase", jwt(k, claims(nonce="AA" * 16)), 3, "eat_nonce: not 16..64 lowercase hex digits", "--nonce", "aa" * 16)
case("another nonce", jwt(k), 1, "is not the nonce given", "--nonce", "11" * 16)
case("no nonce", jwt(k, claims(nonce=None)), 1, "has no eat_nonce", "--nonce", NONCE)
case("another machine", jwt(k), 1, "the result is for machine " + MID, "--machine", "cd" * 32)
case("the nonce given in uppercase", jwt(k), 0, "affirming", "--nonce", NONCE.upper())

# the JWK
TOK = jwt(k)
def jwkcase(name, j, rc, msg):
    path = f"{W}/j.jwk"
    open(path, "w").write(j if isinstance(j, str) else json.dumps(j))
    case("JWK " + name, TOK, rc, msg, key=path)
COORD = "not the base64url of 32 bytes"
PT = "is not a point on P-256"
jwkcase("minimal", {"kty": "EC", "crv": "P-256", "x": k.x, "y": k.y}, 0, "affirming")
jwkcase("key_ops", k.jwk(key_ops=["verify"]), 0, "affirming")
jwkcase("x of 33 bytes, leading zero", k.jwk(x=b64e(b"\0" + k.xb), kid=None), 3, COORD)
jwkcase("x of 31 bytes", k.jwk(x=b64e(k.xb[1:]), kid=None), 3, COORD)
jwkcase("x padded", k.jwk(x=k.x + "="), 3, COORD)
jwkcase("not on the curve", k.jwk(y=b64e(((int.from_bytes(k.yb, "big") + 1) % P).to_bytes(32, "big")), kid=None), 3, PT)
jwkcase("(0, 0)", k.jwk(x=b64e(bytes(32)), y=b64e(bytes(32)), kid=None), 3, PT)
jwkcase("y = p", k.jwk(y=b64e(P.to_bytes(32, "big")), kid=None), 3, PT)
jwkcase("the negated point", k.jwk(y=b64e((P - int.from_bytes(k.yb, "big")).to_bytes(32, "big")), kid=None), 1, "is not this key's")
jwkcase("d", k.jwk(d=b64e(k.priv.private_numbers().private_value.to_bytes(32, "big"))), 3, "holds the private key (d)")
jwkcase("kty oct", {"kty": "oct", "k": b64e(b"secret")}, 3, "kty and crv are required")
jwkcase("kty oct with crv", {"kty": "oct", "crv": "P-256", "k": b64e(b"secret")}, 3, "only an EC P-256 key")
jwkcase("kty ec", k.jwk(kty="ec"), 3, "only an EC P-256 key")
jwkcase("P-384", k.jwk(crv="P-384"), 3, "only an EC P-256 key")
jwkcase("secp256k1", k.jwk(crv="secp256k1"), 3, "only an EC P-256 key")
jwkcase("alg ES384", k.jwk(alg="ES384"), 3, 'alg "ES384": only ES256')
jwkcase("alg HS256", k.jwk(alg="HS256"), 3, 'alg "HS256": only ES256')
jwkcase("use enc", k.jwk(use="enc"), 3, "not a signature key")
jwkcase("wrong kid", k.jwk(kid="abc"), 3, "is not the key's RFC 7638 thumbprint")
jwkcase("duplicate x", '{"kty":"EC","crv":"P-256","x":"%s","x":"%s","y":"%s"}' % (other.x, k.x, k.y), 3, "member name already used")
jwkcase("a JWK set", {"keys": [k.jwk()]}, 3, "kty and crv are required")
jwkcase("x a number", k.jwk(x=5), 3, "x: missing or not a string")
jwkcase("an array", [k.jwk()], 3, "not a JSON object")
jwkcase("another key", other.jwk(), 1, "is not this key's")
if bad:
    print("\n".join(bad), file=sys.stderr)
    sys.exit(1)
print(f"ok: forged JWTs and JWKs judged as expected")
PY

# ---- the key file at start-up ----
cd "$W" || fail "cd $W"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout s.key -out s.pem \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 1 >/dev/null 2>&1 || fail "TLS certificate"
mkdir roots && cp s.pem roots/
# serve_try KEY [DB]: "started" when the server listened, else "exit N: first line of stderr"
serve_try() {
  local db=${2:-$W/v.db} p i
  rm -f "$W/port.try"
  timeout 20 "$TPA" serve --listen 127.0.0.1:0 --port-file "$W/port.try" --db "$db" --tls-cert s.pem \
    --tls-key s.key --admin-ca s.pem --ek-roots roots --result-key "$1" 2>"$W/serve.err" &
  p=$!
  for i in $(seq 100); do [ -s "$W/port.try" ] && break; kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if [ -s "$W/port.try" ]; then kill "$p"; wait "$p" 2>/dev/null; echo started; return; fi
  wait "$p"; echo "exit $?: $(head -1 "$W/serve.err")"
}
refused() { # KEY CODE MESSAGE
  local got; got=$(serve_try "$1")
  case "$got" in "exit $2: "*"$3"*) ;; *) fail "key file $1: $got (want exit $2 with '$3')";; esac
}
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256.pem 2>/dev/null; chmod 600 p256.pem
[ "$(serve_try p256.pem)" = started ] || fail "a genuine P-256 key: $(cat serve.err)"
openssl pkey -in p256.pem -aes256 -passout pass:x -out enc.pem 2>/dev/null; chmod 600 enc.pem
refused enc.pem 3 "not a PEM private key (PKCS#8 or SEC1, unencrypted)"
openssl genpkey -algorithm ed25519 -out ed.pem 2>/dev/null; chmod 600 ed.pem
refused ed.pem 3 "not an ECC NIST P-256 key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out p384.pem 2>/dev/null; chmod 600 p384.pem
refused p384.pem 3 "not an ECC NIST P-256 key"
mkdir -m 700 adir
refused adir 4 "not a regular file"
ln -s p256.pem link.pem
refused link.pem 4 "Too many levels of symbolic links"
head -c 100 p256.pem >trunc.pem; chmod 600 trunc.pem
refused trunc.pem 3 "not a PEM private key"
: >empty.pem; chmod 600 empty.pem
refused empty.pem 3 "0 bytes, not a key"
cp p256.pem g.pem; chmod 640 g.pem
refused g.pem 4 "group or others may read or write it (mode 0640)"
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  cp p256.pem nobody.pem; chown nobody nobody.pem
  refused nobody.pem 4 "owned by uid $(id -u nobody), not by this server's (0)"
fi
# two servers starting at once on one new key file: one key
for round in 1 2 3 4 5; do
  rm -f race.pem p1 p2 v1.db* v2.db*
  PIDS=()
  for n in 1 2; do
    timeout 20 "$TPA" serve --listen 127.0.0.1:0 --port-file "p$n" --db "v$n.db" --tls-cert s.pem --tls-key s.key \
      --admin-ca s.pem --ek-roots roots --result-key race.pem 2>"race$n.err" &
    PIDS+=($!)
  done
  for i in $(seq 100); do [ -s p1 ] && [ -s p2 ] && break; sleep 0.1; done
  [ -s p1 ] && [ -s p2 ] || fail "round $round: two servers on one new key file did not both start: $(cat race1.err race2.err)"
  j1=$(python3 -c 'import ssl,sys,urllib.request; c=ssl.create_default_context(cafile="s.pem"); print(urllib.request.urlopen("https://127.0.0.1:%s/v1/.well-known/result-key" % sys.argv[1], context=c, timeout=10).read().decode())' "$(cat p1)")
  j2=$(python3 -c 'import ssl,sys,urllib.request; c=ssl.create_default_context(cafile="s.pem"); print(urllib.request.urlopen("https://127.0.0.1:%s/v1/.well-known/result-key" % sys.argv[1], context=c, timeout=10).read().decode())' "$(cat p2)")
  kill "${PIDS[@]}" 2>/dev/null; wait "${PIDS[@]}" 2>/dev/null; PIDS=()
  [ -n "$j1" ] && [ "$j1" = "$j2" ] || fail "round $round: two servers on one new key file sign with two keys: $j1 / $j2"
  [ "$(stat -c %a race.pem)" = 600 ] || fail "round $round: the key file is mode $(stat -c %a race.pem)"
  ls race.pem.tmp.* >/dev/null 2>&1 && fail "round $round: temporary key files left: $(ls race.pem.tmp.*)"
done
echo "PASS"
