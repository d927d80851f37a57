#!/usr/bin/env bash
# Sets everything up and runs the main job on a software TPM: a verifier
# server (tpmattest serve, HTTPS, SQLite store) and one attesting machine, a
# swtpm into which a real machine's boot (a GCE VM's UEFI event log) is
# replayed.  The machine enrolls (EK certificate chain, credential
# activation) and attests: PASS; its PCR 4 is extended behind the log's
# back: FAIL naming PCR 4; its TPM state is rolled back to a snapshot and
# its counter pushed forward by hand (the TPM refuses: only the server's
# authorizations increment it): FAIL naming the rollback.  Last, the fleet
# status page as an admin's browser shows it (headless Chromium with the
# admin client certificate): build/demo-status-page.png and
# build/demo-machine-page.png.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
T=$PWD/build/cli/tpmattest
LOG=examples/cos-101-amd-sev.bin
W=$(mktemp -d -t tpmattest-demo.XXXXXX)
SRV_PID=
cleanup() {
  local rc=$?
  [ "$rc" != 0 ] && [ -s "$W/serve.log" ] && { echo "--- the server's log:" >&2; tail -20 "$W/serve.log" >&2; }
  [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
  [ -f "$W/pid" ] && kill "$(cat "$W/pid")" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
say() { printf '\n== %s\n' "$*"; }
# attest EXPECTED_EXIT: one attestation, its verdict, and its exit status
attest() {
  local rc=0
  "$T" attest --server "$URL" --ca "$W/tls/ca.pem" --id-file "$W/machine-id" --eventlog "$LOG" \
    >"$W/verdict.txt" || rc=$?
  grep -m1 -E '^(VERIFIED|NOT VERIFIED)' "$W/verdict.txt" || head -3 "$W/verdict.txt"
  echo "(exit status $rc)"
  [ "$rc" = "$1" ] || { echo "demo: expected exit status $1" >&2; cat "$W/verdict.txt" >&2; exit 1; }
}

say "1. a software TPM (swtpm, with an EK certificate) on 127.0.0.1, and a real machine's boot replayed into it"
. scripts/swtpm.sh
swtpm_start "$W"
$T eventlog extend "$LOG" >/dev/null
echo "swtpm on 127.0.0.1:$SWTPM_PORT; PCRs hold the boot of $LOG"
# swtpm_setup certifies only its RSA 2048 and P-384 EKs; tpmattest's AK lives
# under the P-256 EK, so its certificate is issued here from the same CA, as a
# TPM manufacturer would, and the CA's intermediate goes into the NV chain.
$T init --no-ek >/dev/null
$T enroll request --out "$W/pre.json" >/dev/null
xy=$(python3 -c "
import json,base64,sys
p=base64.b64decode(json.load(open(sys.argv[1]))['ek']['ecc']['public'])
print('x=%s,y=%s,id=secp256r1'%(p[-66:-34].hex(),p[-32:].hex()))" "$W/pre.json")
mkdir -p "$W/ecccert" "$W/roots"
swtpm_localca --type ek --ek "$xy" --dir "$W/ecccert" --tpm-spec-family 2.0 --tpm-spec-level 0 \
  --tpm-spec-revision 164 --tpm-manufacturer id:00001014 --tpm-model swtpm --tpm-version id:20191023 \
  --tpm2 --configfile "$W/lc.conf" --optsfile /etc/swtpm-localca.options >/dev/null 2>&1
openssl x509 -in "$W/ca/cert.pem" -outform der -out "$W/int.der"
for nv in "0x01c0000a $W/ecccert/ek.cert" "0x01c00100 $W/int.der"; do
  set -- $nv
  tpm2_nvdefine "$1" -C p -s "$(stat -c %s "$2")" \
    -a "ppwrite|ppread|ownerread|authread|platformcreate|no_da|writedefine" >/dev/null
  tpm2_nvwrite "$1" -C p -i "$2" >/dev/null
done
cp "$W/ca/swtpm-localca-rootca-cert.pem" "$W/roots/"

say "2. the verifier server: HTTPS on 127.0.0.1, admin client certificates, a golden policy"
mkdir "$W/tls"
(
  cd "$W/tls"
  k() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -subj "/CN=$2" "${@:3}" 2>/dev/null; }
  k ca "demo server CA" -x509 -days 2 -out ca.pem
  k server 127.0.0.1 -out server.csr
  printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out server.pem 2>/dev/null
  k admin-ca "demo admin CA" -x509 -days 2 -out admin-ca.pem
  k admin "demo admin" -out admin.csr
  openssl x509 -req -in admin.csr -CA admin-ca.pem -CAkey admin-ca.key -CAcreateserial -days 2 -out admin.pem 2>/dev/null
)
# the golden measurements: learnt from this known-good boot (a quote over a
# throwaway nonce; tpmattest policy create, docs/policy.md)
$T quote --nonce "$(openssl rand -hex 32)" --eventlog "$LOG" --out "$W/golden.json" >/dev/null
$T policy create "$W/golden.json" --out "$W/policy.json" >/dev/null
$T serve --listen 127.0.0.1:0 --port-file "$W/port" --db "$W/verifier.db" \
  --tls-cert "$W/tls/server.pem" --tls-key "$W/tls/server.key" --admin-ca "$W/tls/admin-ca.pem" \
  --ek-roots "$W/roots" --policy "$W/policy.json" 2>"$W/serve.log" &
SRV_PID=$!
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.1; done
[ -s "$W/port" ] || { cat "$W/serve.log" >&2; exit 1; }
URL=https://127.0.0.1:$(cat "$W/port")
head -1 "$W/serve.log"

say "3. enroll: the EK certificate chains to the TPM vendor's root; the AK is activated"
$T enroll --server "$URL" --ca "$W/tls/ca.pem" --name "demo machine" --id-file "$W/machine-id"

say "4. attest: nonce and the server's authorization of one counter increment, quote, verdict"
attest 0
cp -a "$W/state" "$W/snapshot.tpm" # a vTPM snapshot, taken after the first attestation
attest 0

say "4b. a relying party: the machine's last verdict as a signed EAR JWT, with its own nonce, checked offline with the server's public key"
ADM=(--server "$URL" --ca "$W/tls/ca.pem" --cert "$W/tls/admin.pem" --key "$W/tls/admin.key")
RP_NONCE=$(openssl rand -hex 16)
$T machines result-key "${ADM[@]}" --out "$W/result-key.jwk"
$T machines result "$(cat "$W/machine-id")" --nonce "$RP_NONCE" "${ADM[@]}" --out "$W/result.jwt"
$T result verify "$W/result.jwt" --key "$W/result-key.jwk" --nonce "$RP_NONCE" # exit 0: affirming

say "5. PCR 4 extended behind the log's back (a boot application the log does not show)"
tpm2_pcrextend "4:sha256=$(openssl rand -hex 32)"
attest 1

say "6. the TPM rolled back to the snapshot of step 4; pushing its counter forward by hand fails (only the server's authorizations increment it)"
swtpm_stop "$W"
rm -rf "$W/state" && cp -a "$W/snapshot.tpm" "$W/state"
swtpm_restart "$W"
$T eventlog extend "$LOG" >/dev/null
tpm2_nvincrement -C o 0x01000101 2>&1 | grep -m1 "ErrorCode" || true
attest 1

say "6b. the relying party asks again: contraindicated, naming the failed check"
$T machines result "$(cat "$W/machine-id")" "${ADM[@]}" --out "$W/result2.jwt"
rc=0
$T result verify "$W/result2.jwt" --key "$W/result-key.jwk" || rc=$?
[ "$rc" = 1 ] || { echo "demo: result verify of a failed machine exited $rc, not 1" >&2; exit 1; }

say "7. the admin's view: the machine and its history"
$T machines list --server "$URL" --ca "$W/tls/ca.pem" --cert "$W/tls/admin.pem" --key "$W/tls/admin.key"
$T machines history "$(cat "$W/machine-id")" --server "$URL" --ca "$W/tls/ca.pem" \
  --cert "$W/tls/admin.pem" --key "$W/tls/admin.key"

say "8. the fleet status page, as the admin's browser shows it (headless Chromium with the admin client certificate)"
if command -v chromium >/dev/null && command -v pk12util >/dev/null; then
  # the admin's certificate in an NSS database of a HOME of its own, chosen
  # without a dialog by the profile's auto_select_certificate setting for
  # this origin (docs/status-page.md)
  CH=$W/chromium
  mkdir -p "$CH/home/.pki/nssdb" "$CH/profile/Default"
  openssl pkcs12 -export -in "$W/tls/admin.pem" -inkey "$W/tls/admin.key" -out "$W/tls/admin.p12" -passout pass:
  HOME=$CH/home certutil -N --empty-password -d "sql:$CH/home/.pki/nssdb"
  HOME=$CH/home pk12util -i "$W/tls/admin.p12" -W '' -d "sql:$CH/home/.pki/nssdb" >/dev/null
  HOME=$CH/home certutil -A -n demo-ca -t 'C,,' -i "$W/tls/ca.pem" -d "sql:$CH/home/.pki/nssdb"
  printf '{"profile":{"content_settings":{"exceptions":{"auto_select_certificate":{"%s,*":{"setting":{"filters":[{"ISSUER":{"CN":"demo admin CA"}}]}}}}}}}' \
    "$URL" >"$CH/profile/Default/Preferences"
  chromium_run() {
    HOME=$CH/home timeout -k 5 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
      --user-data-dir="$CH/profile" "$@" 2>>"$W/chromium.log"
  }
  chromium_run --dump-dom "$URL/" >"$W/fleet.html"
  python3 - "$W/fleet.html" <<'PY'
import html.parser, sys
class P(html.parser.HTMLParser):
    row = cell = None
    rows = []
    def handle_starttag(self, t, a):
        a = dict(a)
        if t == "tr" and "machine" in (a.get("class") or ""):
            self.row = {}; self.rows.append(self.row)
        elif t == "td" and self.row is not None:
            self.cell = a.get("class"); self.row[self.cell] = ""
    def handle_endtag(self, t):
        if t == "td": self.cell = None
    def handle_data(self, d):
        if self.row is not None and self.cell: self.row[self.cell] += d
p = P(); p.feed(open(sys.argv[1]).read())
if not p.rows:
    sys.exit("demo: the status page shows no machine")
for r in p.rows:
    print(f"{r['name']}  {r['id']}  {r['verdict']}  {r['at']}  {r['check']}: {r['reason']}")
PY
  chromium_run --screenshot="$PWD/build/demo-status-page.png" --window-size=1280,900 "$URL/" >/dev/null
  chromium_run --screenshot="$PWD/build/demo-machine-page.png" --window-size=1280,1400 \
    "$URL/machines/$(cat "$W/machine-id")" >/dev/null
  echo "(the pages: build/demo-status-page.png, and the machine's history and PCRs changed since its last PASS: build/demo-machine-page.png)"
else
  echo "(chromium or libnss3-tools is missing: no picture of the status page)"
fi
