#!/usr/bin/env bash
# SQL and log injection (THREATS "Server"): machine names with quotes,
# apostrophes, SQL, newlines, a forged log line, HTML, terminal escapes and
# non-ASCII enroll and read back verbatim (machines show/list --json, the
# verdict); a NUL (\u0000), invalid UTF-8, an empty or 257-byte name are 400
# malformed; the store still holds every table afterwards; request lines
# with control bytes and event strings with quotes, newlines, NULs and
# escapes reach no output raw; every line of the server's log is its own.
# $1: tpmattest.
. "$(dirname "$0")/lib.sh"
need_example_log

machine_a
# the golden policy of the genuine log, then the log with one more event
# whose data is hostile text (logedit.py: digests recomputed, so it replays)
run 0 "$T" eventlog extend "$LOG"
run 0 "$T" quote --nonce "$(openssl rand -hex 32)" --eventlog "$LOG" --out "$W/golden-ev.json"
run 0 "$T" policy create "$W/golden-ev.json" --out "$W/golden.json"
EVIL=$(printf 'it'"'"'s "x"\n\x00\x1b[31mred\r</script>'"'"'); DROP TABLE machines;--' | od -An -tx1 | tr -d ' \n')
python3 "$SHERE/../verify/logedit.py" "$LOG" "$W/evil.bin" "append:9:13:$EVIL" >/dev/null 2>"$W/err" || fail "logedit: $(cat "$W/err")"
swtpm_stop
swtpm_start_again
run 0 "$T" eventlog extend "$W/evil.bin"
start_server

# check_name NAME: enrolls with it, reads it back everywhere, deletes
check_name() {
  local n=$1 id
  run 0 enroll --name "$n" --id-file "$W/id" --json
  id=$(cat "$W/id")
  python3 - "$W/out" "$n" <<'PY' || fail "enroll --json: the name is not verbatim: $(cat -v "$W/out")"
import json, sys
assert json.load(open(sys.argv[1]))["name"] == sys.argv[2]
PY
  run 0 machines show "$id" --json
  python3 - "$W/out" "$n" <<'PY' || fail "machines show --json: the name is not verbatim: $(head -c 600 "$W/out" | cat -v)"
import json, sys
assert json.load(open(sys.argv[1]))["name"] == sys.argv[2]
PY
  run 0 machines list --json
  python3 - "$W/out" "$n" "$id" <<'PY' || fail "machines list --json: $(head -c 600 "$W/out" | cat -v)"
import json, sys
ms = json.load(open(sys.argv[1]))["machines"]
assert [(m["machine_id"], m["name"]) for m in ms] == [(sys.argv[3], sys.argv[2])], ms
PY
  # the text forms: no raw control character reaches the terminal
  for sub in "list" "show $id"; do
    run 0 machines $sub
    ! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$W/out" || fail "machines $sub prints a raw control character: $(cat -v "$W/out")"
  done
  run 0 attest --machine "$id" --eventlog "$W/evil.bin" --json
  python3 - "$W/out" "$n" <<'PY' || fail "the verdict's name: $(head -c 600 "$W/out" | cat -v)"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["name"] == sys.argv[2] and d["verdict"] == "pass", (d["name"], d["verdict"])
PY
  run 0 machines delete "$id"
}
NAMES=(
  "it's \"quoted\""
  "'); DROP TABLE machines;--"
  "\" OR 1=1; DELETE FROM nonces; --"
  $'line one\nline two\r\nthree'
  $'x"\ntpmattest serve: GET "/forged" 200'
  "<script>alert('x')</script>&amp;"
  $'\x1b[2J\x1b[31mred\x07\x7f'
  "naïve ☃ 名前 \\u0000 %00 %s%n"
  "$(printf 'n%.0s' $(seq 256))"
)
for n in "${NAMES[@]}"; do check_name "$n"; done
echo "ok: ${#NAMES[@]} hostile names enrolled and read back verbatim"
# the SQL did nothing: the store has its machines, nonces, history
run 0 enroll --name "after the injections" --id-file "$W/id"
ID=$(cat "$W/id")
run 0 machines list --json
[ "$(json "$W/out" '[m["name"] for m in d["machines"]]')" = "['after the injections']" ] || fail "machines after the injections: $(cat "$W/out")"
N=$(nonce "$ID")
run 0 attest --machine "$ID" --eventlog "$W/evil.bin" --json
cp "$W/out" "$W/last.json"
run 0 machines history "$ID" --json
# one EK, so one id throughout: its history (which outlives deletions)
# holds the ${#NAMES[@]} earlier verdicts and this one, each with the name
# it had then
python3 - "$W/out" "$W/last.json" "${NAMES[@]}" <<'PY' || fail "history: $(head -c 600 "$W/out" | cat -v)"
import json, sys
h = json.load(open(sys.argv[1]))["history"]
last = json.load(open(sys.argv[2]))
names = sys.argv[3:]
assert len(h) == len(names) + 1, len(h)
assert h[0]["seq"] == last["seq"] and h[0]["verdict"] == "pass", (h[0]["seq"], last["seq"])
assert [e["result"]["name"] for e in h] == ["after the injections"] + names[::-1], [e["result"]["name"] for e in h]
PY

# ---- names the strict reader refuses: 400 malformed, nothing enrolled ----
run 0 machines delete "$ID"
areq "$W/req.json"
# body NAME-AS-JSON: the enroll body with that raw JSON text as the name
body() { python3 -c 'import json,sys; sys.stdout.write("{\"name\": %s, \"request\": %s}" % (sys.argv[1], open(sys.argv[2]).read()))' "$1" "$W/req.json" >"$W/enr.json"; }
for nm in '"a\u0000b"' '"\u0000"' '"\ud800"' '""' "\"$(printf 'n%.0s' $(seq 257))\"" 7 '["x"]' '{"a": 1}'; do
  body "$nm"
  expect 400 malformed --data-file "$W/enr.json" POST /v1/enroll
done
# raw invalid UTF-8 in the name (0xff), and a raw NUL byte in it
body '"abc"'
python3 - "$W/enr.json" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
open(sys.argv[1] + ".ff", "wb").write(b.replace(b'"abc"', b'"a\xffb"', 1))
open(sys.argv[1] + ".nul", "wb").write(b.replace(b'"abc"', b'"a\x00b"', 1))
open(sys.argv[1] + ".ctl", "wb").write(b.replace(b'"abc"', b'"a\nb"', 1))
PY
for x in ff nul ctl; do expect 400 malformed --data-file "$W/enr.json.$x" POST /v1/enroll; done
# the client refuses what it cannot send: 257 bytes (usage)
run 2 enroll --name "$(printf 'n%.0s' $(seq 257))"
run 0 machines list --json
[ "$(json "$W/out" 'len(d["machines"])')" = 0 ] || fail "a refused name enrolled: $(cat "$W/out")"
# the genuine body still enrolls (nothing above was half-done)
body '"after the refusals"'
expect 200 - --data-file "$W/enr.json" POST /v1/enroll
echo "ok: NUL, invalid UTF-8, control characters, empty and 257-byte names: 400 malformed"

# ---- hostile request lines: the log escapes them ----
python3 - "$URL" "$CA" <<'PY' || fail "raw request lines"
import socket, ssl, sys
url, ca = sys.argv[1:3]
host, port = url[len("https://"):].rsplit(":", 1)
c = ssl.create_default_context(cafile=ca)
for line in (b"GET /v1/\x1b[2J\x1b[31m\x07\x7f\xff HTTP/1.1", b"GET /v1/a\rtpmattest serve: GET \"/forged\" 200 HTTP/1.1",
             b"GET /v1/%0a%0dtpmattest%20serve: HTTP/1.1", b"GET /v1/machines/%00 HTTP/1.1",
             b"GET /\"quoted\"\\ HTTP/1.1"):
    s = c.wrap_socket(socket.create_connection((host, int(port)), timeout=10), server_hostname=host)
    s.sendall(line + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
    s.settimeout(10)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
PY
expect 200 - GET /healthz

# ---- event strings: the hostile event is in the held log; the policy
# refuses it, and its text reaches no output raw ----
run 0 enroll --name evil-events --id-file "$W/id2"
ID2=$(cat "$W/id2")
run 0 attest --machine "$ID2" --eventlog "$W/evil.bin" --json
run 0 machines policy "$ID2" "$W/golden.json" --name golden
run 1 attest --machine "$ID2" --eventlog "$W/evil.bin" --json
cp "$W/out" "$W/evil-verdict.json"
python3 - "$W/evil-verdict.json" <<'PY' || fail "the verdict on the hostile event: $(head -c 1500 "$W/evil-verdict.json" | cat -v)"
import json, sys
raw = open(sys.argv[1], "rb").read()
d = json.loads(raw)
assert d["verdict"] == "fail" and d["policy"]["name"] == "golden", (d["verdict"], d["policy"])
assert b"\x1b" not in raw and b"\x00" not in raw, "raw control bytes in the JSON"
print("ok: the hostile event: FAIL (%s): %s" % (d["failed_check"], d["reason"]))
PY
run 1 attest --machine "$ID2" --eventlog "$W/evil.bin"
! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$W/out" || fail "attest prints a raw control character: $(cat -v "$W/out")"
grep -q "^NOT VERIFIED: " "$W/out" || fail "attest (text): $(head -3 "$W/out" | cat -v)"
run 0 machines history "$ID2"
! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$W/out" || fail "machines history prints a raw control character: $(cat -v "$W/out")"
run 0 machines history "$ID2" --json
[ "$(json "$W/out" '[e["verdict"] for e in d["history"]][:3]')" = "['fail', 'fail', 'pass']" ] || fail "history: $(head -c 800 "$W/out" | cat -v)"

# ---- the server's log: one line per request, nothing forged, escaped ----
log_clean
! grep -q '^tpmattest serve: GET "/forged" 200$' "$SRV_LOG" || fail "a forged log line: $(grep -n forged "$SRV_LOG" | cat -v)"
! LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$SRV_LOG" || fail "raw control characters in the log: $(LC_ALL=C grep -n $'[\x01-\x08\x0b-\x1f\x7f]' "$SRV_LOG" | cat -v)"
# the hostile request lines were logged, escaped
grep -qF 'GET "/\"quoted\"\\" 404' "$SRV_LOG" || fail "the quoted path is not in the log, escaped: $(grep -n quoted "$SRV_LOG" | cat -v)"
grep -qF '\x1b[2J\x1b[31m\x07\x7f\xff' "$SRV_LOG" || fail "the escape bytes are not in the log, escaped: $(grep -n '2J' "$SRV_LOG" | cat -v)"
finish
