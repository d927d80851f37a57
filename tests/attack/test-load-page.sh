#!/usr/bin/env bash
# The fleet status page on a fleet larger than one page (issue 13): 250
# emulated machines (attest-load-gen), 7 of them then assigned a policy
# they fail.  GET / pages through them 100 at a time by rel="next"
# (after=ID): 100 + 100 + 50 rows, in machine-id order, each machine
# exactly once, the same set as GET /v1/machines, no next link on the last
# page; ?verdict=fail shows exactly the 7 with their failed check
# (policy_pcr_values) and its reason, ?verdict=pass the other 243 (paged,
# the filter kept in the next link), ?verdict=none none; every row's
# verdict, counter and reset count are those of the JSON list; a next link
# whose after= is the last machine gives an empty page.
# Usage: test-load-page.sh TPMATTEST ATTEST_LOAD_GEN
. "$(dirname "$0")/load-lib.sh" "$@"

serve_start
gen 1 --machines 250 --clients 4 >"$W/gen.out" 2>"$W/gen.err" || fail "generator: $(tail -5 "$W/gen.err")"
grep -q 'enrolled 250 machines' "$W/gen.err" || fail "not 250 machines enrolled: $(tail -3 "$W/gen.err")"

python3 - <<'PY' || fail "the status page of 250 machines"
from atk import *
from fleetpage import page, walk

listing = admin("GET", "/v1/machines").json["machines"]
check(len(listing) == 250, f"{len(listing)} machines listed, not 250")
ids = sorted(m["machine_id"] for m in listing)
rows, sizes = walk("/")
check(sizes == [100, 100, 50], f"page sizes {sizes}, not [100, 100, 50]")
got = [r["id"][2:] for r in rows]
check(got == ids, "the pages' machines are not each machine once in id order")
# the last page's last machine as after=: nothing follows
check(page(f"/?after={ids[-1]}").rows == [], "a page after the last machine is not empty")
check(len(page(f"/?after={ids[99]}").rows) == 100, "after the 100th machine: not 100 rows")

# 7 machines assigned a policy they fail, then each attests once more
strict = {"version": 2, "pcrs": {"sha256": [0]}, "pcr_values": {"sha256": {"0": ["00" * 32]}}}
check(admin("PUT", "/v1/policies/strict", strict).status == 200, "PUT strict")
failing = ids[3:250:37]
check(len(failing) == 7, f"{len(failing)} failing")
for m in failing:
    check(admin("PUT", f"/v1/machines/{m}/policy", {"policy": "strict"}).status == 200, "assign")
open(f"{W}/failing", "w").write("\n".join(failing))
PY

# the generator calls a fleet with FAIL verdicts broken (exit 1): its line
# on the first attestations says the 7 failed and nothing else did
gen 1 --machines 250 --clients 4 >"$W/gen2.out" 2>"$W/gen2.err"
grep -q 'first attestations with the log: 250, 7 FAIL, 0 errors$' "$W/gen2.err" ||
  fail "second run: not 7 FAIL of 250: $(grep -v '^attest-load: machine ' "$W/gen2.err" | tail -5)"

python3 - <<'PY' || fail "the status page of 250 machines, 7 failing"
from atk import *
from fleetpage import page, walk
failing = open(f"{W}/failing").read().split()
listing = {m["machine_id"]: m for m in admin("GET", "/v1/machines").json["machines"]}
check(sorted(m for m in listing if listing[m]["last_verdict"] == "fail") == failing,
      "the JSON list does not have exactly the 7 failing")
rows, sizes = walk("/?verdict=fail")
check(sizes == [7] and [r["id"][2:] for r in rows] == failing, f"?verdict=fail: {sizes} {[r['id'] for r in rows]}")
for r in rows:
    c = r["cells"]
    check(r["class"] == "machine verdict-fail" and c["verdict"] == "FAIL", f"failing row {r}")
    check(c["check"] == "policy_pcr_values" and "PCR 0" in c["reason"], f"failing row's check and reason: {r}")
rows, sizes = walk("/?verdict=pass")
check(sizes == [100, 100, 43], f"?verdict=pass page sizes {sizes}, not [100, 100, 43]")
check(sorted(r["id"][2:] for r in rows) == sorted(set(listing) - set(failing)), "?verdict=pass: not the 243 others")
check(page("/?verdict=pass").next.startswith("/?verdict=pass&after="), "the filter is not kept in the next link")
check(page("/?verdict=none").rows == [], "?verdict=none is not empty")
for r in walk("/")[0]:
    m, c = listing[r["id"][2:]], r["cells"]
    want = {"pass": "PASS", "fail": "FAIL"}[m["last_verdict"]]
    check(c["verdict"] == want and c["counter"] == str(m["counter"] if m["counter"] is not None else "")
          and c["resets"] == str(m["reset_count"]), f"row {r} against {m}")
print(f"250 machines in 3 pages; 7 FAIL, 243 PASS by filter", file=sys.stderr)
PY
echo PASS
