#!/usr/bin/env bash
# Adversarial review of issue 13 (the fleet status page), a find, now defended: the test asserts the defence.
# Attack: display spoofing through the characters put_text lets through.
#   put_text (server/page.c) escapes & < > " ' and shows C0 controls, DEL
#   and invalid UTF-8 as \xNN, but passes every valid UTF-8 sequence,
#   including the C1 controls U+0080..U+009F, the bidi overrides and
#   isolates (U+202A..U+202E, U+2066..U+2069), zero-width characters
#   (U+200B..U+200F, U+FEFF) and the line/paragraph separators (U+2028,
#   U+2029); and it writes a backslash as itself.  A machine's name is any
#   1..256 bytes without NUL (srv_read_enroll_body), names are UNIQUE in
#   the store, and event strings reach the reasons: so a machine enrolled
#   as "prod-db" + U+200B is listed as a second "prod-db", one named
#   "prod-db" + U+202E + "10-bew" is shown as "prod-dbweb-01", an event
#   string can reverse the rest of a reason's cell; and a name with the
#   four characters "\x01" is shown exactly as a name with the byte 0x01,
#   so the \xNN display is ambiguous.
# What happens: each of these names appears in the page's name cell as
#   stored (the test writes them into the store directly, as enrollment
#   would store them: the enrollment reader accepts any UTF-8), and the
#   names "a\x01b" (backslash) and "a<0x01>b" give identical cells.
# Expected (docs/status-page.md: "control bytes and bytes that are not
#   UTF-8 are shown as \xNN", "what the page shows is what was stored"):
#   invisible, control and direction-changing characters shown escaped
#   (e.g. \u{202E}), and a backslash itself escaped, so two different
#   stored names never look alike.
# Suggested fix: in put_text, escape code points of general category
#   Cc/Cf/Zl/Zp (at least U+0080..U+009F, U+200B..U+200F, U+202A..U+202E,
#   U+2060..U+2069, U+FEFF, U+2028/2029) as \u{XXXX}, and "\" as "\\";
#   optionally refuse such names at enrollment.
# Run: bash tests/attack/test-p13-page-unicode-spoof.sh BUILD/cli/tpmattest
. "$(dirname "$0")/lib.sh"
store_is_pg && skip "writes the SQLite store directly"
tls_setup
mkdir -p "$W/roots" && cp "$W/tls/ca.pem" "$W/roots/ca.pem"
serve_start
python3 - <<'PY' || fail "names that look like other names on the fleet page"
from atk import *
import sqlite3, time, hashlib, re, html
db = sqlite3.connect(W + "/verifier.db", timeout=10)
now = int(time.time())
names = {"bidi override": "prod-db\u202e10-bew", "zero-width space": "prod-db\u200b",
         "C1 controls": "x\u0085y\u009bz", "BOM": "\ufeffweb-01", "line separator": "web\u2028-01",
         "literal backslash-x": "a\\x01b", "control byte": "a\x01b"}
for i, n in enumerate(names.values()):
    db.execute("insert into machines (id, name, enrolled_at, enrollment, record_json) values (?, ?, ?, randomblob(16), '{}')",
               (hashlib.sha256(b"spoof%d" % i).hexdigest(), n, now))
db.commit()
r = admin("GET", "/")
check(r.status == 200, f"GET /: {r.status}")
cells = [html.unescape(c) for c in re.findall(r'<td class="name">(.*?)</td>', r.raw.decode())]
bad = []
for what, n in names.items():
    if what in ("literal backslash-x", "control byte"):
        continue
    if n in cells:
        bad.append(f"{what}: {n!r} shown as stored")
if cells.count("a\\x01b") > 1:
    bad.append("the name 'a\\\\x01b' (a backslash) and the name 'a\\x01b' (the byte 0x01) are shown alike: 'a\\x01b'")
check(not bad, "; ".join(bad))
PY
pass
