#!/usr/bin/env bash
# Adversarial review of issue 13 (the fleet status page), a find, now defended: the test asserts the defence.
# Attack: a machine id in the store is written into the fleet page raw.
#   srv_page_fleet/put_machine_row (server/page.c) print m->id with putf
#   into id="m-...", href="/machines/..." and title="..." attributes and
#   as text, not through put_text; the store checks only its length (the
#   SQLite table has CHECK (length(id) = 64), row_machine copies any 64
#   bytes).  A row whose id is 64 bytes of markup - written into the store
#   directly (a corrupted or tampered database, a restored backup, another
#   writer on a shared PostgreSQL) - becomes markup in the admin's page:
#   here '"><meta http-equiv=refresh content="0;url=//e.vil/">' which fits
#   in 64 bytes and, being navigation rather than script, is not stopped by
#   the CSP (default-src 'none' does not govern meta refresh).
# What happens: the page contains the <meta http-equiv=refresh> element
#   verbatim (and the quote closes the attributes).
# Expected (docs/status-page.md: "Everything on a page that comes from a
#   machine or the store ... hex values — is written by one function
#   (put_text)"): no markup from the store; the id escaped, or the row
#   refused/shown as corrupt.
# Suggested fix: write m->id through put_text (and the href with it), or
#   check sto_id_ok() on every id read in row_machine and treat a bad one
#   as corruption.
# Run: bash tests/attack/test-p13-page-raw-id.sh BUILD/cli/tpmattest
. "$(dirname "$0")/lib.sh"
store_is_pg && skip "writes the SQLite store directly"
tls_setup
mkdir -p "$W/roots" && cp "$W/tls/ca.pem" "$W/roots/ca.pem"
serve_start
python3 - <<'PY' || fail "a machine id from the store reached the page as markup"
from atk import *
import sqlite3, time
db = sqlite3.connect(W + "/verifier.db", timeout=10)
now = int(time.time())
bad = ('"><meta http-equiv=refresh content="0;url=//e.vil/">' + "a" * 64)[:64]
db.execute("insert into machines (id, name, enrolled_at, enrollment, record_json, last_verdict, last_at)"
           " values (?, 'corrupt-id', ?, randomblob(16), '{}', 'pass', ?)", (bad, now, now))
db.commit()
r = admin("GET", "/")
check(r.status == 200, f"GET /: {r.status}")
t = r.raw.decode("utf-8", "replace")
i = t.find("corrupt-id")
check("<meta http-equiv=refresh" not in t,
      "the fleet page has the stored id as markup: " + t[max(0, i - 160):i + 180].replace("\n", " "))
PY
pass
