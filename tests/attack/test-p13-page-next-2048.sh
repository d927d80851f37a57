#!/usr/bin/env bash
# Adversarial review of issue 13 (the fleet status page), a find (low), now defended: the test asserts the defence.
# Attack: the paging of a filtered fleet page at exactly FLEET_SCAN (2048)
#   machines.  srv_page_fleet reads the store 256 machines at a time, at
#   most 2048 per page; when the 2048th read is also the fleet's last
#   machine, "a full last read and the scan's end reached" sets more = 1
#   without knowing whether anything follows.
# What happens: 2048 machines (and 4096), ?verdict=fail matching none (or
#   only earlier ones): the page ends with a rel="next" link, and that link
#   leads to an empty page ("No machine here.").  The machines are each
#   shown once (paging is otherwise correct: see test-p13-defended.sh).
# Expected (docs/status-page.md: "A page with more after it ends with a
#   Next link"): no Next link when no machine follows.
# Suggested fix: read LIST_PAGE + 1 rows on the last read (or probe one
#   row after `last`) before promising a next page.
# Run: bash tests/attack/test-p13-page-next-2048.sh BUILD/cli/tpmattest
. "$(dirname "$0")/lib.sh"
store_is_pg && skip "writes the SQLite store directly"
tls_setup
mkdir -p "$W/roots" && cp "$W/tls/ca.pem" "$W/roots/ca.pem"
serve_start
python3 - <<'PY' || fail "a Next link with nothing after it"
from atk import *
from fleetpage import page
import sqlite3, time, hashlib
db = sqlite3.connect(W + "/verifier.db", timeout=10)
now = int(time.time())
ids = sorted(hashlib.sha256(b"m%d" % i).hexdigest() for i in range(2048))
db.executemany("insert into machines (id, enrolled_at, enrollment, record_json, last_verdict, last_at)"
               " values (?, ?, randomblob(16), '{}', 'pass', ?)", [(m, now, now) for m in ids])
db.commit()
p = page("/?verdict=fail")
check(p.rows == [], f"{len(p.rows)} rows")
if p.next:
    q = page(p.next)
    fail(f"2048 machines, none failing: /?verdict=fail has a Next link ({p.next[:40]}...) "
         f"to a page of {len(q.rows)} rows, next link {q.next}")
PY
pass
