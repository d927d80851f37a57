#!/usr/bin/env bash
# The state file of `tpmattest verify --state S --update-state` (issue 7) on
# swtpm quotes: read strictly (exit 3 naming the member), a verdict printed
# only once the state is durably written (NOT RECORDED, exit 4, otherwise),
# read-check-write under a lock (parallel verifies accept each evidence once
# and the counter never goes back), and an AK whose point is off its curve
# is malformed input (exit 3), not an environment error.
. "$(dirname "$0")/common.sh"
start_swtpm
ek_public "$W/ek.pub"
S=$W/machine.state.json
attest() { # attest NAME: quote with a fresh nonce, kept in $W/NAME.nonce
  local n; n=$(openssl rand -hex 32)
  run 0 "$TPA" quote --nonce "$n" --eventlog none --out "$W/$1.json" --raw-dir "$W/raw-$1"
  echo "$n" >"$W/$1.nonce"
}
AK=$W/raw-e0/ak.pub
# verify NAME [ARGS...]: verify --json of evidence NAME against $S
verify() { local e=$1; shift; "$TPA" verify --json "$W/$e.json" --ak "$AK" --nonce "$(cat "$W/$e.nonce")" --ek "$W/ek.pub" --state "$S" "$@"; }
counter_of() { json "$1" 'd["counter"]["value"]'; }

for i in 0 1 2 3 4 5; do attest e$i; done
rm -f "$S"
verify e0 --update-state >"$W/out" 2>"$W/err" || fail "first attestation refused: $(head -c 600 "$W/out")"
cp "$S" "$W/base"
# each later evidence carries a larger counter: accepted in order
for i in 1 2 3 4 5; do
  verify e$i --update-state >"$W/out" 2>"$W/err" || fail "e$i refused in order: $(head -c 600 "$W/out")"
  counter_of "$S" >"$W/c$i"
done
[ "$(cat "$W/c5")" -gt "$(cat "$W/c1")" ] || fail "counters do not grow"
echo "ok: six evidences, counters $(cat "$W"/c[1-5] | tr '\n' ' ')"
[ "$(stat -c %a "$S.lock")" = 600 ] || fail "lock file $S.lock is not 0600"

# ---- item 9: the state is read strictly ----
# bad_state DESC PYTHON-EDIT WANT-STDERR: the edited base state is refused
# with exit 3, the member named, nothing on stdout, the file unchanged
bad_state() {
  local desc=$1 edit=$2 want=$3 rc
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $edit; open(sys.argv[2],'w').write(json.dumps(d))" "$W/base" "$S" ||
    fail "$desc: cannot edit"
  cp "$S" "$W/edited"
  verify e1 --update-state >"$W/out" 2>"$W/err"; rc=$?
  [ $rc = 3 ] || fail "$desc: want exit 3, got $rc: $(head -c 600 "$W/out")"
  grep -qF "tpmattest: state $S: not a tpmattest state document: $want" "$W/err" || fail "$desc: stderr lacks '$want'"
  [ ! -s "$W/out" ] || fail "$desc: something on stdout: $(head -c 300 "$W/out")"
  cmp -s "$S" "$W/edited" || fail "$desc: the state changed"
  echo "ok: $desc"
}
bad_state 'misspelt "counter"' 'd["countr"]=d.pop("counter")' 'state: unknown member "countr"'
bad_state 'no "counter"' 'd.pop("counter")' 'no member "counter"'
bad_state 'version "1"' 'd["version"]="1"' '"version" is not the integer 1'
bad_state 'version true' 'd["version"]=True' '"version" is not the integer 1'
bad_state 'version 1.9' 'd["version"]=1.9' '"version" is not the integer 1'
bad_state 'unknown member in "clock"' 'd["clock"]["sfae"]=True' 'clock: unknown member "sfae"'
bad_state 'counter value as a string' 'd["counter"]["value"]=str(d["counter"]["value"])' 'counter: "value" is not an integer'
bad_state 'counter name with nameAlg TPM_ALG_NULL' 'd["counter"]["name"]="0010"+d["counter"]["name"][4:]' 'counter: "name" has nameAlg TPM_ALG_NULL (0x0010)'
bad_state 'counter name with a short digest' 'd["counter"]["name"]=d["counter"]["name"][:-2]' 'counter: "name" has a 31-byte digest, not the 32 bytes of its nameAlg 0x000b'

# ---- item 7: no verdict before the state is durably written ----
# Every write to a regular file fails (EFBIG) under RLIMIT_FSIZE 0, which
# binds root too; stdout and stderr reach the test through pipes.
limited() {
  python3 - "$W/out" "$W/err" "$@" <<'PY'
import resource, signal, subprocess, sys
def lim():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
p = subprocess.run(sys.argv[3:], preexec_fn=lim, restore_signals=False, capture_output=True, timeout=60)
open(sys.argv[1], "wb").write(p.stdout)
open(sys.argv[2], "wb").write(p.stderr)
sys.exit(p.returncode)
PY
}
cp "$W/base" "$S"
limited "$TPA" verify "$W/e1.json" --ak "$AK" --nonce "$(cat "$W/e1.nonce")" --ek "$W/ek.pub" --state "$S" --update-state; rc=$?
[ $rc = 4 ] || fail "unwritable state, text: want exit 4, got $rc: $(head -c 600 "$W/out")"
[ "$(head -n 1 "$W/out")" = "NOT RECORDED: state $S: cannot write: File too large: the evidence is not accepted" ] ||
  fail "unwritable state, text: first line is '$(head -n 1 "$W/out")'"
! grep -q '^VERIFIED' "$W/out" || fail "unwritable state, text: VERIFIED printed"
grep -qxF "tpmattest: state $S: cannot write: File too large: the verdict is NOT RECORDED" "$W/err" || fail "unwritable state, text: stderr"
cmp -s "$S" "$W/base" || fail "unwritable state: the state changed"
echo "ok: unwritable state, text: NOT RECORDED, exit 4"
limited "$TPA" verify --json "$W/e1.json" --ak "$AK" --nonce "$(cat "$W/e1.nonce")" --ek "$W/ek.pub" --state "$S" --update-state; rc=$?
[ $rc = 4 ] || fail "unwritable state, JSON: want exit 4, got $rc: $(head -c 600 "$W/out")"
python3 - "$W/out" "state $S: cannot write: File too large" <<'PY' || fail "unwritable state, JSON: $(head -c 600 "$W/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["verified"] is False and d["recorded"] is False, d
assert d["verdict"] == "not recorded" and d["error"] == sys.argv[2], d
PY
cmp -s "$S" "$W/base" || fail "unwritable state, JSON: the state changed"
echo "ok: unwritable state, JSON: verified false, recorded false, exit 4"
# nothing was recorded: the same evidence is still fresh once the state can be written
verify e1 --update-state >"$W/out" 2>"$W/err" || fail "e1 after the failed write: $(head -c 600 "$W/out")"
json "$W/out" 'd["verified"] is True and d["recorded"] is True' | grep -qx True || fail "recorded verdict: $(head -c 300 "$W/out")"
[ "$(counter_of "$S")" = "$(cat "$W/c1")" ] || fail "state counter after e1 is not c1"
echo "ok: then recorded: verified true, recorded true"

# ---- item 8: parallel verifies against one state file ----
# race ROUND KIND E...: one verify per listed evidence, all at once, each
# under a timeout; prints the accepted evidences
race() {
  local d=$W/race$1-$2 k=0 e; shift 2
  mkdir -p "$d"
  cp "$W/base" "$S"
  for e in "$@"; do
    k=$((k + 1))
    ( timeout 60 "$TPA" verify --json "$W/$e.json" --ak "$AK" --nonce "$(cat "$W/$e.nonce")" --ek "$W/ek.pub" \
        --state "$S" --update-state >"$d/$k.$e.out" 2>"$d/$k.$e.err"; echo $? >"$d/$k.$e.rc" ) &
  done
  wait
  python3 - "$d" <<'PY' || fail "race $d"
import glob, json, os, sys
acc = []
for rc in sorted(glob.glob(sys.argv[1] + "/*.rc")):
    base = rc[:-3]; e = os.path.basename(base).split(".")[1]; code = open(rc).read().strip()
    if code == "0":
        acc.append(e); continue
    assert code == "1", f"{base}: exit {code}: {open(base + '.err').read()[:300]}"
    d = json.load(open(base + ".out"))
    bad = [c for c in d["checks"] if c["status"] in ("fail", "not_run")]
    assert bad[0]["name"] in ("clock", "counter"), f"{base}: failed {bad[0]}"
    ctr = [c for c in d["checks"] if c["name"] == "counter"][0]
    assert ctr["status"] == "fail" and "not greater than the last accepted" in ctr["reason"], f"{base}: {ctr}"
print(" ".join(acc))
PY
}
for round in $(seq 20); do
  got=$(race "$round" same e1 e1 e1 e1 e1 e1 e1 e1) || exit 1
  [ "$got" = e1 ] || fail "round $round: 8 parallel verifies of e1: accepted '$got', want exactly one"
  [ "$(counter_of "$S")" = "$(cat "$W/c1")" ] || fail "round $round: state counter $(counter_of "$S"), want $(cat "$W/c1")"
  got=$(race "$round" mixed e1 e2 e3 e4 e5 e5 e4 e3 e2 e1 e3 e5) || exit 1
  python3 - "$got" <<'PY' || fail "round $round: accepted '$got': an evidence accepted twice, or e5 not once"
import sys
acc = sys.argv[1].split()
assert len(acc) == len(set(acc)) and acc.count("e5") == 1, acc
PY
  # the last writer holds the highest counter: e5's, which was accepted
  [ "$(counter_of "$S")" = "$(cat "$W/c5")" ] || fail "round $round: state counter $(counter_of "$S") after accepting '$got', want $(cat "$W/c5")"
done
echo "ok: 20 rounds of parallel verifies: each evidence accepted at most once, e1 alone exactly once, the counter never went back"

# ---- item 13: an AK point off its curve is malformed input ----
python3 -c 'import sys; b=open(sys.argv[1],"rb").read(); assert b[2:4]==b"\x00\x23" and b[-68:-66]==b"\x00\x20" and b[-34:-32]==b"\x00\x20", "not an ECC P-256 TPM2B_PUBLIC"' "$AK" ||
  fail "$AK: not an ECC AK with 32-byte coordinates"
len=$(stat -c %s "$AK")
cp "$W/base" "$S"
for i in $(seq $((len - 66)) $((len - 35))) $(seq $((len - 32)) $((len - 1))); do
  python3 -c 'import sys; b=bytearray(open(sys.argv[1],"rb").read()); b[int(sys.argv[3])]^=1; open(sys.argv[2],"wb").write(b)' "$AK" "$W/flipped.ak" "$i"
  "$TPA" verify --json "$W/e1.json" --ak "$W/flipped.ak" --nonce "$(cat "$W/e1.nonce")" --ek "$W/ek.pub" --state "$S" >"$W/out" 2>"$W/err"; rc=$?
  [ $rc = 3 ] || fail "AK point byte $i flipped: want exit 3, got $rc"
  grep -qxF "tpmattest: AK $W/flipped.ak: the ECC point is not on the P-256 curve" "$W/err" || fail "AK point byte $i flipped: stderr"
done
echo "ok: each of the 64 point bytes of the AK flipped: exit 3, the AK file named"
pass
