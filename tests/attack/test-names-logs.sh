#!/usr/bin/env bash
# Machine names and request lines an attacker chooses: names are UTF-8,
# 1..256 bytes, no NUL (docs/api.md), stored and shown exactly (SQL text
# never built from them); invalid UTF-8 and lone surrogates refused.
# Whatever the request, every line the server logs starts with
# "tpmattest serve:" (man tpmattest-serve, LOGGING).
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tpm_new b; tls_setup; serve_start
python3 - <<'PY' || fail "names"
from atk import *
reqa = json.load(open(f"{W}/tpm-a/req.json"))
def enroll_name(raw_name_json):
    body = ('{"name":' + raw_name_json + ',"request":' + json.dumps(reqa) + '}').encode("utf-8", "surrogateescape")
    return req("POST", "/v1/enroll", body)
ok = ['"a\\nb\\r\\n\\t\\"\\\\ \\u001b[31m red"', '"x\'); DROP TABLE machines;--"',
      '"<script>alert(1)</script>"', json.dumps("é" * 128), json.dumps("n" * 256), '"\\u2028\\u202e"']
for n in ok:
    r = enroll_name(n)
    check(r.status == 200, f"name {n[:40]}: {r}")
bad = ['"a\\u0000b"', '""', json.dumps("n" * 257), json.dumps("é" * 129), '"\\ud800"', '"\\udc00x"',
       '7', '["x"]', '{"x":1}', 'true']
for n in bad:
    r = enroll_name(n)
    check(r.status == 400 and r.get("error") == "malformed", f"name {n[:40]}: want 400 malformed, got {r}")
for rawb in (b'"\xff\xfe"', b'"\xc0\xaf"', b'"\xed\xa0\x80"', b'"a\x00b"', b'"a\nb"'):
    body = b'{"name":' + rawb + b',"request":' + json.dumps(reqa).encode() + b'}'
    r = req("POST", "/v1/enroll", body)
    check(r.status == 400 and r.get("error") == "malformed", f"raw name bytes {rawb!r}: want 400 malformed, got {r}")
evil = "web-01\n\"tpmattest serve: POST \\\"/v1/machines\\\" 200\x1b[2J\u202e"
mid, _ = enroll("a", evil)
check(show(mid)["name"] == evil, f"the name as shown: {show(mid)['name']!r}")
lst = admin("GET", "/v1/machines").json["machines"]
check([m["name"] for m in lst] == [evil], f"the name as listed: {lst}")
sqli = "b'); DELETE FROM machines; --"
mb, _ = enroll("b", sqli)
check(show(mb)["name"] == sqli and len(admin("GET", "/v1/machines").json["machines"]) == 2, "SQL in a name")
# request lines with bytes a terminal or a log reader would act on
for path in (b'/v1/machines/"\x1b[31m', b"/v1/\xff\xfe", b"/healthz?\x1b]0;pwned\x07", b"/v1/%0a%0dtpmattest%20serve:",
             b"/" + b"\\" * 300, b"/v1/machines/" + mid.encode() + b"/nonce?\"\\"):
    raw(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    raw(b"POST " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Evil: a\rb\r\n\r\n")
raw(b"\x16\x03\x01garbage\r\n\r\n")
PY
kill -0 "$SRV_PID" || fail "server died"
serve_stop
bad=$(grep -av '^tpmattest serve: ' "$W/serve.log" | head -3)
[ -z "$bad" ] || fail "log lines that are not the server's: $(printf '%q' "$bad")"
grep -aq $'\x1b' "$W/serve.log" && fail "an escape byte reached the log"
grep -aPq '[^\x20-\x7e]' "$W/serve.log" && fail "a byte outside printable ASCII reached the log: $(grep -aP '[^\x20-\x7e]' "$W/serve.log" | head -2 | od -c | head -5)"
pass
