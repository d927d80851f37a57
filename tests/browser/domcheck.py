#!/usr/bin/env python3
"""domcheck.py KIND DOM EXPECT [ARG]: checks a page of the fleet status page
(docs/status-page.md) as Chromium dumped its DOM (--dump-dom), parsed with
html.parser (standard library only), against EXPECT, a JSON document the
test wrote from the server's own answers:

  {"machines": {ID: {"name", "verdict" (pass|fail), "at" (epoch s),
                     "check", "reason", "policy", "counter", "resets"}},
   "history": {ID: [{"seq", "verdict", "check", "reason", "at"}...]}
              (each machine's attestations, newest first),
   "pcrs_pass": {bank: {N: hex}}, "pcrs_fail": {...} (the failing machine's
              last PASS and its FAIL, as their verdicts quote them),
   "extended": [N...] (the PCRs its hostile log extended since the PASS),
   "hostile": [strings that must be text, never markup]}

KIND:
  fleet DOM EXPECT FILTER     GET / (FILTER: all, pass, fail or none)
  machine DOM EXPECT ID       GET /machines/ID
  error DOM EXPECT TITLE      an error page (a heading and p.error)
Each mismatch prints what was expected and what was found; exit 1 if any."""
import json, re, sys, time
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
        "source", "track", "wbr"}
# elements a hostile string would make if it were not escaped; the page
# itself uses none of them
FORBIDDEN = ("script", "img", "b", "iframe", "object", "embed", "svg", "math", "form",
             "input", "base", "style")


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def elements(self):
        return [c for c in self.children if isinstance(c, Node)]

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def walk(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.walk()

    def find(self, tag=None, cls=None, id=None):
        return [n for n in self.walk()
                if (tag is None or n.tag == tag) and (cls is None or cls in n.classes())
                and (id is None or n.attrs.get("id") == id)]

    def __repr__(self):
        a = " ".join('%s="%s"' % kv for kv in self.attrs.items())
        return "<%s%s>" % (self.tag, " " + a if a else "")


class Builder(HTMLParser):
    """A tree from Chromium's serialization, which closes every element it
    opens (so no implied end tags are needed)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node("#document", {}, None)

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is None or n.parent is None:
            bad("the end tag </%s> closes no open element" % tag, "", "")
            return
        self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


FAILS = []
OKS = []


def bad(what, want, got):
    FAILS.append("%s: expected %r, found %r" % (what, want, got))


def eq(what, want, got):
    if want != got:
        bad(what, want, got)
        return False
    return True


def one(node, what, **kw):
    found = node.find(**kw)
    if len(found) != 1:
        bad("exactly one %s" % what, 1, len(found))
        return None
    return found[0]


def parse(path):
    b = Builder()
    b.feed(open(path, encoding="utf-8").read())
    b.close()
    return b.root


def time_cell(td, what, want_at):
    """td holds <time datetime="YYYY-MM-DDTHH:MM:SSZ">YYYY-MM-DD HH:MM:SS UTC</time>
    for the epoch want_at."""
    want_iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(want_at))
    t = td.elements()
    if not eq("%s: the elements in it" % what, ["time"], [e.tag for e in t]):
        return
    eq("%s: time@datetime" % what, want_iso, t[0].attrs.get("datetime"))
    eq("%s: the time shown" % what, want_iso.replace("T", " ").replace("Z", " UTC"),
       t[0].text())


def common(doc, ex, what):
    """What every page must be: no element a hostile string could make, no
    event handler attribute, and each hostile string (where on the page)
    only as text."""
    for tag in FORBIDDEN:
        eq("%s: <%s> elements" % (what, tag), 0, len(doc.find(tag=tag)))
    handlers = ["%r %s" % (n, a) for n in doc.walk() for a in n.attrs if a.lower().startswith("on")]
    eq("%s: elements with an on* attribute" % what, [], handlers)
    for n in doc.walk():
        for a, v in n.attrs.items():
            if a in ("href", "src") and v and re.match(r"\s*(javascript|data):", v, re.I):
                bad("%s: a script URL in %r" % (what, n), "none", v)


CELLS = ["name", "id", "verdict", "at", "check", "reason", "counter", "resets", "policy"]
SHOWN = {"pass": "PASS", "fail": "FAIL"}


def check_fleet(doc, ex, flt):
    what = "GET /" + ("" if flt == "all" else "?verdict=" + flt)
    common(doc, ex, what)
    title = one(doc, "title", tag="title")
    if title:
        eq("%s: the title" % what, "tpmattest: fleet", title.text())
    ms = ex["machines"]
    want_ids = sorted(i for i in ms if flt == "all" or ms[i]["verdict"] == flt)
    table = one(doc, "table#fleet", tag="table", id="fleet")
    nav = one(doc, "nav.filter", tag="nav", cls="filter")
    if nav:
        links = nav.find(tag="a")
        eq("%s: the filter links" % what, ["/", "/?verdict=pass", "/?verdict=fail", "/?verdict=none"],
           [a.attrs.get("href") for a in links])
        cur = {"all": "/"}.get(flt, "/?verdict=" + flt)
        eq("%s: the filter link with class current" % what, [cur],
           [a.attrs.get("href") for a in links if "current" in a.classes()])
    eq("%s: rel=next links (3 machines, 100 a page)" % what, [],
       [a.attrs.get("href") for a in doc.find(tag="a") if a.attrs.get("rel") == "next"])
    if not table:
        return
    if not eq("%s: table#fleet's children" % what, ["thead", "tbody"], [e.tag for e in table.elements()]):
        return
    tbody = table.elements()[1]
    rows = tbody.elements()
    eq("%s: the rows (tbody > tr), in machine-id order" % what, ["m-" + i for i in want_ids],
       [r.attrs.get("id") for r in rows])
    for r in rows:
        mid = (r.attrs.get("id") or "")[2:]
        m = ms.get(mid)
        if r.tag != "tr" or m is None:
            continue
        w = "%s: row %s (%r)" % (what, mid[:16], m["name"])
        eq("%s: its classes" % w, ["machine", "verdict-" + m["verdict"]], r.classes())
        tds = r.elements()
        if not eq("%s: its cells' classes" % w, CELLS, [td.classes()[0] if td.tag == "td" and td.classes() else td.tag for td in tds]):
            continue
        c = dict(zip(CELLS, tds))
        eq("%s: td.name's text" % w, m["name"], c["name"].text())
        eq("%s: elements in td.name" % w, [], c["name"].elements())
        a = c["id"].elements()
        if eq("%s: td.id's elements" % w, ["a"], [e.tag for e in a]):
            eq("%s: td.id a@href" % w, "/machines/" + mid, a[0].attrs.get("href"))
            eq("%s: td.id's text" % w, mid[:16] + "\u2026", a[0].text())
        eq("%s: td.verdict" % w, SHOWN[m["verdict"]], c["verdict"].text())
        time_cell(c["at"], "%s: td.at" % w, m["at"])
        eq("%s: td.check" % w, m["check"] or "", c["check"].text())
        eq("%s: td.reason" % w, m["reason"] or "", c["reason"].text())
        eq("%s: elements in td.reason" % w, [], c["reason"].elements())
        eq("%s: td.counter" % w, "" if m["counter"] is None else str(m["counter"]), c["counter"].text())
        eq("%s: td.resets" % w, "" if m["resets"] is None else str(m["resets"]), c["resets"].text())
        eq("%s: td.policy" % w, m["policy"] or "none", c["policy"].text())
    if not want_ids:
        eq("%s: p.empty" % what, 1, len(doc.find(tag="p", cls="empty")))
    # every hostile string on this page is there as text, once per row that
    # shows it, and no element was made of it
    for h in ex["hostile"]:
        want = sum(1 for i in want_ids for k in ("name", "reason") if h in (ms[i][k] or ""))
        got = sum(1 for r in rows for td in r.elements() if h in td.text())
        eq("%s: cells showing %r as text" % (what, h), want, got)
    OKS.append("%s: %d rows %s, each cell as the server's answers say" % (
        what, len(rows), [ms[i]["name"] for i in want_ids]))


def check_machine(doc, ex, mid):
    what = "GET /machines/" + mid[:16] + "..."
    common(doc, ex, what)
    m = ex["machines"][mid]
    title = one(doc, "title", tag="title")
    if title:
        eq("%s: the title" % what, "tpmattest: machine " + m["name"], title.text())
    h1 = one(doc, "h1", tag="h1")
    if h1:
        eq("%s: h1 starts with the name" % what, True, h1.text().startswith(m["name"]))
    dl = one(doc, "dl#summary", tag="dl", id="summary")
    if dl:
        kids = dl.elements()
        eq("%s: dl#summary's dt" % what,
           ["Name", "Machine id", "Enrolled", "Policy", "Last verdict", "Counter", "Reset count"],
           [e.text() for e in kids if e.tag == "dt"])
        eq("%s: dl#summary alternates dt, dd" % what, ["dt", "dd"] * 7, [e.tag for e in kids])
        dd = {kids[i].text(): kids[i + 1] for i in range(0, len(kids) - 1, 2)}
        if "Name" in dd:
            eq("%s: dd Name" % what, m["name"], dd["Name"].text())
        if "Machine id" in dd:
            eq("%s: dd Machine id" % what, mid, dd["Machine id"].text())
        if "Policy" in dd:
            eq("%s: dd Policy" % what, m["policy"] or "none: nothing judges what was booted", dd["Policy"].text())
        if "Last verdict" in dd:
            eq("%s: dd Last verdict starts with" % what, SHOWN[m["verdict"]],
               dd["Last verdict"].text().split(" ")[0])
            time_cell(dd["Last verdict"], "%s: dd Last verdict" % what, m["at"])
        if "Counter" in dd:
            eq("%s: dd Counter" % what, str(m["counter"]), dd["Counter"].text())
        if "Reset count" in dd:
            eq("%s: dd Reset count" % what, str(m["resets"]), dd["Reset count"].text())
    hist = ex["history"][mid]
    table = one(doc, "table#history", tag="table", id="history")
    if table:
        body = [e for e in table.elements() if e.tag == "tbody"]
        rows = body[0].elements() if len(body) == 1 else []
        eq("%s: the history rows, newest first" % what,
           [("seq-%d" % h["seq"], ["verdict-" + h["verdict"]]) for h in hist],
           [(r.attrs.get("id"), r.classes()) for r in rows])
        for h, r in zip(hist, rows):
            w = "%s: history row %d" % (what, h["seq"])
            tds = r.elements()
            hc = ["seq", "at", "verdict", "check", "reason"]
            if not eq("%s: its cells' classes" % w, hc, [td.classes()[0] if td.classes() else td.tag for td in tds]):
                continue
            c = dict(zip(hc, tds))
            eq("%s: td.seq" % w, str(h["seq"]), c["seq"].text())
            time_cell(c["at"], "%s: td.at" % w, h["at"])
            eq("%s: td.verdict" % w, SHOWN[h["verdict"]], c["verdict"].text())
            eq("%s: td.check" % w, h["check"] or "", c["check"].text())
            eq("%s: td.reason" % w, h["reason"] or "", c["reason"].text())
            eq("%s: elements in td.reason" % w, [], c["reason"].elements())
    sec = one(doc, "section#pcrs", tag="section", id="pcrs")
    if not sec:
        return
    grids = sec.find(tag="table", cls="pcr-grid")
    none = sec.find(tag="p", id="pcr-none")
    if not (hist and hist[0]["verdict"] != "pass" and any(h["verdict"] == "pass" for h in hist)):
        # the newest attestation is the last PASS: nothing to compare
        eq("%s: p#pcr-none" % what, 1, len(none))
        eq("%s: table.pcr-grid" % what, 0, len(grids))
        OKS.append("%s: title, summary, %d history row(s), p#pcr-none: %r" % (
            what, len(hist), none[0].text() if none else None))
        return
    good, now = ex["pcrs_pass"], ex["pcrs_fail"]
    eq("%s: p#pcr-none" % what, 0, len(none))
    eq("%s: the grids' banks" % what, sorted(now), sorted(g.attrs.get("data-bank") for g in grids))
    changed = []
    for g in grids:
        bank = g.attrs.get("data-bank")
        cells = g.find(tag="td")
        eq("%s: grid %s: its cells' ids" % (what, bank), ["pcr-%s-%d" % (bank, k) for k in range(24)],
           [td.attrs.get("id") for td in cells])
        for k, td in enumerate(cells[:24]):
            a, b = good.get(bank, {}).get(str(k)), now.get(bank, {}).get(str(k))
            want = "absent" if a is None or b is None else "same" if a == b else "changed"
            eq("%s: %s PCR %d's classes" % (what, bank, k), ["pcr", want], td.classes())
            eq("%s: %s PCR %d's text" % (what, bank, k), str(k), td.text())
            if "changed" in td.classes():
                changed.append((bank, k))
    # exactly the PCRs the hostile log extended changed, in every bank quoted
    eq("%s: the PCRs marked changed" % what, sorted((b, k) for b in now for k in ex["extended"]),
       sorted(changed))
    t = one(doc, "table#pcr-changes", tag="table", id="pcr-changes")
    if t:
        rows = [r for r in t.find(tag="tr") if r.find(tag="td")]
        got = []
        for r in rows:
            c = {td.classes()[0]: td.text() for td in r.elements() if td.classes()}
            got.append((c.get("bank"), c.get("pcr"), c.get("good"), c.get("now")))
        # every PCR whose value differs between the two verdicts, both values
        want = sorted((b, k, good[b][k], now[b][k]) for b in now for k in now[b]
                      if k in good.get(b, {}) and good[b][k] != now[b][k])
        eq("%s: table#pcr-changes (bank, pcr, good, now)" % what, want, sorted(got))
    OKS.append("%s: title, summary, %d history rows %s, PCR grids %s with changed %s" % (
        what, len(hist), [h["verdict"].upper() for h in hist], sorted(now), sorted(changed)))


def check_error(doc, ex, title):
    what = "error page %r" % title
    common(doc, ex, what)
    h1 = one(doc, "h1", tag="h1")
    if h1:
        eq("%s: h1" % what, title, h1.text())
    p = one(doc, "p.error", tag="p", cls="error")
    if p:
        eq("%s: p.error says why" % what, True, len(p.text().strip()) > 0)
    eq("%s: table#fleet" % what, 0, len(doc.find(tag="table", id="fleet")))
    OKS.append("%s: h1 and p.error %r" % (what, p.text() if p else None))


def main():
    kind, dom, expect, arg = sys.argv[1:5]
    ex = json.load(open(expect))
    doc = parse(dom)
    {"fleet": check_fleet, "machine": check_machine, "error": check_error}[kind](doc, ex, arg)
    for f in FAILS:
        print("FAIL: " + f)
    for o in OKS if not FAILS else []:
        print("ok: " + o)
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
