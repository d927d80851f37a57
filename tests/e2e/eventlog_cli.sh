#!/usr/bin/env bash
# tpmattest eventlog show/replay/check against the bundled example log: exit
# statuses, messages and JSON shapes, without ../shared.
. "$(dirname "$0")/lib.sh"
EX=$(cd "$(dirname "$0")/../../examples" && pwd)
LOG=$EX/cos-101-amd-sev.bin
PCRS=$EX/cos-101-amd-sev.pcrs.json
py() { python3 -c "$@"; }

# replay --json: the documented shape and exactly the recorded values
expect_exit 0 "replay --json" "$TPA" eventlog replay --json "$LOG"
cp "$T/out" "$T/replay.json"
py 'import json,sys
got=json.load(open(sys.argv[1]))["pcrs"]; want=json.load(open(sys.argv[2]))["pcrs"]
n=0
for b in want:
    for k,v in want[b].items():
        if k in got.get(b,{}): n+=1; assert got[b][k]==v,(b,k)
assert n==22,n
assert set(got)=={"sha1","sha256","sha384"},set(got)
assert sorted(got["sha256"],key=int)==[str(i) for i in range(10)]+["14"],sorted(got["sha256"])' "$T/replay.json" "$PCRS" && pass || fail "replay values differ from the recorded PCRs"

# check: every recorded value matches
expect_exit 0 "check against recorded values" "$TPA" eventlog check "$LOG" --pcrs "$PCRS"
expect_grep "$T/out" "^22 PCR values match" "check summary"

# check: one flipped value in PCR4 sha256 -> exit 1 naming PCR4 and the bank, listing its events
py 'import json,sys
d=json.load(open(sys.argv[1])); v=d["pcrs"]["sha256"]["4"]; d["pcrs"]["sha256"]["4"]=("0" if v[0]!="0" else "1")+v[1:]
json.dump(d,open(sys.argv[2],"w"))' "$PCRS" "$T/bad4.json"
expect_exit 1 "check with a wrong PCR4" "$TPA" eventlog check "$LOG" --pcrs "$T/bad4.json"
expect_grep "$T/out" "^PCR4 sha256: MISMATCH" "mismatch names PCR4 sha256"
expect_grep "$T/out" "EV_EFI_BOOT_SERVICES_APPLICATION" "mismatch lists PCR4's events"
expect_grep "$T/err" "1 of 22 PCR values differ" "mismatch summary on stderr"
expect_exit 1 "check --json with a wrong PCR4" "$TPA" eventlog check --json "$LOG" --pcrs "$T/bad4.json"
py 'import json,sys
d=json.load(open(sys.argv[1])); assert d["result"]=="mismatch"; m=d["mismatches"]
assert len(m)==1 and m[0]["pcr"]==4 and m[0]["bank"]=="sha256", m' "$T/out" && pass || fail "check --json mismatch shape"

# a PCR in the file with no events is "not covered", never a match
echo '{"pcrs":{"sha256":{"15":"0000000000000000000000000000000000000000000000000000000000000000"}}}' >"$T/uncov.json"
expect_exit 1 "check where nothing is covered" "$TPA" eventlog check "$LOG" --pcrs "$T/uncov.json"
expect_grep "$T/out" "PCR15 sha256: not covered \(no events in the log\)" "not covered message"
expect_grep "$T/err" "nothing was compared" "nothing compared"

# show --json: events with digests, verification and decoded data
expect_exit 0 "show --json" "$TPA" eventlog show --json "$LOG"
py 'import json,sys
d=json.load(open(sys.argv[1])); ev=d["events"]
assert d["format"]=="crypto-agile" and len(ev)==48, len(ev)
sb=[e for e in ev if e["type"]=="EV_EFI_VARIABLE_DRIVER_CONFIG" and e["data"].get("name")=="SecureBoot"]
assert sb and sb[0]["digest_verified"] is True and sb[0]["pcr"]==7
seps=[e for e in ev if e["type"]=="EV_SEPARATOR"]
assert all(e["digest_verified"] is True for e in seps) and sorted(e["pcr"] for e in seps)==list(range(8)), [e["pcr"] for e in seps]
apps=[e for e in ev if e["type"]=="EV_EFI_BOOT_SERVICES_APPLICATION"]
assert apps and all("device_path" in e["data"] and e["digest_verified"] is None for e in apps)' "$T/out" && pass || fail "show --json content"

# malformed input: exit 3 with the byte offset and the reason, nothing on stdout
head -c 1000 "$LOG" >"$T/cut.bin"
expect_exit 3 "replay of a cut log" "$TPA" eventlog replay --json "$T/cut.bin"
expect_grep "$T/err" "malformed event log at byte offset [0-9]+: record [0-9]+: " "malformed message"
[ ! -s "$T/out" ] && pass || fail "partial output on malformed input"
printf 'not an event log at all, just text\n' >"$T/text.bin"
expect_exit 3 "replay of a text file" "$TPA" eventlog replay "$T/text.bin"
: >"$T/empty.bin"
expect_exit 3 "replay of an empty file" "$TPA" eventlog replay "$T/empty.bin"
expect_grep "$T/err" "the log is empty" "empty log message"

# environment and usage errors
expect_exit 4 "missing log file" "$TPA" eventlog replay "$T/does-not-exist.bin"
expect_grep "$T/err" "does-not-exist.bin: cannot read: No such file" "missing file message"
expect_exit 4 "missing pcrs file" "$TPA" eventlog check "$LOG" --pcrs "$T/nope.json"
echo '{"pcrs":{"sha256":{"0":"zz"}}}' >"$T/badjson.json"
expect_exit 3 "malformed pcrs file" "$TPA" eventlog check "$LOG" --pcrs "$T/badjson.json"
expect_exit 2 "check without --pcrs" "$TPA" eventlog check "$LOG"
expect_exit 2 "unknown subcommand" "$TPA" eventlog frobnicate "$LOG"
expect_exit 2 "unknown option" "$TPA" eventlog replay --bogus "$LOG"
expect_exit 2 "two logs" "$TPA" eventlog replay "$LOG" "$LOG"
expect_exit 0 "eventlog --help" "$TPA" eventlog --help
expect_grep "$T/out" "usage: tpmattest eventlog show" "help text"
expect_exit 0 "tpmattest --help" "$TPA" --help
expect_exit 2 "no command" "$TPA"
finish
