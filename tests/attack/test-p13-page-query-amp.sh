#!/usr/bin/env bash
# Adversarial review of issue 13 (the fleet status page), a find (trivial), now defended: the test asserts the defence.
# Attack: the query reader srv_parse_page_query (server/requests.c) on an
#   empty member.  It refuses "?&", "?&verdict=pass" and
#   "?verdict=pass&&" (an empty member has no '='), but the loop ends at
#   the NUL after a last '&', so "?verdict=pass&" and "?after=ID&" are
#   accepted: the same empty member is refused in front and accepted at
#   the end.
# What happens: GET /?verdict=pass& is 200 (the PASS page); GET
#   /?&verdict=pass and /?verdict=pass&& are 400.
# Expected (docs/status-page.md: "Anything else in the query is refused:
#   400"): 400 for a trailing '&' as for a leading or doubled one.
# Suggested fix: in srv_parse_page_query (and srv_parse_history_query,
#   which has the same loop), refuse n == 0, i.e. an '&' followed by
#   nothing.
# Run: bash tests/attack/test-p13-page-query-amp.sh BUILD/cli/tpmattest
. "$(dirname "$0")/lib.sh"
tls_setup
mkdir -p "$W/roots" && cp "$W/tls/ca.pem" "$W/roots/ca.pem"
serve_start
python3 - <<'PY' || fail "an empty query member accepted at the end"
from atk import *
got = {q: admin("GET", "/?" + q).status for q in ("&verdict=pass", "verdict=pass&&", "verdict=pass&", "after=" + "a" * 64 + "&")}
check(got["&verdict=pass"] == 400 and got["verdict=pass&&"] == 400, f"control: {got}")
check(got["verdict=pass&"] == 400 and got["after=" + "a" * 64 + "&"] == 400,
      f"a trailing '&' is accepted where a leading or doubled one is refused: {got}")
PY
pass
