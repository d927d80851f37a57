#!/usr/bin/env bash
# Verifier-authorized counter increments (<tpmattest/counterauth.h>) on
# swtpm: the counter defined by init --counter-key takes no increment but one
# the verifier signed for the session (tpm2_nvincrement with the index's
# empty auth or the owner's is refused), each authorization works once,
# PolicyNV bounds refuse a counter outside [low, high] and the quote still
# completes, an index deleted and defined again takes only a first
# authorization, a first authorization on a written counter is refused
# (PolicyNvWritten(NO)), and one for another machine id (PolicyAuthorize's
# policyRef) is refused by the TPM; and the hierarchy authorizations of
# init --set-*-auth.  The machine id is SHA-256 of the ECC EK's
# TPM2B_PUBLIC, from `tpmattest enroll request`.
# The verifier side is an independent implementation in Python (the
# `cryptography` package): key encoding, Names, policy digests and
# signatures; the key itself comes from `tpmattest counter key`.
# $1: tpmattest.
. "$(dirname "$0")/lib.sh"
T=$TPA
for c in tpm2_nvincrement tpm2_nvread tpm2_nvreadpublic tpm2_nvdefine tpm2_nvundefine tpm2_setclock tpm2_readclock; do
  command -v "$c" >/dev/null || skip "$c is not installed"
done
python3 -c 'import cryptography' 2>/dev/null || skip "python3 has no cryptography package"
IDX=0x01000101
D=$W/drv.py
cat >"$D" <<'PY'
# Independent verifier side for test-counter-auth.sh: TPM2B_PUBLIC, Names,
# policy digests (TPM 2.0 Part 3, 23) and ECDSA signatures with the Python
# `cryptography` package, and a driver for `tpmattest quote --exchange`.
import base64, hashlib, json, struct, subprocess, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

H = lambda b: hashlib.sha256(b).digest()
CC_PolicySigned, CC_PolicyAuthorize, CC_PolicyCommandCode, CC_PolicyNV = 0x160, 0x16A, 0x16C, 0x149
CC_PolicyNvWritten = 0x18F
CC_NV_Increment = 0x134
EO_UNSIGNED_GE, EO_UNSIGNED_LE = 7, 9
# nt=counter | policywrite | ownerread | authread | no_da (Part 2, 13.4)
NV_ATTRS = (1 << 4) | (1 << 3) | (1 << 17) | (1 << 18) | (1 << 25)
NV_WRITTEN = 1 << 29

def load_key(path):
    return serialization.load_pem_private_key(open(path, 'rb').read(), None)

def tpmt_public(key):
    n = key.public_key().public_numbers()
    return (struct.pack('>HHI', 0x0023, 0x000B, 0x00040040) + struct.pack('>H', 0) +
            struct.pack('>HHHHH', 0x0010, 0x0018, 0x000B, 0x0003, 0x0010) +
            struct.pack('>H', 32) + n.x.to_bytes(32, 'big') + struct.pack('>H', 32) + n.y.to_bytes(32, 'big'))

def tpm2b_public(key):
    t = tpmt_public(key)
    return struct.pack('>H', len(t)) + t

def key_name(key):
    return b'\x00\x0b' + H(tpmt_public(key))

def update(d, cc, name, ref=b''):  # PolicyUpdate (Part 3, 23.2.3)
    return H(H(d + struct.pack('>I', cc) + name) + ref)

def counter_policy(key, mid):  # policyRef = the machine id
    return update(bytes(32), CC_PolicyAuthorize, key_name(key), mid)

def nv_name(index, policy, written):
    pub = (struct.pack('>IHI', index, 0x000B, NV_ATTRS | (NV_WRITTEN if written else 0)) +
           struct.pack('>H', 32) + policy + struct.pack('>H', 8))
    return b'\x00\x0b' + H(pub)

def policy_nv(d, operand, op, name):
    args = H(struct.pack('>QHH', operand, 0, op))
    return H(d + struct.pack('>I', CC_PolicyNV) + args + name)

def approved(key, first, low, high, cname):
    d = update(bytes(32), CC_PolicySigned, key_name(key))
    d = H(d + struct.pack('>II', CC_PolicyCommandCode, CC_NV_Increment))
    if first:  # PolicyNvWritten(NO)
        d = H(d + struct.pack('>I', CC_PolicyNvWritten) + b'\x00')
    else:
        d = policy_nv(d, low, EO_UNSIGNED_GE, cname)
        d = policy_nv(d, high, EO_UNSIGNED_LE, cname)
    return d

def sign(key, digest):
    r, s = utils.decode_dss_signature(key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256()))))
    return (struct.pack('>HH', 0x0018, 0x000B) + struct.pack('>H', 32) + r.to_bytes(32, 'big') +
            struct.pack('>H', 32) + s.to_bytes(32, 'big'))

def authorize(key, mid, nonce_tpm, first, low, high, cname):
    a = {'key': base64.b64encode(tpm2b_public(key)).decode(), 'machine_id': mid.hex(),
         'nonce_tpm': nonce_tpm.hex(), 'first': first}
    if not first:
        a['low'], a['high'] = low, high
    a['session_signature'] = base64.b64encode(sign(key, H(nonce_tpm + bytes(4)))).decode()
    # PolicyAuthorize's aHash: H(approvedPolicy || policyRef)
    a['policy_signature'] = base64.b64encode(
        sign(key, H(approved(key, first, low, high, cname) + mid))).decode()
    return a

def main():
    cmd = sys.argv[1]
    if cmd == 'public':  # KEY.pem: what `tpmattest counter public` should say
        k = load_key(sys.argv[2])
        print(json.dumps({'public': base64.b64encode(tpm2b_public(k)).decode(),
                          'name': key_name(k).hex()}))
    elif cmd == 'mid':  # REQUEST.json: the machine id, SHA-256 of ek.ecc.public
        print(H(base64.b64decode(json.load(open(sys.argv[2]))['ek']['ecc']['public'])).hex())
    elif cmd == 'policy':  # KEY.pem MID: the authPolicy, hex
        print(counter_policy(load_key(sys.argv[2]), bytes.fromhex(sys.argv[3])).hex())
    elif cmd == 'policy-bin':  # KEY.pem MID OUT: the authPolicy, raw (tpm2_nvdefine -L)
        open(sys.argv[4], 'wb').write(counter_policy(load_key(sys.argv[2]), bytes.fromhex(sys.argv[3])))
    elif cmd == 'nvname':  # KEY.pem MID INDEX written(0|1)
        k = load_key(sys.argv[2])
        print(nv_name(int(sys.argv[4], 0), counter_policy(k, bytes.fromhex(sys.argv[3])),
                      sys.argv[5] == '1').hex())
    elif cmd == 'exchange':
        # exchange KEY.pem MID INDEX MODE ANSWER_OUT NONCE -- quote args...
        #   MODE: first | L:H | none | replay:FILE, or other:first | other:L:H
        #   (signed for another machine id than MID, the counter's)
        k = load_key(sys.argv[2]); mid = bytes.fromhex(sys.argv[3])
        index = int(sys.argv[4], 0); mode = sys.argv[5]
        answer_out, nonce = sys.argv[6], sys.argv[7]
        argv = sys.argv[sys.argv.index('--') + 1:]
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = p.stdout.readline()
        try:
            q = json.loads(line)
            assert list(q) == ['nonce_tpm']
            nt = bytes.fromhex(q['nonce_tpm'])
        except Exception:
            out, err = p.communicate()
            sys.stderr.write('no nonceTPM line: %r\n%s' % (line, err.decode()))
            sys.exit(p.returncode if p.returncode else 99)
        cname = nv_name(index, counter_policy(k, mid), True)
        amid = mid
        if mode.startswith('other:'):
            mode = mode[6:]
            amid = H(b'another machine' + mid)
        if mode == 'first':
            auth = authorize(k, amid, nt, True, 0, 0, cname)
        elif mode == 'none':
            auth = None
        elif mode.startswith('replay:'):  # the very answer given to another session
            auth = 'RAW'
            mode = 'rawline:' + open(mode[7:]).read().strip()
        elif mode.startswith('rawline:'):
            auth = 'RAW'
        else:
            lo, hi = (int(x) for x in mode.split(':'))
            auth = authorize(k, amid, nt, False, lo, hi, cname)
        if auth == 'RAW':
            text = mode[8:]
        else:
            text = json.dumps({'nonce': nonce, 'counter_authorization': auth}, separators=(',', ':'))
        open(answer_out, 'w').write(text + '\n')
        out, err = p.communicate((text + '\n').encode())
        sys.stdout.write(out.decode())
        sys.stderr.write(err.decode())
        sys.exit(p.returncode)
main()
PY

# xq MODE ANSWER QUOTE-ARGS...: one `quote --exchange`, answered as MODE
# (first | LOW:HIGH | none | replay:FILE | rawline:TEXT); the answer line is
# kept in ANSWER, the summary line in $W/out, stderr in $W/err.
xq() {
  local mode=$1 ans=$2; shift 2
  python3 "$D" exchange "$W/vk.pem" "$MID" "$IDX" "$mode" "$ans" "$NONCE" -- \
    "$T" quote --exchange --eventlog none "$@" >"$W/out" 2>"$W/err"
}
# xq_ok MODE ANSWER INCREMENTED(true|false) EV QUOTE-ARGS...
xq_ok() {
  local mode=$1 ans=$2 inc=$3 ev=$4; shift 4
  xq "$mode" "$ans" --out "$ev" "$@" || fail "quote --exchange ($mode): exit $?"
  [ "$(json "$W/out" 'str(d["incremented"]).lower()')" = "$inc" ] ||
    fail "quote --exchange ($mode): incremented is not $inc: $(cat "$W/out")"
  [ "$(json "$ev" 'd["nonce"]')" = "$NONCE" ] || fail "quote --exchange ($mode): the evidence's nonce is not the verifier's"
}
nvval() { tpm2_nvread -C "$IDX" -s 8 "$IDX" 2>/dev/null | od -An -tx1 | tr -d ' \n'; }
want_val() { [ "$(nvval)" = "$(printf %016x "$1")" ] || fail "$2: the TPM's counter is $(nvval), not $1"; }
# the TPM's response code in tpm2-tools' stderr
want_rc() { grep -q "ErrorCode ($1)" "$W/err" || fail "$2: want $1: $(cat "$W/err")"; echo "  $2: $1"; }

start_swtpm
NONCE=$(openssl rand -hex 32)

# ---- the verifier's key: the lead's C and the Python agree on it ----
run 0 "$T" counter key --out "$W/vk.pem"
run 0 "$T" counter public "$W/vk.pem" --out "$W/vk.json"
python3 "$D" public "$W/vk.pem" >"$W/vk-py.json" || fail "drv.py public"
for f in public name; do
  [ "$(json "$W/vk.json" "d['$f']")" = "$(json "$W/vk-py.json" "d['$f']")" ] ||
    fail "tpmattest counter public and the Python disagree on $f"
done

# ---- init --counter-key defines the counter, exactly: this machine's ----
run 0 "$T" init --counter-key "$W/vk.json" --no-ek --json
cp "$W/out" "$W/init.json"
run 0 "$T" enroll request --out "$W/req.json"
MID=$(python3 "$D" mid "$W/req.json") || fail "drv.py mid"
POLICY=$(python3 "$D" policy "$W/vk.pem" "$MID") || fail "drv.py policy"
cp "$W/init.json" "$W/out"
[ "$(json "$W/out" 'd["counter"]["index"]')" = 0x01000101 ] || fail "init: not at 0x01000101: $(cat "$W/out")"
[ "$(json "$W/out" 'd["counter"]["created"]')" = True ] || fail "init: counter not created"
[ "$(json "$W/out" 'd["counter"]["policy"]')" = "$POLICY" ] || fail "init: another policy"
tpm2_nvreadpublic "$IDX" >"$W/pub" 2>/dev/null || fail "tpm2_nvreadpublic"
grep -q "value: 0x2060018" "$W/pub" || fail "attributes are not policywrite|nt=counter|ownerread|authread|no_da: $(cat "$W/pub")"
grep -qi "authorization policy: $POLICY" "$W/pub" || fail "authPolicy: $(cat "$W/pub")"
grep -q "name: $(python3 "$D" nvname "$W/vk.pem" "$MID" "$IDX" 0)" "$W/pub" || fail "the index's Name is not the Python's"
# again: found and accepted; the PEM public key names the same policy
openssl pkey -in "$W/vk.pem" -pubout -out "$W/vk.pub.pem" 2>/dev/null || fail "openssl pkey"
run 0 "$T" init --counter-key "$W/vk.pub.pem" --no-ek --json
[ "$(json "$W/out" 'd["counter"]["created"]')" = False ] || fail "init again: created again"
# the base64 TPM2B_PUBLIC alone, too
json "$W/vk.json" 'd["public"]' >"$W/vk.b64"
run 0 "$T" init --counter-key "$W/vk.b64" --no-ek
# another verifier's key, or none, at that index: refused, index untouched
run 0 "$T" counter key --out "$W/vk2.pem"
run 0 "$T" counter public "$W/vk2.pem" --out "$W/vk2.json"
run 4 "$T" init --counter-key "$W/vk2.json" --no-ek
grep -q "NV index 0x01000101 exists but is not our counter: its authPolicy is not the one" "$W/err" || fail "another key: $(cat "$W/err")"
run 4 "$T" init --nv-index "$IDX" --no-ek
grep -q "it is a verifier-authorized counter (policywrite)" "$W/err" || fail "older kind asked: $(cat "$W/err")"
# and the older counter at its index is not the authorized kind
run 0 "$T" init --no-ek
run 4 "$T" init --counter-key "$W/vk.json" --nv-index 0x01000100 --no-ek
grep -q "it is the older kind of counter" "$W/err" || fail "older index as authorized: $(cat "$W/err")"

# ---- no increment without the verifier ----
tpm2_nvincrement -C "$IDX" "$IDX" >"$W/out" 2>"$W/err" && fail "tpm2_nvincrement with the index's empty auth worked"
want_rc 0x0000012f "tpm2_nvincrement -C index (TPM_RC_AUTH_UNAVAILABLE)"
tpm2_nvincrement -C o "$IDX" >"$W/out" 2>"$W/err" && fail "tpm2_nvincrement with owner auth worked"
want_rc 0x00000149 "tpm2_nvincrement -C o (TPM_RC_NV_AUTHORIZATION)"
# unwritten: nothing to read yet
tpm2_nvread -C "$IDX" -s 8 "$IDX" >/dev/null 2>&1 && fail "an unwritten counter reads"

# ---- the first increment, then one within [v, v] ----
xq_ok first "$W/a1" true "$W/ev1.json"
[ "$(json "$W/ev1.json" 'd["counter"]["index"]')" = 0x01000101 ] || fail "first: evidence index"
[ "$(json "$W/ev1.json" 'd["counter"]["value"]')" = "$(printf %d 0x$(nvval))" ] || fail "first: evidence and TPM disagree"
V=$(printf %d 0x$(nvval))
[ "$(json "$W/ev1.json" 'd["counter"]["name"]')" = "$(python3 "$D" nvname "$W/vk.pem" "$MID" "$IDX" 1)" ] || fail "the certified counter's Name is not the Python's (written)"
assert_no_leaks
xq_ok "$V:$V" "$W/a2" true "$W/ev2.json"
want_val $((V + 1)) "[v, v]"
V=$((V + 1))
assert_no_leaks

# ---- a first authorization on the written counter: PolicyNvWritten(NO),
# checked by the TPM at NV_Increment; no increment, the quote completes ----
xq_ok first "$W/a2f" false "$W/ev2f.json"
grep -q "TPM2_NV_Increment refused the first-increment authorization (TPM_RC_POLICY_FAIL, 0x99d).*written already (PolicyNvWritten(NO))" "$W/out" ||
  fail "first on a written counter: $(cat "$W/out")"
grep -q "warning: the counter was not incremented" "$W/err" || fail "first on a written counter: no warning"
[ "$(json "$W/ev2f.json" 'd["counter"]["value"]')" = "$V" ] || fail "first on a written counter: evidence counter"
want_val "$V" "first on a written counter"
echo "  first on a written counter: TPM_RC_POLICY_FAIL (0x99d) at NV_Increment"
# ---- an authorization for another machine id (policyRef): the TPM's
# PolicyAuthorize takes it, NV_Increment refuses it; the quote completes ----
for m in "other:$V:$V" other:first; do
  xq_ok "$m" "$W/a2o" false "$W/ev2o.json"
  grep -q "TPM2_NV_Increment refused the authorized policy (TPM_RC_POLICY_FAIL, 0x99d): it is not the authPolicy of the counter at 0x01000101 (an authorization for another machine id" "$W/out" ||
    fail "$m: $(cat "$W/out")"
  want_val "$V" "$m"
done
echo "  another machine id: TPM_RC_POLICY_FAIL (0x99d) at NV_Increment"
assert_no_leaks

# ---- a replayed authorization: PolicySigned, for another nonceTPM ----
xq "replay:$W/a2" "$W/a3" --out "$W/ev3.json"; st=$?
[ "$st" = 4 ] || fail "replay: exit $st, want 4"
grep -q "TPM2_PolicySigned.*0x5db.*another session's nonceTPM" "$W/err" || fail "replay: $(cat "$W/err")"
[ -e "$W/ev3.json" ] && fail "replay: evidence written"
want_val "$V" "replay"
assert_no_leaks

# ---- bounds above the counter: PolicyNV refuses, the quote completes ----
xq_ok "$((V + 1)):$((V + 5))" "$W/a4" false "$W/ev4.json"
grep -q "TPM2_PolicyNV refused counter >= $((V + 1)) (TPM_RC_POLICY, 0x126)" "$W/out" || fail "[v+1, v+5]: refused: $(cat "$W/out")"
grep -q "warning: the counter was not incremented" "$W/err" || fail "[v+1, v+5]: no warning"
[ "$(json "$W/ev4.json" 'd["counter"]["value"]')" = "$V" ] || fail "[v+1, v+5]: evidence counter"
want_val "$V" "[v+1, v+5]"
# below it: the upper bound refuses
xq_ok "0:$((V - 1))" "$W/a5" false "$W/ev5.json"
grep -q "TPM2_PolicyNV refused counter <= $((V - 1)) (TPM_RC_POLICY, 0x126)" "$W/out" || fail "[0, v-1]: $(cat "$W/out")"
want_val "$V" "[0, v-1]"
# no authorization: certified as it is
xq_ok none "$W/a6" false "$W/ev6.json"
[ "$(json "$W/out" 'd["refused"]')" = None ] || fail "none: refused"
want_val "$V" "none"
assert_no_leaks
# an authorization by another key: refused before the TPM is asked
cp "$W/vk.pem" "$W/vk1.pem"; cp "$W/vk2.pem" "$W/vk.pem"
xq "$V:$V" "$W/a7" --out "$W/ev7.json"; st=$?
cp "$W/vk1.pem" "$W/vk.pem"
[ "$st" = 1 ] || fail "another key: exit $st, want 1"
grep -q "signed by a key that is not the one of the counter's policy" "$W/err" || fail "another key: $(cat "$W/err")"
# a malformed answer, an unknown member
xq "rawline:{\"nonce\":\"$NONCE\",\"counter_authorization\":null,\"x\":1}" "$W/a8" --out "$W/ev8.json"; st=$?
[ "$st" = 3 ] || fail "unknown member: exit $st"
grep -q 'unknown member "x"' "$W/err" || fail "unknown member: $(cat "$W/err")"
xq "rawline:{\"nonce\":\"$NONCE\",\"counter_authorization\":null,\"nonce\":\"00\"}" "$W/a9" --out "$W/ev9.json"; st=$?
[ "$st" = 3 ] || fail "duplicate member: exit $st"
want_val "$V" "malformed answers"
# no answer at all (the verifier went away): exit 4, the session flushed
run 4 "$T" quote --exchange --eventlog none --out "$W/ev9.json" </dev/null
grep -q '^{"nonce_tpm":"[0-9a-f]\{64\}"}$' "$W/out" || fail "no answer: stdout: $(cat "$W/out")"
grep -q "the verifier's answer on stdin: no line" "$W/err" || fail "no answer: $(cat "$W/err")"
# --exchange does not take --nonce, nor --out -
run 2 "$T" quote --exchange --nonce "$NONCE" --out "$W/ev9.json"
run 2 "$T" quote --exchange --out -
assert_no_leaks

# ---- deleted and defined again (unwritten): a non-first authorization fails ----
python3 "$D" policy-bin "$W/vk.pem" "$MID" "$W/policy.bin"
tpm2_nvundefine -C o "$IDX" 2>"$W/err" || fail "tpm2_nvundefine"
tpm2_nvdefine -C o -s 8 -a "nt=counter|policywrite|authread|ownerread|no_da" -L "$W/policy.bin" "$IDX" >"$W/out" 2>"$W/err" || fail "tpm2_nvdefine"
xq "$V:$V" "$W/a10" --out "$W/ev10.json"; st=$?
[ "$st" = 4 ] || fail "unwritten: exit $st, want 4"
grep -q "TPM2_NV_Certify" "$W/err" && grep -q "TPM2_PolicyNV refused counter >= $V (TPM_RC_NV_UNINITIALIZED, 0x14a)" "$W/err" ||
  fail "unwritten: $(cat "$W/err")"
tpm2_nvread -C "$IDX" -s 8 "$IDX" >/dev/null 2>&1 && fail "unwritten: the counter was incremented"
assert_no_leaks
# a first authorization does it (the verifier issues one only before it
# accepted any counter); the counter then starts at or above the old one
xq_ok first "$W/a11" true "$W/ev11.json"
[ "$(printf %d 0x$(nvval))" -ge "$V" ] || fail "redefined: counter $(nvval) below $V"
V=$(printf %d 0x$(nvval))

# ---- hierarchy authorizations ----
run 0 "$T" init --no-ek --set-owner-auth "$W/owner.auth" --set-endorsement-auth "$W/endorsement.auth" --set-lockout-auth "$W/lockout.auth"
for h in owner endorsement lockout; do
  [ "$(stat -c %a "$W/$h.auth")" = 600 ] || fail "$h.auth: mode $(stat -c %a "$W/$h.auth")"
  grep -qxE '[0-9a-f]{64}' "$W/$h.auth" || fail "$h.auth: not 32 bytes of hex"
  grep -q "^$h *authorization set, in $W/$h.auth" "$W/out" || fail "init: $(cat "$W/out")"
done
OWNER=$(cat "$W/owner.auth")
CLK=$(tpm2_readclock 2>/dev/null | sed -n 's/^ *clock: *//p')
[ -n "$CLK" ] || fail "tpm2_readclock"
tpm2_setclock $((CLK + 1000000)) >"$W/out" 2>"$W/err" && fail "tpm2_setclock with the empty owner auth worked"
want_rc 0x000009a2 "tpm2_setclock, empty owner auth (TPM_RC_BAD_AUTH, session 1)"
tpm2_nvundefine -C o "$IDX" >"$W/out" 2>"$W/err" && fail "tpm2_nvundefine with the empty owner auth worked"
want_rc 0x000009a2 "tpm2_nvundefine, empty owner auth (TPM_RC_BAD_AUTH, session 1)"
tpm2_setclock -p "hex:$OWNER" $((CLK + 1000000)) >"$W/out" 2>"$W/err" || fail "tpm2_setclock with the owner auth: $(cat "$W/err")"
# the files: never overwritten; refused when others may read them
run 4 "$T" init --no-ek --owner-auth "$W/owner.auth" --set-owner-auth "$W/owner.auth"
grep -q "exists; an authorization file is never overwritten" "$W/err" || fail "existing file: $(cat "$W/err")"
[ "$(cat "$W/owner.auth")" = "$OWNER" ] || fail "owner.auth changed"
# a change the TPM refuses (no current value given) leaves no file behind
run 4 "$T" init --no-ek --endorsement-auth "$W/endorsement.auth" --set-owner-auth "$W/owner2.auth"
grep -q "TPM2_HierarchyChangeAuth): the TPM refused the current owner authorization" "$W/err" || fail "refused change: $(cat "$W/err")"
[ -e "$W/owner2.auth" ] && fail "refused change: owner2.auth left behind"
cp "$W/owner.auth" "$W/owner-open.auth"; chmod 640 "$W/owner-open.auth"
run 4 "$T" quote --nonce "$NONCE" --eventlog none --out "$W/evx.json" --owner-auth "$W/owner-open.auth"
grep -q "group or others may access it (mode 0640)" "$W/err" || fail "mode 0640: $(cat "$W/err")"
printf 'zz\n' >"$W/bad.auth"; chmod 600 "$W/bad.auth"
run 3 "$T" quote --nonce "$NONCE" --eventlog none --out "$W/evx.json" --owner-auth "$W/bad.auth"
# quote and init with the files
run 4 "$T" quote --nonce "$NONCE" --eventlog none --out "$W/evx.json" --nv-index 0x01000102
grep -q "TPM2_NV_DefineSpace.*a wrong or missing authorization" "$W/err" || fail "no owner auth: $(cat "$W/err")"
run 0 "$T" quote --nonce "$NONCE" --eventlog none --out "$W/evx.json" --nv-index 0x01000102 --owner-auth "$W/owner.auth"
[ "$(json "$W/evx.json" 'd["counter"]["index"]')" = 0x01000102 ] || fail "--owner-auth: counter index"
TPMATTEST_OWNER_AUTH_FILE=$W/owner.auth run 0 "$T" quote --nonce "$NONCE" --eventlog none --out "$W/evy.json" --nv-index 0x01000103
[ "$(json "$W/evy.json" 'd["counter"]["index"]')" = 0x01000103 ] || fail "TPMATTEST_OWNER_AUTH_FILE: counter index"
run 4 "$T" init --owner-auth "$W/owner.auth"
grep -q "TPM2_CreatePrimary.*a wrong or missing authorization" "$W/err" || fail "init, no endorsement auth: $(cat "$W/err")"
run 0 "$T" init --owner-auth "$W/owner.auth" --endorsement-auth "$W/endorsement.auth"
grep -q "EK ecc" "$W/out" || fail "init with the files: $(cat "$W/out")"
# an AK created now needs both (EK policy, EvictControl)
run 0 "$T" init --no-ek --ak-handle 0x81000102 --owner-auth "$W/owner.auth" --endorsement-auth "$W/endorsement.auth"
# the authorized counter, with the owner authorization set
xq_ok "$V:$V" "$W/a12" true "$W/ev12.json" --owner-auth "$W/owner.auth"
want_val $((V + 1)) "after --set-owner-auth"
# lockout: changed again with the current value
run 0 "$T" init --no-ek --endorsement-auth "$W/endorsement.auth" --lockout-auth "$W/lockout.auth" --set-lockout-auth "$W/lockout2.auth"
assert_no_leaks
pass
