#!/usr/bin/env bash
# The CLI's HTTPS client (cli/http_client.c) against small python3 HTTPS
# servers on 127.0.0.1 that stand in for tpmattest serve: server
# certificates from another CA and for another name or address are refused
# (exit 4, naming OpenSSL's verification error), an answer above the cap and
# a server that never answers or drips are refused within the deadline, the
# admin's client certificate is sent, error statuses map to exit codes
# (docs/api.md; DESIGN.md), verdicts print like tpmattest verify, and
# strings from the server never reach the terminal raw.  With a stand-in
# tpmattest-tpm: attest sends only the log's hash when the server holds that
# log, the whole evidence again after 409 eventlog_unknown, rounds with
# --interval and backoff; enroll --server's two exchanges and refusals, its
# private files gone afterwards.  Without swtpm (tests/server/ has that).
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null && command -v openssl >/dev/null || {
  echo "python3 and openssl needed"; exit 77; }

# ---- certificates ----
mkcert() { # NAME CA SAN [EXT]: a key and a certificate signed by CA (a CA when CA is "self")
  local n=$1 ca=$2 san=$3
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" \
    -keyout "$T/$n.key" -out "$T/$n.csr" 2>/dev/null || return 1
  if [ "$ca" = self ]; then
    printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$T/$n.ext"
    openssl x509 -req -in "$T/$n.csr" -signkey "$T/$n.key" -days 2 -extfile "$T/$n.ext" \
      -out "$T/$n.pem" 2>/dev/null
  else
    printf 'basicConstraints=CA:FALSE\nsubjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\n' \
      "$san" >"$T/$n.ext"
    openssl x509 -req -in "$T/$n.csr" -CA "$T/$ca.pem" -CAkey "$T/$ca.key" -CAcreateserial \
      -days 2 -extfile "$T/$n.ext" -out "$T/$n.pem" 2>/dev/null
  fi
}
mkcert ca1 self "" && mkcert ca2 self "" && mkcert adminca self "" &&
  mkcert good ca1 "IP:127.0.0.1,DNS:localhost" &&
  mkcert othera ca2 "IP:127.0.0.1,DNS:localhost" &&
  mkcert wrongname ca1 "IP:127.0.0.2,DNS:other.example" &&
  mkcert admin adminca "DNS:admin" || { echo "openssl failed"; exit 99; }

# ---- servers ----
cat >"$T/srv.py" <<'EOF'
# A stand-in verifier: the first path segment picks what it answers.
import http.server, json, os, socketserver, ssl, sys, time
portfile, cert, key, clientca = sys.argv[1:5]
ID = "ab" * 32
VERDICT = {"machine_id": ID, "name": None, "verdict": "pass", "verified": True,
           "error": None, "recorded": True, "seq": 7, "at": 1700000000,
           "policy": {"name": "golden", "ruled": True},
           "checks": [{"name": "signature", "status": "pass", "reason": "ok"},
                      {"name": "pcrs", "status": "pass", "reason": "all match"}]}
FAIL = dict(VERDICT, verdict="fail", verified=False, error="pcr mismatch",
            checks=[{"name": "signature", "status": "pass", "reason": "ok"},
                    {"name": "eventlog", "status": "fail",
                     "reason": "PCR 4 (sha256) differs\n\x1b[31mred"},
                    {"name": "policy", "status": "not_run", "reason": "an earlier check failed"}])
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def send(self, code, obj=None, raw=None, length=True):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
    def err(self, code, e, reason, check=None):
        o = {"error": e, "reason": reason}
        if check: o["check"] = check
        self.send(code, o)
    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        parts = self.path.split("/")
        mode = parts[1]
        rest = "/" + "/".join(parts[2:])
        peer = self.connection.getpeercert() if hasattr(self.connection, "getpeercert") else None
        if mode == "ok":
            if rest == "/v1/machines" and self.command == "GET":
                if not peer:
                    return self.err(401, "admin_certificate_required", "no client certificate")
                return self.send(200, {"machines": [
                    {"machine_id": ID, "name": "web\n01\x1b[2J", "enrolled_at": 1700000000,
                     "policy": None, "last_verdict": "fail", "last_error": "policy",
                     "last_at": 1700000100, "counter": 42, "reset_count": 1},
                    {"machine_id": "cd" * 32, "name": None, "enrolled_at": 1700000000,
                     "policy": None, "last_verdict": None, "last_error": None,
                     "last_at": None, "counter": None, "reset_count": None}]})
            if rest.endswith("/attest") and self.command == "POST":
                ev = json.loads(body)
                if self.headers.get("Tpmattest-Eventlog-Sha256"):
                    return self.err(400, "malformed", "unexpected hash")
                return self.send(200, FAIL if ev.get("fail") else VERDICT)
            if rest == "/v1/machines/" + ID and self.command == "DELETE":
                return self.send(200, {"deleted": True})
            if rest.startswith("/v1/policies/") and self.command == "PUT":
                open(portfile + ".policy", "wb").write(body)
                return self.send(200, {"name": rest.split("/")[-1]})
            if rest == "/v1/machines/" + ID + "/policy" and self.command == "PUT":
                open(portfile + ".assign", "wb").write(body)
                return self.send(200, {"machine_id": ID, "policy": json.loads(body)["policy"]})
            return self.err(404, "not_found", "no machine %s is enrolled" % rest.split("/")[3]
                            if rest.startswith("/v1/machines/") else "no such endpoint")
        if mode.startswith("s") and mode[1:].isdigit():
            code = int(mode[1:])
            codes = {400: "malformed", 401: "admin_certificate_required",
                     403: "nonce", 404: "not_found", 409: "name_taken", 503: "store"}
            return self.err(code, codes.get(code, "x"), "status %d says\tno" % code)
        if mode == "refused":
            return self.err(403, "refused", "chain: unknown-issuer", check="ek_certificate")
        if mode == "big":
            return self.send(200, raw=b" " * ((64 << 20) + 1))
        if mode == "bigclose":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b" " * (1 << 20)
            try:
                for _ in range(80):
                    self.wfile.write(chunk)
            except OSError:
                pass
            return
        if mode == "hang":
            time.sleep(30)
            return
        if mode == "drip":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass
            return
        if mode in ("att", "unknown") and rest.endswith("/nonce") and self.command == "POST":
            with open(portfile + ".noncebody", "a") as f:
                f.write(json.dumps(json.loads(body) if body else None) + "\n")
            held = open(portfile + ".held").read().strip() if os.path.exists(portfile + ".held") else None
            return self.send(200, {"nonce": "5a" * 32, "expires_at": 1700000120,
                                   "eventlog_sha256": held})
        if mode in ("att", "unknown") and rest.endswith("/attest") and self.command == "POST":
            hdr = self.headers.get("Tpmattest-Eventlog-Sha256")
            with open(portfile + ".sent", "a") as f:
                f.write(json.dumps({"hdr": hdr, "ev": json.loads(body)}) + "\n")
            if hdr and mode == "unknown":
                return self.err(409, "eventlog_unknown", "send the log")
            return self.send(200, VERDICT)
        if mode == "enroll" and rest == "/v1/enroll":
            d = json.loads(body)
            open(portfile + ".enroll", "w").write(json.dumps(d))
            if d["name"] == "taken":
                return self.err(409, "name_taken", "the name belongs to another machine")
            if d["name"] == "bad-ek":
                return self.err(403, "refused", "chain: unknown-issuer", check="ek_certificate")
            return self.send(200, {"machine_id": ID, "challenge": {
                "format": "tpmattest-enroll-challenge", "id": "77" * 16}})
        if mode == "enroll" and rest == "/v1/enroll/activate":
            d = json.loads(body)
            open(portfile + ".activate", "w").write(json.dumps(d))
            if d.get("secret") != "c2VjcmV0":
                return self.err(403, "refused", "the secret differs", check="secret")
            return self.send(200, {"machine_id": ID, "name": "n1", "enrolled_at": 1700000000})
        if mode == "unframed":
            self.send(200, {"machines": []}, length=False)
            self.close_connection = True
            return
        if mode == "cut":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b'{"machines": [')
            self.wfile.flush()
            self.close_connection = True
            return
        if mode == "notjson":
            return self.send(200, raw=b"<html>hello</html>")
        return self.err(404, "not_found", "no such endpoint")
    do_GET = do_POST = do_PUT = do_DELETE = handle_any
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    def get_request(self):
        s, a = self.socket.accept()
        # the handshake in the handler's thread: one slow client blocks no other
        return ctx.wrap_socket(s, server_side=True, do_handshake_on_connect=False), a
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ctx.load_verify_locations(clientca)
ctx.verify_mode = ssl.CERT_OPTIONAL
srv = S(("127.0.0.1", 0), H)
open(portfile + ".tmp", "w").write(str(srv.server_address[1]))
import os; os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
EOF
pids=()
start() { # NAME CERT: a server; its port in $T/NAME.port
  python3 "$T/srv.py" "$T/$1.port" "$T/$2.pem" "$T/$2.key" "$T/adminca.pem" 2>"$T/$1.log" &
  pids+=($!)
}
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
start good good; start othera othera; start wrongname wrongname
for n in good othera wrongname; do
  for _ in $(seq 100); do [ -s "$T/$n.port" ] && break; sleep 0.1; done
  [ -s "$T/$n.port" ] || { echo "server $n did not start: $(cat "$T/$n.log")"; exit 99; }
done
P=$(cat "$T/good.port"); PO=$(cat "$T/othera.port"); PW=$(cat "$T/wrongname.port")
ID=$(printf 'ab%.0s' $(seq 32))
ADM=(--cert "$T/admin.pem" --key "$T/admin.key")

list() { "$TPA" machines list --server "$1" --ca "$T/ca1.pem" "${ADM[@]}" "${@:2}"; }

# ---- TLS: what is accepted ----
expect_exit 0 "good server by IP" list "https://127.0.0.1:$P/ok"
expect_grep "$T/out" "^ID +NAME +VERDICT +WHEN +COUNTER" "list: header"
expect_grep "$T/out" "^abababababababab +web\\\\n01\\\\x1b\\[2J +fail \\(policy\\) +2023-11-14 22:15:00Z +42$" "list: row, name escaped"
expect_grep "$T/out" "^cdcdcdcdcdcdcdcd +- +- +- +-$" "list: a machine never attested"
if LC_ALL=C grep -q $'\x1b' "$T/out"; then fail "list: a raw ESC reached stdout"; else pass; fi
expect_exit 0 "good server by name (SNI, hostname check)" list "https://localhost:$P/ok"
expect_exit 0 "--json" list "https://127.0.0.1:$P/ok" --json
expect_grep "$T/out" '"machines"' "--json prints the server's document"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" && pass || fail "--json output is not JSON"

# ---- TLS: what is refused ----
expect_exit 4 "server certificate from another CA" list "https://127.0.0.1:$PO/ok"
expect_grep "$T/err" "https://127.0.0.1:$PO/ok: the server's certificate is not accepted \(--ca\): unable to get local issuer certificate" "another CA: names the verification error"
expect_exit 4 "IP address mismatch" list "https://127.0.0.1:$PW/ok"
expect_grep "$T/err" "not accepted \(--ca\): IP address mismatch" "IP mismatch: named"
expect_exit 4 "hostname mismatch" list "https://localhost:$PW/ok"
expect_grep "$T/err" "not accepted \(--ca\): hostname mismatch" "hostname mismatch: named"
expect_exit 4 "the server's own CA file is no client CA" \
  "$TPA" machines list --server "https://127.0.0.1:$P/ok" --ca "$T/ca2.pem" "${ADM[@]}"
expect_grep "$T/err" "unable to get local issuer certificate" "wrong --ca: named"

# ---- the client certificate ----
# the stand-in answers 401 without one, so the listing above proves it is sent;
# one from another CA its TLS refuses
expect_exit 4 "a client certificate the server's TLS refuses" \
  "$TPA" machines list --server "https://127.0.0.1:$P/ok" --ca "$T/ca1.pem" --cert "$T/good.pem" --key "$T/good.key"
# (its alert may be lost: the server resets a connection with the request unread)
expect_grep "$T/err" "the server ended the TLS connection: unknown CA \(it does not accept the client certificate, --cert\)|closed before a complete answer \(a server that does not accept the client certificate, --cert, may close so\)" "client certificate refused: named"
expect_exit 4 "--key not the key of --cert" \
  "$TPA" machines list --server "https://127.0.0.1:$P/ok" --ca "$T/ca1.pem" --cert "$T/admin.pem" --key "$T/good.key"
expect_grep "$T/err" "--key $T/good.key: not the key of --cert $T/admin.pem" "key mismatch: named"

# ---- limits ----
expect_exit 4 "an answer above the 64 MiB cap (Content-Length)" list "https://127.0.0.1:$P/big"
expect_grep "$T/err" "the answer is larger than 67108864 bytes" "cap: named"
expect_exit 4 "an answer above the cap (read until close)" list "https://127.0.0.1:$P/bigclose"
expect_grep "$T/err" "the answer is larger than 67108864 bytes" "cap without a length: named"
t0=$(date +%s)
expect_exit 4 "a server that never answers" list "https://127.0.0.1:$P/hang" --timeout 2
expect_grep "$T/err" "no complete answer within 2 s" "timeout: named"
t1=$(date +%s)
[ $((t1 - t0)) -le 5 ] && pass || fail "timeout took $((t1 - t0)) s"
expect_exit 4 "a server that drips a byte every 0.5 s" list "https://127.0.0.1:$P/drip" --timeout 2
expect_grep "$T/err" "no complete answer within 2 s" "drip: the whole exchange is bounded"
t2=$(date +%s)
[ $((t2 - t1)) -le 5 ] && pass || fail "drip took $((t2 - t1)) s"
# a listener that accepts and never shakes hands
python3 -c 'import socket,time,sys
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(5)
open(sys.argv[1],"w").write(str(s.getsockname()[1])); time.sleep(30)' "$T/mute.port" &
pids+=($!)
for _ in $(seq 50); do [ -s "$T/mute.port" ] && break; sleep 0.1; done
expect_exit 4 "a server that never completes the handshake" \
  list "https://127.0.0.1:$(cat "$T/mute.port")/ok" --timeout 2
expect_grep "$T/err" "no complete answer within 2 s \(TLS handshake or answer\)" "handshake timeout: named"
# nothing listens on a port just released
FREE=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect_exit 4 "connection refused" list "https://127.0.0.1:$FREE/ok"
expect_grep "$T/err" "https://127.0.0.1:$FREE/ok: cannot connect to 127.0.0.1:$FREE: Connection refused$" "refused: named"
expect_exit 4 "an answer framed only by the end of the connection" list "https://127.0.0.1:$P/unframed"
# (OpenSSL 3 calls the end without close_notify an error before evhttp sees the answer)
expect_grep "$T/err" "the answer has neither a Content-Length nor chunks|the connection closed before a complete answer" "unframed: named"
expect_exit 4 "an answer cut short of its Content-Length" list "https://127.0.0.1:$P/cut"
expect_grep "$T/err" "closed before a complete answer" "cut: named"
expect_exit 4 "an answer that is not JSON" list "https://127.0.0.1:$P/notjson"
expect_grep "$T/err" "not JSON" "not JSON: named"

# ---- statuses ----
expect_exit 1 "403" list "https://127.0.0.1:$P/s403"
expect_grep "$T/err" "refused: the server does not accept this client certificate: nonce: status 403 says\\\\tno \(HTTP 403\)" "403: message, escaped"
expect_exit 1 "401" list "https://127.0.0.1:$P/s401"
expect_exit 3 "400" list "https://127.0.0.1:$P/s400"
expect_exit 4 "503" list "https://127.0.0.1:$P/s503"
expect_exit 1 "404 for a machine" "$TPA" machines show "$(printf 'ef%.0s' $(seq 32))" \
  --server "https://127.0.0.1:$P/ok" --ca "$T/ca1.pem" "${ADM[@]}"
expect_grep "$T/err" "no such machine: not_found: no machine efef.* is enrolled \(HTTP 404\)" "404: no such machine"
expect_exit 1 "a prefix that matches no machine" "$TPA" machines show efefefef \
  --server "https://127.0.0.1:$P/ok" --ca "$T/ca1.pem" "${ADM[@]}"
expect_grep "$T/err" "efefefef: no such machine" "prefix: no such machine"
expect_exit 0 "delete by prefix" "$TPA" machines delete abababab \
  --server "https://127.0.0.1:$P/ok" --ca "$T/ca1.pem" "${ADM[@]}"
expect_grep "$T/out" "^deleted machine $ID$" "delete: message"
echo '{"format":"tpmattest-policy"}' >"$T/pol.json"
expect_exit 0 "policy ID FILE" "$TPA" machines policy "$ID" "$T/pol.json" \
  --server "https://127.0.0.1:$P/ok" --ca "$T/ca1.pem" "${ADM[@]}"
expect_grep "$T/out" "^policy machine-abababababababab stored and assigned to machine $ID$" "policy: default name"
cmp -s "$T/pol.json" "$T/good.port.policy" && pass || fail "policy: the file is sent as it is"
expect_grep "$T/good.port.assign" '^\{"policy":"machine-abababababababab"\}$' "policy: assigned by name"
expect_exit 0 "policy ID --none" "$TPA" machines policy "$ID" --none \
  --server "https://127.0.0.1:$P/ok" --ca "$T/ca1.pem" "${ADM[@]}"
expect_grep "$T/good.port.assign" '^\{"policy":null\}$' "policy --none: null"

# ---- attest --evidence: verdicts as tpmattest verify prints them ----
att() { "$TPA" attest --server "https://127.0.0.1:$P/${PFX:-ok}" --ca "$T/ca1.pem" --machine "$ID" "$@"; }
echo '{"format":"tpmattest-evidence"}' >"$T/ev-pass.json"
echo '{"format":"tpmattest-evidence","fail":true}' >"$T/ev-fail.json"
expect_exit 0 "attest: pass" att --evidence "$T/ev-pass.json"
expect_grep "$T/out" "^VERIFIED$" "attest pass: VERIFIED"
expect_grep "$T/out" "^  pass     signature +ok$" "attest pass: every check"
expect_exit 1 "attest: fail" att --evidence "$T/ev-fail.json"
expect_grep "$T/out" "^NOT VERIFIED: eventlog: PCR 4 \(sha256\) differs\\\\n\\\\x1b\[31mred$" "attest fail: first failing check, escaped"
expect_grep "$T/out" "^  NOT RUN  policy +an earlier check failed$" "attest fail: not run"
if LC_ALL=C grep -q $'\x1b' "$T/out"; then fail "attest: a raw ESC reached stdout"; else pass; fi
expect_exit 1 "attest: --json on fail" att --evidence "$T/ev-fail.json" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["verdict"]=="fail"' "$T/out" && pass || fail "attest --json: the server's verdict"
PFX=s403 expect_exit 1 "attest: 403 nonce" att --evidence "$T/ev-pass.json"
expect_grep "$T/err" "the server refused the evidence: nonce: status 403" "attest 403: named"
PFX=s400 expect_exit 3 "attest: 400" att --evidence "$T/ev-pass.json"
PFX=s503 expect_exit 4 "attest: 503 store" att --evidence "$T/ev-pass.json"
PFX=s404 expect_exit 1 "attest: 404" att --evidence "$T/ev-pass.json"
expect_grep "$T/err" "no such machine" "attest 404: named"
expect_exit 4 "attest: network" "$TPA" attest --server "https://127.0.0.1:$FREE" --ca "$T/ca1.pem" \
  --machine "$ID" --evidence "$T/ev-pass.json"

# ---- attest and enroll with a stand-in TPM helper ----
# tpmattest runs tpmattest-tpm from its own directory: a copy of it beside a
# script that writes what the real helper would (quote: an evidence document
# for the nonce, with an event log; enroll-request/-activate: the documents)
mkdir -p "$T/bin" "$T/tmp"
cp "$TPA" "$T/bin/tpmattest"
export TMPDIR="$T/tmp" # the private directories, to see that they go
FT="$T/bin/tpmattest"
python3 -c 'import base64, json, sys
d = json.load(open(sys.argv[1]))
d["eventlog"] = base64.b64encode(b"an event log, as read").decode()
json.dump(d, open(sys.argv[2], "w"))' "$(dirname "$0")/../fuzz/corpus/evidence/quote-no-log.json" "$T/ev-template.json"
LOGSHA=$(printf 'an event log, as read' | sha256sum | cut -d' ' -f1)
{
  echo '#!/usr/bin/env bash'
  echo "T='$T'"
  cat <<'HELPER'
printf '%s\n' "$*" >>"$T/helper.args"
cmd=$1; shift
# quote --exchange: stdout is the line protocol, the chatter comes after it
[ "$cmd" = quote ] || echo "helper chatter on stdout"
out= nonce= arg=
while [ $# -gt 0 ]; do
  case $1 in --out) out=$2; shift;; --nonce) nonce=$2; shift;; --exchange) ;; --*) shift;; *) arg=$1;; esac
  shift
done
[ -n "${FAKE_RC:-}" ] && { echo "tpmattest quote: a stand-in failure" >&2; exit "$FAKE_RC"; }
case $cmd in
quote)
  # the session's nonceTPM out, the verifier's answer in
  echo '{"nonce_tpm":"'"$(printf 'ab%.0s' $(seq 16))"'"}'
  IFS= read -r answer || { echo "stand-in: no answer" >&2; exit 4; }
  printf '%s\n' "$answer" >>"$T/helper.answers"
  nonce=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["nonce"])' "$answer")
  echo "helper chatter on stdout"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["nonce"]=sys.argv[2]; json.dump(d,open(sys.argv[3],"w"))' \
    "$T/ev-template.json" "$nonce" "$out";;
enroll-request) echo '{"format":"tpmattest-enroll-request","fake":true}' >"$out";;
enroll-activate)
  stat -c %a "$arg" >"$T/challenge.mode"; cp "$arg" "$T/challenge.copy"
  echo '{"format":"tpmattest-enroll-response","id":"77777777777777777777777777777777","secret":"'"${FAKE_SECRET:-c2VjcmV0}"'"}' >"$out"
  chmod 600 "$out";;
esac
HELPER
} >"$T/bin/tpmattest-tpm"
chmod +x "$T/bin/tpmattest-tpm"
fatt() { "$FT" attest --server "https://127.0.0.1:$P/${PFX:-att}" --ca "$T/ca1.pem" --machine "$ID" "$@"; }
# sent FORMAT EXPR...: FORMAT filled with the EXPRs over l, the attestations the stand-in received
sent() { python3 -c 'import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; print(sys.argv[2] % tuple(eval(e) for e in sys.argv[3:]))' "$T/good.port.sent" "$@"; }
rm -f "$T/good.port.held" "$T/good.port.sent"
expect_exit 0 "attest: the server holds no log: the log is sent" fatt --tcti "swtpm:port=1" --eventlog /x/log --evidence-out "$T/saved.json"
expect_grep "$T/out" "^VERIFIED$" "attest: verdict"
if grep -q chatter "$T/out"; then fail "the helper's stdout reached ours"; else pass; fi
expect_grep "$T/helper.args" "^quote --exchange --out $T/tmp/tpmattest-attest\.[A-Za-z0-9]{6}/evidence\.json --tcti swtpm:port=1 --eventlog /x/log$" "attest: the helper's arguments"
# the exchange: the helper's nonceTPM went with the nonce request, and the
# server's nonce (and its authorization, none here) back to the helper
[ "$(tail -1 "$T/good.port.noncebody")" = '{"nonce_tpm": "'"$(printf 'ab%.0s' $(seq 16))"'"}' ] && pass || fail "the nonce request's body: $(tail -1 "$T/good.port.noncebody")"
[ "$(tail -1 "$T/helper.answers")" = '{"nonce":"'"$(printf '5a%.0s' $(seq 32))"'","counter_authorization":null}' ] && pass || fail "the helper's answer: $(tail -1 "$T/helper.answers")"
[ "$(sent '%s %s' 'l[-1]["hdr"]' 'l[-1]["ev"]["eventlog"] is not None')" = "None True" ] && pass || fail "attest without a held log: $(tail -c 200 "$T/good.port.sent")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["nonce"] == "5a"*32 and d["eventlog"]' "$T/saved.json" && pass || fail "--evidence-out: the evidence with its log"
echo "$LOGSHA" >"$T/good.port.held"
expect_exit 0 "attest: the server holds this log: only its hash" fatt
[ "$(sent '%s %s' 'l[-1]["hdr"]' 'l[-1]["ev"]["eventlog"]')" = "$LOGSHA None" ] && pass || fail "hash only: $(tail -c 200 "$T/good.port.sent")"
[ "$(sent '%s' 'l[-1]["ev"]["nonce"]')" = "$(printf '5a%.0s' $(seq 32))" ] && pass || fail "hash only: the rest of the evidence kept"
expect_exit 0 "attest --full-log" fatt --full-log
[ "$(sent '%s %s' 'l[-1]["hdr"]' 'l[-1]["ev"]["eventlog"] is not None')" = "None True" ] && pass || fail "--full-log sends the log"
echo "00$(printf '%.62s' "$LOGSHA")" >"$T/good.port.held"
expect_exit 0 "attest: the server holds another log: the log is sent" fatt
[ "$(sent '%s' 'l[-1]["hdr"]')" = "None" ] && pass || fail "another held log"
echo "$LOGSHA" >"$T/good.port.held"
: >"$T/good.port.sent"
PFX=unknown expect_exit 0 "attest: 409 eventlog_unknown: sent again with the log" fatt
[ "$(sent '%d %s %s %s' 'len(l)' 'l[0]["hdr"]' 'l[1]["hdr"]' 'l[1]["ev"]["eventlog"] is not None and l[0]["ev"]["nonce"] == l[1]["ev"]["nonce"]')" = "2 $LOGSHA None True" ] && pass || fail "409: $(head -c 300 "$T/good.port.sent")"
: >"$T/helper.args"
echo "$ID" >"$T/idfile"
t0=$(date +%s)
TPMATTEST_ID_FILE="$T/idfile" expect_exit 0 "attest --interval 1 --count 3, the id from TPMATTEST_ID_FILE" \
  "$FT" attest --server "https://127.0.0.1:$P/att" --ca "$T/ca1.pem" --interval 1 --count 3
[ "$(grep -c '^VERIFIED$' "$T/out")" = 3 ] && [ "$(grep -c '^quote' "$T/helper.args")" = 3 ] && pass || fail "3 rounds: $(cat "$T/err")"
expect_grep "$T/err" "round 3 of 3: pass \(seq 7\) \(exit 0\)$" "interval: each round logged"
[ $(($(date +%s) - t0)) -ge 2 ] && pass || fail "interval: rounds 1 s apart"
t0=$(date +%s)
expect_exit 4 "attest --interval: errors back off, the last round's status" \
  "$FT" attest --server "https://127.0.0.1:$FREE" --ca "$T/ca1.pem" --machine "$ID" --interval 1 --count 3
expect_grep "$T/err" "round 1: error \(exit 4\); next in (1\.[0-9]|2\.0) s" "backoff: first delay 1-2 s"
expect_grep "$T/err" "round 2: error \(exit 4\); next in ([23]\.[0-9]|4\.0) s" "backoff: second delay 2-4 s"
[ $(($(date +%s) - t0)) -ge 3 ] && pass || fail "backoff: waited"
FAKE_RC=2 expect_exit 2 "attest --interval: a usage error from the helper stops the rounds" fatt --interval 1 --count 5
expect_grep "$T/err" "round 1: a usage error: stopping" "usage error: stops"
FAKE_RC=4 expect_exit 4 "attest: the helper's TPM error" fatt
expect_grep "$T/err" "tpmattest quote: a stand-in failure" "the helper's own message"
# a signal between rounds ends the run at once, by that signal
t0=$(date +%s)
"$FT" attest --server "https://127.0.0.1:$P/att" --ca "$T/ca1.pem" --machine "$ID" --interval 60 >/dev/null 2>"$T/err" &
apid=$!
for _ in $(seq 50); do grep -q "next in" "$T/err" && break; sleep 0.1; done
kill -TERM $apid; wait $apid; rc=$?
[ "$rc" = 143 ] && [ $(($(date +%s) - t0)) -lt 10 ] && pass || fail "SIGTERM while waiting: exit $rc after $(($(date +%s) - t0)) s"
[ -z "$(ls -A "$T/tmp")" ] && pass || fail "attest left $(ls "$T/tmp")"

fen() { "$FT" enroll --server "https://127.0.0.1:$P/enroll" --ca "$T/ca1.pem" "$@"; }
: >"$T/helper.args"
expect_exit 0 "enroll --server" fen --name 'n"1' --id-file "$T/id-out" --tcti swtpm:port=1 --ak-handle 0x81000101
[ "$(cat "$T/out")" = "$ID" ] && pass || fail "enroll: prints the id: $(cat "$T/out")"
[ "$(cat "$T/id-out")" = "$ID" ] && pass || fail "enroll: --id-file"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d=={"name":"n\"1","request":{"format":"tpmattest-enroll-request","fake":True}}, d' "$T/good.port.enroll" && pass || fail "enroll: the body"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d=={"format":"tpmattest-enroll-challenge","id":"77"*16}, d' "$T/challenge.copy" && pass || fail "enroll: the challenge as the server sent it"
[ "$(cat "$T/challenge.mode")" = 600 ] && pass || fail "enroll: the challenge file is mode $(cat "$T/challenge.mode")"
expect_grep "$T/helper.args" "^enroll-request --out [^ ]*/request\.json --tcti swtpm:port=1 --ak-handle 0x81000101$" "enroll: request arguments"
expect_grep "$T/helper.args" "^enroll-activate [^ ]*/challenge\.json --out [^ ]*/response\.json --tcti swtpm:port=1$" "enroll: activate arguments"
[ -z "$(ls -A "$T/tmp")" ] && pass || fail "enroll left $(ls "$T/tmp")"
expect_exit 0 "enroll --json" fen --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d=={"machine_id":"ab"*32,"name":"n1","enrolled_at":1700000000}, d' "$T/out" && pass || fail "enroll --json: $(cat "$T/out")"
expect_exit 1 "enroll: name taken (409)" fen --name taken
expect_grep "$T/err" "the server refused the enrollment request: name_taken: the name belongs to another machine \(HTTP 409\)" "409: named"
expect_exit 1 "enroll: refused by a check (403)" fen --name bad-ek
expect_grep "$T/err" "refused \(ek_certificate\): chain: unknown-issuer \(HTTP 403\)" "403: the check named"
FAKE_SECRET=d3Jvbmc= expect_exit 1 "enroll: the activation refused" fen
expect_grep "$T/err" "the server refused the activation: refused \(secret\): the secret differs \(HTTP 403\)" "activation refused: named"
if grep -q d3Jvbmc "$T/out" "$T/err"; then fail "the secret was printed"; else pass; fi


# ---- usage ----
expect_exit 2 "plain http to a non-loopback address" list "http://192.0.2.1/ok"
expect_grep "$T/err" "plain http:// only to a loopback address" "http: named"
expect_exit 2 "https without --ca" "$TPA" machines list --server "https://127.0.0.1:$P" "${ADM[@]}"
expect_grep "$T/err" "--ca FILE" "no --ca: named"
expect_exit 2 "no --cert" "$TPA" machines list --server "https://127.0.0.1:$P" --ca "$T/ca1.pem"
expect_grep "$T/err" "--cert and --key" "no --cert: named"
expect_exit 2 "not a URL" list "127.0.0.1:$P"
expect_exit 2 "attest without a machine" env -u TPMATTEST_ID_FILE "$TPA" attest --server "https://127.0.0.1:$P" --ca "$T/ca1.pem"
expect_grep "$T/err" "--machine ID or --id-file FILE" "attest: names both options"
expect_exit 2 "attest --count without --interval" att --count 3
expect_exit 2 "history --limit 0" "$TPA" machines history "$ID" --limit 0 --server "https://127.0.0.1:$P" --ca "$T/ca1.pem" "${ADM[@]}"
expect_grep "$T/err" "--limit must be 1 to 1000" "--limit: named"
expect_exit 2 "policy --name with bad characters" "$TPA" machines policy "$ID" "$T/pol.json" --name 'a/b' --server "https://127.0.0.1:$P" --ca "$T/ca1.pem" "${ADM[@]}"
expect_exit 4 "unreadable --ca" "$TPA" machines list --server "https://127.0.0.1:$P/ok" --ca "$T/nonexistent.pem" "${ADM[@]}"
expect_grep "$T/err" "--ca $T/nonexistent.pem: cannot read CA certificates" "--ca: named"
for c in attest machines; do
  expect_exit 0 "$c --help" "$TPA" $c --help
done
expect_exit 0 "enroll --server --help" "$TPA" enroll --server x --help
expect_grep "$T/out" "usage: tpmattest enroll --server URL" "enroll --server --help: its usage"

finish
