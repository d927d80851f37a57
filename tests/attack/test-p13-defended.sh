#!/usr/bin/env bash
# Adversarial review of issue 13: the attacks tried that are defended,
# asserted with their exact outcomes so that they stay defended.
# The page (rows written into the SQLite store directly; skipped on
# PostgreSQL):
#  - query: verdict twice (same or different), after= of 63/65 digits or
#    uppercase, after twice, percent-escapes, "&", "=", "?&verdict=pass",
#    "verdict", "verdict=", "VERDICT=pass", ';' as separator, %00, a 6000-
#    and a 7000-byte query: each 400 text/html with the CSP and nosniff
#  - paths: HEAD / 405 (no page), "//" and "/./" 400, GET / and
#    /machines/ID/ without a certificate 401 with no page, /machines/ID/
#    with one the page, /machines/ID/x and /machines 404, an uppercase id
#    400 page, unknown id 404 page, POST / 405, /style.css public (also
#    /style.css/ and with a query), nothing else public
#  - 400/404/503 pages carry Content-Security-Policy and nosniff (503 by a
#    machine row the store refuses: a 400-byte name)
#  - paging: 100, 101, 256, 257 machines unfiltered; 2049 and 4096 with a
#    filter matching a few at the 2048 boundary; 300 with 101 failing;
#    the 100th FAIL as the 256th machine: each machine once, in id order
#  - history rows that are not what this version writes ([], null, "",
#    "{", a string, wrong member types, pcrs null/[]/"x"/{"0": 7}, hostile
#    bank names, 5000-deep nesting, a 100 KB reason): the machine page and
#    the fleet page are 200, every hostile string escaped; GET result of
#    such a row is 500 (nothing signed)
# The results (swtpm):
#  - the attest answer's "ear" agrees with its JSON (verdict, seq, at,
#    failed checks, contraindicated iff fail) for a PASS without a policy
#    (warning), with one (affirming) and a FAIL under a strict policy
#  - GET result after each is that verdict; a replayed evidence is 403
#    nonce with no "ear", and the result is unchanged
#  - 6 attestations while GET result is polled 60 times: every polled
#    result's (seq, verdict) is a history row's
#  - machines delete: GET result 404; the same EK enrolled again: status
#    none, the old rows greyed ("earlier") on its page
# Run: bash tests/attack/test-p13-defended.sh BUILD/cli/tpmattest
. "$(dirname "$0")/../server/lib.sh"
need_example_log
machine_a
run 0 "$T" eventlog extend "$LOG"
start_server
export W URL CA DB
# py: python with page helpers (get PATH [cert]) -> (status, headers, text)
py() {
  python3 - "$@" <<PYEOF
import http.client, ssl, os, sys, json, re, time, hashlib, html as H
W, CA = os.environ["W"], os.environ["CA"]
PORT = int(os.environ["URL"].rsplit(":", 1)[1])
def get(path, cert=True, method="GET"):
    c = ssl.create_default_context(cafile=CA)
    if cert:
        c.load_cert_chain(W + "/pki/admin.pem", W + "/pki/admin.key")
    conn = http.client.HTTPSConnection("127.0.0.1", PORT, context=c, timeout=30)
    conn.request(method, path)
    r = conn.getresponse()
    b = r.read()
    conn.close()
    return r.status, dict(r.getheaders()), b.decode("utf-8", "replace")
def fail(m):
    print("FAIL: " + m, file=sys.stderr); sys.exit(1)
def check(c, m):
    if not c: fail(m)
def page_headers(h, what):
    check(h.get("Content-Type") == "text/html; charset=utf-8" and "default-src 'none'" in h.get("Content-Security-Policy", "")
          and h.get("X-Content-Type-Options") == "nosniff", f"{what}: headers {h}")
$(cat)
PYEOF
}

if ! store_is_pg; then
py <<'PY' || fail "the page"
import sqlite3
db = sqlite3.connect(os.environ["DB"], timeout=10)
now = int(time.time())
m0 = hashlib.sha256(b"d0").hexdigest()
db.execute("insert into machines (id, name, enrolled_at, enrollment, record_json, last_verdict, last_at) values (?, 'n', ?, randomblob(16), '{}', 'pass', ?)", (m0, now, now))
db.commit()
A = "a" * 64
for q in ["verdict=fail&verdict=pass", "verdict=pass&verdict=pass", "after=" + A.upper(), "after=" + A[:63], "after=" + A + "0",
          "after=" + A + "&after=" + A, "verdict=%70ass", "after=%61" + A[1:], "&", "=", "&verdict=pass", "verdict=pass&&", "verdict",
          "verdict=", "VERDICT=pass", "verdict=pass;after=" + A, "verdict=pass%00", "x" * 6000, "verdict=pass&x=" + "y" * 7000]:
    s, h, t = get("/?" + q)
    check(s == 400 and "bad query" in t, f"/?{q[:60]}: {s}")
    page_headers(h, f"/?{q[:40]}")
for p, cert, meth, want in [("/", True, "HEAD", 405), ("/", False, "HEAD", 405), ("//", True, "GET", 400), ("/./", False, "GET", 400),
                            ("/", False, "GET", 401), ("/?verdict=fail", False, "GET", 401), (f"/machines/{m0}/", False, "GET", 401),
                            (f"/machines/{m0}", False, "GET", 401), (f"/machines/{m0}/", True, "GET", 200),
                            (f"/machines/{m0}/x", True, "GET", 404), ("/machines", True, "GET", 404), ("/machines/", True, "GET", 404),
                            (f"/machines/{m0.upper()}", True, "GET", 400), (f"/machines/{m0}?x", True, "GET", 400),
                            (f"/machines/{'0' * 64}", True, "GET", 404), ("/", True, "POST", 405), ("/index.html", True, "GET", 404),
                            ("/style.css", False, "GET", 200), ("/style.css/", False, "GET", 200), ("/style.css?x=1", False, "GET", 200),
                            ("/STYLE.CSS", False, "GET", 404), ("/%2F", False, "GET", 400)]:
    s, h, t = get(p, cert, meth)
    check(s == want, f"{meth} {p[:50]} cert={cert}: {s}, not {want}")
    if not cert and p != "/style.css" and not p.startswith("/style.css"):
        check("<tr" not in t and m0 not in t, f"{meth} {p[:40]} without a certificate shows the page")
    if cert and meth == "GET" and s in (200, 400, 404) and (p.startswith("/machines/" + m0[:1]) or p.startswith("/machines/0") or p.startswith("/machines/" + m0.upper()[:1])) and p != f"/machines/{m0}/x":
        page_headers(h, p[:40])
    # every answer, JSON refusals included, is never sniffed nor framed
    check(h.get("X-Content-Type-Options") == "nosniff" and "default-src 'none'" in h.get("Content-Security-Policy", ""),
          f"{meth} {p[:40]} cert={cert}: {s} without nosniff and CSP: {h}")
print("ok: queries and paths", file=sys.stderr)
# 503 page headers: a row the store refuses (a 400-byte name)
m503 = hashlib.sha256(b"d503").hexdigest()
db.execute("insert into machines (id, name, enrolled_at, enrollment, record_json) values (?, ?, ?, randomblob(16), '{}')", (m503, "N" * 400, now))
db.commit()
for p in ["/", f"/machines/{m503}"]:
    s, h, t = get(p)
    check(s == 503 and "store unavailable" in t, f"{p[:30]}: {s}")
    page_headers(h, f"503 {p[:30]}")
db.execute("delete from machines where id = ?", (m503,)); db.commit()
print("ok: 503 pages", file=sys.stderr)
# history rows of other shapes, hostile strings
mh = hashlib.sha256(b"dh").hexdigest()
db.execute("insert into machines (id, name, enrolled_at, enrollment, record_json, last_verdict, last_at) values (?, 'hc', ?, randomblob(16), '{}', 'fail', ?)", (mh, now - 100, now))
docs = ['[]', 'null', '', '{', '"str"', '{"failed_check": 5, "reason": null}', '{"pcrs": null}', '{"pcrs": []}',
        '{"pcrs": {"sha256": "x"}}', '{"pcrs": {"sha256": {"0": 7}}}',
        json.dumps({"pcrs": {"<b>\"'": {"0": "<i>"}}, "failed_check": "<u>", "reason": "<s>&\"'"}),
        '[' * 5000 + ']' * 5000, '{"reason": "' + "A" * 100000 + '"}']
last = 0
for d in docs:
    for v in ("pass", "fail"):
        last = db.execute("insert into verdicts (machine_id, at, verdict, error, result_json) values (?, ?, ?, 'e<r>', ?)", (mh, now, v, d)).lastrowid
db.execute("update machines set last_seq = ? where id = ?", (last, mh)); db.commit()
for p in [f"/machines/{mh}", "/?verdict=fail", "/"]:
    s, h, t = get(p)
    check(s == 200, f"{p[:30]} with odd history rows: {s}")
    for bad in ("<b>", "<i>", "<u>", "<s>", "<r>"):
        check(bad not in t, f"{p[:30]}: {bad} unescaped")
s, h, t = get(f"/v1/machines/{mh}/result")
check(s == 500 and "cannot sign the result" in t, f"GET result of a row that is not a verdict document: {s} {t[:200]}")
# hostile bank names in a PCR comparison: escaped in data-bank, id and caption
mp = hashlib.sha256(b"dp").hexdigest()
db.execute("insert into machines (id, name, enrolled_at, enrollment, record_json, last_verdict, last_at) values (?, 'pcr', ?, randomblob(16), '{}', 'fail', ?)", (mp, now - 100, now))
db.execute("insert into verdicts (machine_id, at, verdict, error, result_json) values (?, ?, 'pass', '', ?)", (mp, now, json.dumps({"pcrs": {"sha256": {"0": "aa", "1": "bb"}, "x\"><b>": {"0": "cc"}}})))
s2 = db.execute("insert into verdicts (machine_id, at, verdict, error, result_json) values (?, ?, 'fail', '', ?)", (mp, now, json.dumps({"pcrs": {"sha256": {"0": "aa", "1": "cc"}, "x\"><b>": {"0": "dd"}}}))).lastrowid
db.execute("update machines set last_seq = ? where id = ?", (s2, mp)); db.commit()
s, h, t = get(f"/machines/{mp}")
check(s == 200 and 'data-bank="x&quot;&gt;&lt;b&gt;"' in t and "<b>" not in t and 'id="pcr-sha256-1"' in t and 'class="pcr changed"' in t, f"PCR grid with a hostile bank name: {s}")
print("ok: odd history rows", file=sys.stderr)
# paging
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(s):
        super().__init__(); s.ids, s.next = [], None
    def handle_starttag(s, tag, a):
        a = dict(a)
        if tag == "tr" and "machine" in (a.get("class") or ""):
            s.ids.append(a["id"][2:])
        if tag == "a" and a.get("rel") == "next":
            s.next = H.unescape(a["href"]) if "&amp;" in a["href"] else a["href"]
def walk(q):
    got, sizes = [], []
    for _ in range(60):
        s, h, t = get(q)
        check(s == 200, f"{q[:40]}: {s}")
        p = P(); p.feed(t); got += p.ids; sizes.append(len(p.ids))
        if not p.next: return got, sizes
        q = p.next
    fail("more than 60 pages")
def fleet(n, fails=()):
    db.execute("delete from machines"); db.commit()
    ids = sorted(hashlib.sha256(b"p%d" % i).hexdigest() for i in range(n))
    db.executemany("insert into machines (id, enrolled_at, enrollment, record_json, last_verdict, last_at) values (?, ?, randomblob(16), '{}', 'pass', ?)", [(m, now, now) for m in ids])
    for k in fails:
        db.execute("update machines set last_verdict = 'fail' where id = ?", (ids[k],))
    db.commit()
    return ids
for n, sizes_want in [(100, [100]), (101, [100, 1]), (256, [100, 100, 56]), (257, [100, 100, 57])]:
    ids = fleet(n)
    got, sizes = walk("/")
    check(got == ids and sizes == sizes_want, f"{n} machines: sizes {sizes}, each once in order: {got == ids}")
for n, fails in [(2049, (2048,)), (4096, (0, 2047, 2048, 4095)), (300, tuple(range(100)) + (299,)), (256, tuple(range(156, 256)))]:
    ids = fleet(n, fails)
    got, sizes = walk("/?verdict=fail")
    check(got == [ids[k] for k in sorted(fails)], f"{n} machines, {len(fails)} failing: {sizes}, not each failing one once")
    got, sizes = walk("/?verdict=pass")
    check(got == [m for k, m in enumerate(ids) if k not in fails], f"{n} machines: ?verdict=pass {sizes}")
db.execute("delete from machines"); db.commit()
print("ok: paging", file=sys.stderr)
PY
fi

# ---- the results ----
run 0 enroll --name "res<b>'\"" --id-file "$W/id"
ID=$(cat "$W/id")
# cmp_ear ANSWER WANT: the answer's ear agrees with its JSON; ear.status WANT
cmp_ear() {
  python3 - "$1" "$ID" "$2" <<'PY' || fail "the ear of $1 against its answer: $(head -c 600 "$1")"
import json, sys, base64
d = json.load(open(sys.argv[1])); mid = sys.argv[2]
p = d["ear"].split(".")[1]; c = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
s = c["submods"][mid]
failed = [x["name"] for x in d["checks"] if x["status"] in ("fail", "not_run")]
assert list(c["submods"]) == [mid] and "eat_nonce" not in c, c
assert s["tpmattest.verdict"] == d["verdict"] and s["tpmattest.seq"] == d["seq"] and s["tpmattest.attested-at"] == d["at"], (s, d["seq"], d["at"])
assert [x["name"] for x in s["tpmattest.failed-checks"]] == failed, (s, failed)
assert s["ear.status"] == sys.argv[3], s["ear.status"]
PY
}
lastres() {
  expect 200 - "${ADMIN[@]}" GET "/v1/machines/$ID/result"
  python3 -c 'import json,sys,base64; p=open(sys.argv[1]).read().split(".")[1]; c=json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4))); s=c["submods"][sys.argv[2]]; print(s["ear.status"], s["tpmattest.verdict"], s["tpmattest.seq"])' "$W/body" "$ID"
}
[ "$(lastres)" = "none None None" ] || fail "before a verdict: $(lastres)"
run 0 attest --id-file "$W/id" --eventlog "$LOG" --evidence-out "$W/ev1.json" --json
cp "$W/out" "$W/v1.json"
cmp_ear "$W/v1.json" warning
[ "$(lastres)" = "warning pass $(json "$W/v1.json" 'd["seq"]')" ] || fail "after a PASS without a policy: $(lastres)"
run 0 "$T" policy create "$W/ev1.json" --out "$W/golden.json"
run 0 machines policy "$ID" "$W/golden.json" --name golden
run 0 attest --id-file "$W/id" --eventlog "$LOG" --json
cp "$W/out" "$W/v2.json"
cmp_ear "$W/v2.json" affirming
[ "$(lastres)" = "affirming pass $(json "$W/v2.json" 'd["seq"]')" ] || fail "after a PASS under golden: $(lastres)"
printf '{"version":2,"pcrs":{"sha256":[0]},"pcr_values":{"sha256":{"0":["%s"]}}}' "$(printf '00%.0s' $(seq 32))" >"$W/strict.json"
run 0 machines policy "$ID" "$W/strict.json" --name strict
run 1 attest --id-file "$W/id" --eventlog "$LOG" --json
cp "$W/out" "$W/v3.json"
cmp_ear "$W/v3.json" contraindicated
S3="contraindicated fail $(json "$W/v3.json" 'd["seq"]')"
[ "$(lastres)" = "$S3" ] || fail "after a FAIL: $(lastres)"
expect 403 nonce --data-file "$W/ev1.json" POST "/v1/machines/$ID/attest"
! grep -q '"ear"' "$W/body" || fail "a replayed evidence's 403 has an ear: $(head -c 300 "$W/body")"
[ "$(lastres)" = "$S3" ] || fail "after a replay: $(lastres), not $S3"
echo "ok: ear against the answers; replay 403 without an ear"
run 0 machines policy "$ID" "$W/golden.json" --name golden
( for i in 1 2 3 4 5 6; do attest --id-file "$W/id" --eventlog "$LOG" --json >"$W/c$i.json" 2>/dev/null; done ) &
BG=$!
for i in $(seq 60); do lastres >>"$W/polled"; sleep 0.05; done
wait $BG
run 0 machines history "$ID" --json
cp "$W/out" "$W/hist.json"
python3 - "$W/polled" "$W/hist.json" <<'PY' || fail "a polled result that is no history row: $(sort "$W/polled" | uniq -c)"
import json, sys
h = {e["seq"]: e["verdict"] for e in json.load(open(sys.argv[2]))["history"]}
for l in open(sys.argv[1]):
    st, v, seq = l.split()
    assert h.get(int(seq)) == v, (l, h)
PY
run 0 machines delete "$ID"
expect 404 not_found "${ADMIN[@]}" GET "/v1/machines/$ID/result"
run 0 enroll --name again --id-file "$W/id2"
[ "$(cat "$W/id2")" = "$ID" ] || fail "the same EK enrolled again has another id"
[ "$(lastres)" = "none None None" ] || fail "enrolled again: $(lastres), not none"
expect 200 - "${ADMIN[@]}" GET "/machines/$ID"
[ "$(grep -c '<tr class="verdict-[a-z]* earlier"' "$W/body")" -ge 9 ] || fail "the earlier enrollment's rows are not greyed"
echo "ok: polled results are history rows; delete 404; enrolled again none"
pass
