#!/usr/bin/env bash
# The fleet status page in a browser (issue 13, docs/status-page.md): a
# fleet of three swtpm machines on one server, the page loaded in headless
# Chromium (Debian's chromium) with the admin client certificate from an
# NSS database, its DOM parsed (domcheck.py, html.parser) and checked for
# every machine and verdict, the filters, the failing machine's history and
# PCR grid; the hostile strings (a machine named
# <img src=x onerror=alert(1)>&"' and an event string with <script> and
# <b> in a failure reason) shown as text, no element made from them; the
# headers (CSP, nosniff, Content-Type), 401 without a certificate, 404 and
# 400 pages; a screenshot at BUILDDIR/status-page.png.
# $1: tpmattest, $2: the build directory of tests/browser (for the
# screenshot).  Exit 77 when chromium, certutil/pk12util, curl, swtpm or
# python3 is missing.
OUT=${2:?usage: test-status-page.sh TPMATTEST BUILDDIR}
for c in chromium certutil pk12util curl swtpm python3; do
  command -v "$c" >/dev/null || { echo "SKIP: $c is not installed (scripts/deps.sh installs chromium, libnss3-tools and swtpm)"; exit 77; }
done
BHERE=$(cd "$(dirname "$0")" && pwd)
. "$BHERE/../server/lib.sh"
need_example_log
DOMCHECK=$BHERE/domcheck.py

# ---- a third swtpm (machine C), as start_swtpm_b: state in $W/tpmc ----
start_swtpm_c() {
  local d=$W/tpmc
  mkdir -p "$d/state"
  swtpm_setup --tpm2 --tpmstate "$d/state" --pcr-banks sha1,sha256 --overwrite >"$d/setup.log" 2>&1 || { cat "$d/setup.log" >&2; fail "swtpm_setup C failed"; }
  PORT_C=$(free_port)
  [ -n "$PORT_C" ] || fail "no free port"
  swtpm socket --tpm2 --tpmstate dir="$d/state" \
    --server type=tcp,port=$PORT_C,bindaddr=127.0.0.1 \
    --ctrl type=tcp,port=$((PORT_C + 1)),bindaddr=127.0.0.1 \
    --flags not-need-init,startup-clear --daemon --pid file="$d/pid" || fail "swtpm C did not start"
  PIDS+=("$(cat "$d/pid")")
  TCTI_C="swtpm:host=127.0.0.1,port=$PORT_C"
}
on_c() { TPMATTEST_TCTI=$TCTI_C TPM2TOOLS_TCTI=$TCTI_C "$@"; }
# verdict_is pass|fail FILE: the attest --json answer's verdict, recorded
verdict_is() {
  [ "$(json "$2" 'd["verdict"], d["verified"], d["recorded"]')" = "('$1', $([ "$1" = pass ] && echo True || echo False), True)" ] ||
    fail "want a recorded $1: $(head -c 1500 "$2")"
}

# ---- the fleet ----
# A (web-01): the genuine log, its own golden policy: PASS.
# B (the hostile name): the genuine log and two more grub commands, E_X
#   and E_H (EV_IPL in PCR 8, as grub measures its commands); E_H's string
#   is hostile HTML.  No policy: PASS.  Policy fleet-b is learnt from B:
#   every EV_IPL is a required event, and its note is the event's string.
# C (db-02): PASS under golden with the genuine log; then E_X is measured
#   (PCR 8 changes) and C is assigned fleet-b: FAIL, lacking the required
#   E_H, whose note (B's event string) is quoted in the reason.
NAME_A=web-01
NAME_B="<img src=x onerror=alert(1)>&\"'"
NAME_C=db-02
EX_TEXT='grub_cmd: linux /vmlinuz console=<b>ttyS0</b>'
EH_TEXT="grub_cmd: echo <script>alert(1)</script><b>x</b>&amp;\"q\" 'a'"
hexof() { printf '%s\0' "$1" | od -An -tx1 | tr -d ' \n'; }
python3 "$SHERE/../verify/logedit.py" "$LOG" "$W/c.bin" "append:8:13:$(hexof "$EX_TEXT")" >"$W/ex.txt" 2>"$W/err" || fail "logedit (C's log): $(cat "$W/err")"
python3 "$SHERE/../verify/logedit.py" "$LOG" "$W/b.bin" "append:8:13:$(hexof "$EX_TEXT")" \
  "append:8:13:$(hexof "$EH_TEXT")" >/dev/null 2>"$W/err" || fail "logedit (B's log): $(cat "$W/err")"
# E_X's digests in the banks the swtpms have: "8:sha1=..,sha256=.."
EX_EXTEND=$(python3 -c '
import sys
_, pcr, digs = open(sys.argv[1]).read().split()
print(pcr + ":" + ",".join(d for d in digs.split(",") if d.split("=")[0] in ("sha1", "sha256")))' "$W/ex.txt")

machine_a
run 0 "$T" eventlog extend "$LOG"
run 0 "$T" quote --nonce "$(openssl rand -hex 32)" --eventlog "$LOG" --out "$W/a-ev.json"
run 0 "$T" policy create "$W/a-ev.json" --out "$W/golden.json"
start_swtpm_b
on_b provision_tpm b
run 0 on_b "$T" eventlog extend "$W/b.bin"
run 0 on_b "$T" quote --nonce "$(openssl rand -hex 32)" --eventlog "$W/b.bin" --out "$W/b-ev.json"
run 0 "$T" policy create "$W/b-ev.json" --out "$W/fleet-b.json"
start_swtpm_c
on_c provision_tpm c
run 0 on_c "$T" eventlog extend "$LOG"
start_server

run 0 enroll --name "$NAME_A" --id-file "$W/id-a"
ID_A=$(cat "$W/id-a")
run 0 machines policy "$ID_A" "$W/golden.json" --name golden
run 0 attest --machine "$ID_A" --eventlog "$LOG" --json
cp "$W/out" "$W/v-a.json"
verdict_is pass "$W/v-a.json"

run 0 on_b enroll --name "$NAME_B" --id-file "$W/id-b"
ID_B=$(cat "$W/id-b")
run 0 on_b attest --machine "$ID_B" --eventlog "$W/b.bin" --json
cp "$W/out" "$W/v-b.json"
verdict_is pass "$W/v-b.json"

run 0 on_c enroll --name "$NAME_C" --id-file "$W/id-c"
ID_C=$(cat "$W/id-c")
run 0 machines policy "$ID_C" "$W/golden.json" --name golden
run 0 on_c attest --machine "$ID_C" --eventlog "$LOG" --json
cp "$W/out" "$W/v-c1.json"
verdict_is pass "$W/v-c1.json"
on_c tpm2_pcrextend "$EX_EXTEND" 2>"$W/err" || fail "tpm2_pcrextend $EX_EXTEND on C"
run 0 machines policy "$ID_C" "$W/fleet-b.json" --name fleet-b
run 1 on_c attest --machine "$ID_C" --eventlog "$W/c.bin" --json
cp "$W/out" "$W/v-c2.json"
[ "$(json "$W/v-c2.json" 'd["verdict"], d["recorded"], d["failed_check"]')" = "('fail', True, 'policy_events')" ] ||
  fail "C under fleet-b: want a recorded FAIL of policy_events: $(head -c 1500 "$W/v-c2.json")"
# the reason quotes B's event string (the required event's note), verbatim
REASON=$(json "$W/v-c2.json" 'd["reason"]')
case $REASON in
  *"EV_IPL $EH_TEXT"*) ;;
  *) fail "the reason does not quote the hostile event string '$EH_TEXT': '$REASON'" ;;
esac
echo "ok: the fleet ($(elapsed) s): $NAME_A PASS, the hostile name PASS, $NAME_C PASS then FAIL: $REASON"

# ---- the expectations, from the server's own answers ----
run 0 machines list --json
cp "$W/out" "$W/list.json"
for m in a b c; do
  id=$(cat "$W/id-$m")
  run 0 machines history "$id" --json
  cp "$W/out" "$W/hist-$m.json"
done
python3 - "$W" "$EH_TEXT" "$NAME_B" "$EX_EXTEND" >"$W/expect.json" <<'PY' || fail "the expectations"
import json, sys
w, eh, nb, ext = sys.argv[1:5]
ld = lambda f: json.load(open(w + "/" + f))
ms, hist = {}, {}
for m in ld("list.json")["machines"]:
    ms[m["machine_id"]] = {"name": m["name"], "verdict": m["last_verdict"], "at": m["last_at"],
                           "policy": m["policy"], "counter": m["counter"], "resets": m["reset_count"],
                           "check": None, "reason": None}
for x in "abc":
    mid = open(w + "/id-" + x).read().strip()
    h = ld("hist-%s.json" % x)["history"]
    hist[mid] = [{"seq": e["seq"], "at": e["at"], "verdict": e["verdict"],
                  "check": e["result"].get("failed_check"), "reason": e["result"].get("reason")}
                 for e in h]
    if ms[mid]["verdict"] == "fail":
        ms[mid]["check"], ms[mid]["reason"] = hist[mid][0]["check"], hist[mid][0]["reason"]
c1, c2 = ld("v-c1.json"), ld("v-c2.json")
cid = c2["machine_id"]
# the failing machine's history is its two attestations, as attest answered
assert [(e["seq"], e["verdict"], e["reason"]) for e in hist[cid]] == [
    (c2["seq"], "fail", c2["reason"]), (c1["seq"], "pass", None)], hist[cid]
assert ms[cid]["at"] == c2["at"], (ms[cid], c2["at"])
json.dump({"machines": ms, "history": hist, "pcrs_pass": c1["pcrs"], "pcrs_fail": c2["pcrs"],
           "extended": [int(ext.split(":")[0])], "hostile": [nb, eh]}, sys.stdout, indent=1)
PY

# ---- without the admin certificate: no page ----
# curlx PATH [CURL-ARGS]: status to stdout, headers in $W/h, body in $W/hb
curlx() {
  local p=$1; shift
  curl -sS -o "$W/hb" -D "$W/h" -w '%{http_code}' --max-time 20 --cacert "$CA" "$@" "$URL$p" 2>"$W/err"
}
ADMIN_CURL=(--cert "$W/pki/admin.pem" --key "$W/pki/admin.key")
for p in / "/machines/$ID_C" "/?verdict=fail"; do
  got=$(curlx "$p")
  [ "$got" = 401 ] || fail "GET $p without a client certificate: want 401, got $got: $(head -c 300 "$W/hb")"
  ! grep -q -e 'id="fleet"' -e "$ID_C" -e "$NAME_C" "$W/hb" || fail "GET $p without a certificate shows the page: $(head -c 300 "$W/hb")"
  got=$(curlx "$p" --cert "$W/pki/other.pem" --key "$W/pki/other.key") && rc=0 || rc=$?
  [ "$got" = 403 ] || { [ "$rc" != 0 ] && [ "$got" = 000 ]; } ||
    fail "GET $p with another CA's certificate: want 403 or a failed handshake, got $got (curl $rc): $(head -c 300 "$W/hb")"
  ! grep -q -e 'id="fleet"' -e "$ID_C" "$W/hb" 2>/dev/null || fail "GET $p with another CA's certificate shows the page"
done
echo "ok: without a client certificate 401, with another CA's refused, no page either way"

# ---- the headers, the 404 and 400 pages (curl, the admin certificate) ----
# headers_ok WHAT: $W/h is an HTML answer with the page's headers
headers_ok() {
  python3 - "$W/h" "$1" <<'PY' || fail "the headers of $1: $(cat "$W/h")$(head -c 300 "$W/hb")"
import sys
lines = open(sys.argv[1], encoding="latin-1").read().splitlines()
h = {}
for l in lines[1:]:
    if ":" in l:
        k, v = l.split(":", 1)
        h.setdefault(k.strip().lower(), []).append(v.strip())
bad = []
def want(c, what, found):
    if not c:
        bad.append("%s: found %r" % (what, found))
csp = h.get("content-security-policy", [])
want(len(csp) == 1 and "default-src 'none'" in [d.strip() for d in csp[0].split(";")],
     "one Content-Security-Policy with the directive default-src 'none'", csp)
want(all("script-src" not in c for c in csp), "no script-src in the CSP", csp)
want(h.get("x-content-type-options") == ["nosniff"], "X-Content-Type-Options: nosniff", h.get("x-content-type-options"))
want(h.get("content-type") == ["text/html; charset=utf-8"], "Content-Type: text/html; charset=utf-8", h.get("content-type"))
for b in bad:
    print("FAIL: %s: expected %s" % (sys.argv[2], b))
sys.exit(1 if bad else 0)
PY
}
for p in / "/?verdict=fail" "/machines/$ID_C"; do
  got=$(curlx "$p" "${ADMIN_CURL[@]}")
  [ "$got" = 200 ] || fail "GET $p with the admin certificate: want 200, got $got: $(head -c 300 "$W/hb")"
  headers_ok "GET $p"
done
UNKNOWN=$(openssl rand -hex 32)
# error PATH STATUS TITLE: an HTML error page with that status and heading
error_page() {
  local got
  got=$(curlx "$1" "${ADMIN_CURL[@]}")
  [ "$got" = "$2" ] || fail "GET $1: want $2, got $got: $(head -c 300 "$W/hb")"
  headers_ok "GET $1 ($2)"
  python3 "$DOMCHECK" error "$W/hb" "$W/expect.json" "$3" >"$W/dc" || { cat "$W/dc" >&2; fail "GET $1: the error page"; }
  cat "$W/dc"
}
error_page "/machines/$UNKNOWN" 404 "no such machine"
error_page "/?verdict=maybe" 400 "bad query"
error_page "/machines/$(echo "$ID_C" | tr a-f A-F)" 400 "bad machine id"

# ---- Chromium with the admin certificate ----
# An NSS database in a HOME of its own: the admin's certificate and key
# (PKCS#12) and the server's CA, trusted for TLS servers.  The certificate
# is chosen without a dialog by the profile's content setting
# auto_select_certificate (what the AutoSelectCertificateForUrls policy
# sets, here in the user data directory's Preferences, for this origin and
# a certificate issued by admin-ca): nothing system-wide.
CH=$W/chromium
mkdir -p "$CH/home/.pki/nssdb" "$CH/profile/Default"
NSS=sql:$CH/home/.pki/nssdb
openssl pkcs12 -export -in "$W/pki/admin.pem" -inkey "$W/pki/admin.key" -name tpmattest-admin \
  -out "$W/pki/admin.p12" -passout pass: 2>"$W/err" || fail "openssl pkcs12"
HOME=$CH/home certutil -N --empty-password -d "$NSS" >"$W/out" 2>"$W/err" || fail "certutil -N"
HOME=$CH/home pk12util -i "$W/pki/admin.p12" -W '' -d "$NSS" >"$W/out" 2>"$W/err" || fail "pk12util -i: $(cat "$W/out")"
HOME=$CH/home certutil -A -n tpmattest-server-ca -t 'C,,' -i "$CA" -d "$NSS" >"$W/out" 2>"$W/err" || fail "certutil -A"
HOME=$CH/home certutil -L -d "$NSS" >"$W/out" 2>"$W/err" || fail "certutil -L"
grep -q '^tpmattest-admin  *u,u,u' "$W/out" || fail "the admin's key is not in the NSS database: $(cat "$W/out")"
python3 - "$CH/profile/Default/Preferences" "$URL" <<'PY' || fail "the profile's Preferences"
import json, sys
json.dump({"profile": {"content_settings": {"exceptions": {"auto_select_certificate": {
    sys.argv[2] + ",*": {"setting": {"filters": [{"ISSUER": {"CN": "admin-ca"}}]}}}}}}},
    open(sys.argv[1], "w"))
PY
# chromium ARGS...: headless, at most 60 s (and the whole process group)
chromium_run() {
  HOME=$CH/home timeout -k 5 60 chromium --headless --no-sandbox --disable-gpu \
    --no-first-run --user-data-dir="$CH/profile" "$@" 2>>"$W/chromium.log"
}
# dom NAME PATH: the DOM of the page at PATH in $W/NAME.html
dom() {
  local rc=0
  chromium_run --dump-dom "$URL$2" >"$W/$1.html" || rc=$?
  [ "$rc" = 0 ] || fail "chromium --dump-dom $2: exit $rc$([ "$rc" = 124 ] && echo ' (60 s: a certificate dialog?)'): $(grep -v -e dbus -e 'unexpected operator' "$W/chromium.log" | tail -5)"
  [ -s "$W/$1.html" ] || fail "chromium --dump-dom $2: no DOM"
}
# check KIND NAME ARG: domcheck.py on $W/NAME.html
check() {
  python3 "$DOMCHECK" "$1" "$W/$2.html" "$W/expect.json" "$3" >"$W/dc" || { cat "$W/dc" >&2; fail "the DOM of $2 (kept above)"; }
  cat "$W/dc"
}
dom fleet /
check fleet fleet all
dom fleet-fail "/?verdict=fail"
check fleet fleet-fail fail
dom fleet-pass "/?verdict=pass"
check fleet fleet-pass pass
dom fleet-none "/?verdict=none"
check fleet fleet-none none
dom machine-c "/machines/$ID_C"
check machine machine-c "$ID_C"
dom machine-b "/machines/$ID_B"
check machine machine-b "$ID_B"
echo "ok: the DOMs in Chromium ($(elapsed) s)"

# ---- the screenshot ----
mkdir -p "$OUT"
rm -f "$OUT/status-page.png"
chromium_run --screenshot="$OUT/status-page.png" --window-size=1280,900 "$URL/" >"$W/out" ||
  fail "chromium --screenshot: exit $?: $(tail -5 "$W/chromium.log")"
python3 - "$OUT/status-page.png" <<'PY' || fail "the screenshot $OUT/status-page.png"
import struct, sys
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[12:16] == b"IHDR", "not a PNG"
w, h = struct.unpack(">II", b[16:24])
assert (w, h) == (1280, 900), (w, h)
print("ok: the screenshot %s: %dx%d, %d bytes" % (sys.argv[1], w, h, len(b)))
PY
log_clean
pass
