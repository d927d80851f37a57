#!/usr/bin/env bash
# Issue 12 offline (docs/rollback.md "Offline"): `tpmattest counter
# authorize` counts each authorization in STATE under STATE.lock, `verify
# --state --update-state` applies the window.  Attacked: eight authorize
# processes racing a verify --update-state on one STATE (every
# authorization counted once: counter_auths afterwards = issued - used,
# every authorization's bounds exact, low == high == the last accepted
# counter at its time, L or L + 1); state files with odd
# counter_auths (negative, fractional, a string, 2^64, null: refused as
# malformed, exit 3, STATE unchanged; UINT64_MAX - 1: no more
# authorizations, exit 4); and a counter above last + issued refused.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new b
use_tpm b
T=$TPA S=$W/state.json
"$T" counter key --out "$W/vk.pem" >/dev/null || fail "counter key"
"$T" counter public "$W/vk.pem" --out "$W/vk.json" >/dev/null || fail "counter public"
"$T" init --counter-key "$W/vk.json" --no-ek >/dev/null 2>"$W/err" || fail "init --counter-key: $(cat "$W/err")"
"$T" enroll request --counter-key "$W/vk.json" --out "$W/req.json" >/dev/null 2>"$W/err" || fail "enroll request: $(cat "$W/err")"
"$T" enroll challenge "$W/req.json" --ek-roots "$W/roots" --counter-key "$W/vk.json" --out "$W/ch.json" --pending "$W/p.json" >/dev/null 2>"$W/err" || fail "challenge: $(cat "$W/err")"
"$T" enroll activate "$W/ch.json" --out "$W/resp.json" >/dev/null 2>"$W/err" || fail "activate: $(cat "$W/err")"
"$T" enroll finish "$W/p.json" "$W/resp.json" --out "$W/rec.json" >/dev/null 2>"$W/err" || fail "finish: $(cat "$W/err")"
cat >"$W/x.py" <<'PY'
# x.py EV NONCE STATE: quote --exchange answered by `counter authorize`
import json, os, subprocess, sys
T, W = os.environ["TPA"], os.environ["W"]
ev, nonce, state = sys.argv[1:4]
q = subprocess.Popen([T, "quote", "--exchange", "--eventlog", "none", "--out", ev],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
nt = json.loads(q.stdout.readline())["nonce_tpm"]
a = subprocess.run([T, "counter", "authorize", "--key", f"{W}/vk.pem", "--enrollment", f"{W}/rec.json",
                    "--state", state, "--nonce-tpm", nt], capture_output=True, timeout=60)
au = json.loads(a.stdout) if a.returncode == 0 else None
out, err = q.communicate((json.dumps({"nonce": nonce, "counter_authorization": au}) + "\n").encode(), timeout=120)
sys.stdout.write(out.decode()); sys.stderr.write(err.decode() + a.stderr.decode())
sys.exit(q.returncode or a.returncode)
PY
vfy() { # vfy EV NONCE: verify --update-state, the verdict in $W/vout
  "$T" verify "$1" --enrollment "$W/rec.json" --nonce "$2" --state "$S" --update-state --json >"$W/vout" 2>"$W/verr"
}
J() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }
N=$(openssl rand -hex 32)
python3 "$W/x.py" "$W/ev1.json" "$N" "$S" >"$W/xout" 2>"$W/xerr" || fail "first exchange: $(cat "$W/xerr")"
[ "$(J "$W/xout" 'd["incremented"]')" = True ] || fail "first increment: $(cat "$W/xout")"
vfy "$W/ev1.json" "$N" || fail "first verify: $(cat "$W/vout" "$W/verr")"
L=$(J "$S" 'd["counter"]["value"]')

# the race: an evidence incremented under one authorization, verified while
# eight more are issued
N2=$(openssl rand -hex 32)
python3 "$W/x.py" "$W/ev2.json" "$N2" "$S" >"$W/xout" 2>"$W/xerr" || fail "second exchange: $(cat "$W/xerr")"
[ "$(J "$W/xout" 'd["incremented"]')" = True ] || fail "second increment: $(cat "$W/xout")"
before=$(J "$S" 'd.get("counter_auths", 0)')
pids=()
for i in 1 2 3 4 5 6 7 8; do
  "$T" counter authorize --key "$W/vk.pem" --enrollment "$W/rec.json" --state "$S" \
    --nonce-tpm "$(openssl rand -hex 32)" --out "$W/au$i.json" 2>"$W/au$i.err" & pids+=($!)
  [ "$i" = 4 ] && { vfy "$W/ev2.json" "$N2" & pids+=($!); }
done
for p in "${pids[@]}"; do wait "$p" || fail "a racing process failed: $(cat "$W"/au*.err "$W/vout" "$W/verr" 2>/dev/null | head -c 800)"; done
[ "$(J "$W/vout" 'd["verified"]')" = True ] || fail "the racing verify: $(head -c 500 "$W/vout")"
[ "$(J "$S" 'd["counter"]["value"]')" = $((L + 1)) ] || fail "the accepted counter: $(cat "$S")"
# issued: before (1, the second exchange's) + 8; used: 1
[ "$(J "$S" 'd.get("counter_auths", 0)')" = $((before + 8 - 1)) ] || fail "counter_auths $(J "$S" 'd.get("counter_auths")'), want $((before + 7)): lost or double counted"
python3 - "$W" "$L" <<'PY' || fail "the racing authorizations' bounds"
import json, sys, glob
L = int(sys.argv[2])
a = [json.load(open(f)) for f in sorted(glob.glob(sys.argv[1] + "/au?.json"))]
assert len(a) == 8, len(a)
b = [(x["low"], x["high"]) for x in a]
# exact: the last accepted counter when it was issued, L before the
# verify's update, L + 1 after it
assert all(lo == hi and lo in (L, L + 1) for lo, hi in b), f"bounds not [L, L] or [L + 1, L + 1] (L = {L}): {sorted(b)}"
PY
"$T" counter authorize --key "$W/vk.pem" --enrollment "$W/rec.json" --state "$S" --nonce-tpm "$(openssl rand -hex 32)" --out "$W/au9.json" 2>"$W/au9.err" ||
  fail "authorize after the race: $(cat "$W/au9.err")"
[ "$(J "$W/au9.json" '(d["low"], d["high"])')" = "($((L + 1)), $((L + 1)))" ] || fail "after the race: not [L + 1, L + 1]: $(cat "$W/au9.json")"
echo "  8 authorizations racing a verify --update-state: each counted once, each [L, L] or [L + 1, L + 1]"

# odd counter_auths in the state
cp "$S" "$W/good.json"
for v in -1 1.5 '"5"' 18446744073709551616 null true '[1]'; do
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("counter_auths",None); json.dump(d,open(sys.argv[2],"w"))' "$W/good.json" "$W/base.json"
  python3 -c "import sys; s=open(sys.argv[1]).read().rstrip(); open(sys.argv[2],'w').write(s[:-1] + ', \"counter_auths\": ' + sys.argv[3] + '}')" "$W/base.json" "$S" "$v"
  cp "$S" "$W/odd.json"
  "$T" counter authorize --key "$W/vk.pem" --enrollment "$W/rec.json" --state "$S" --nonce-tpm "$(openssl rand -hex 32)" >"$W/out" 2>"$W/err"; st=$?
  [ "$st" = 3 ] && grep -q "not a tpmattest state document" "$W/err" || fail "counter_auths $v: exit $st: $(cat "$W/err")"
  [ ! -s "$W/out" ] || fail "counter_auths $v: an authorization was printed"
  cmp -s "$S" "$W/odd.json" || fail "counter_auths $v: STATE was rewritten"
  "$T" verify "$W/ev2.json" --enrollment "$W/rec.json" --nonce "$N2" --state "$S" --update-state >/dev/null 2>"$W/err"; st=$?
  [ "$st" = 3 ] || fail "verify with counter_auths $v: exit $st: $(cat "$W/err")"
done
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["counter_auths"]=2**64-2; json.dump(d,open(sys.argv[2],"w"))' "$W/good.json" "$S"
"$T" counter authorize --key "$W/vk.pem" --enrollment "$W/rec.json" --state "$S" --nonce-tpm "$(openssl rand -hex 32)" >"$W/out" 2>"$W/err"; st=$?
[ "$st" = 4 ] && grep -q "no more authorizations can be counted" "$W/err" || fail "UINT64_MAX - 1: exit $st: $(cat "$W/err")"
echo "  odd counter_auths: refused, STATE unchanged"

# a counter above last + issued: the window, offline
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("counter_auths",None); d["counter"]["value"] -= 2; json.dump(d,open(sys.argv[2],"w"))' "$W/good.json" "$S"
N3=$(openssl rand -hex 32)
python3 "$W/x.py" "$W/ev3.json" "$N3" "$W/scratch.json" >"$W/xout" 2>"$W/xerr"   # an authorization from another STATE
"$T" verify "$W/ev3.json" --enrollment "$W/rec.json" --nonce "$N3" --state "$S" --update-state --json >"$W/vout" 2>"$W/verr"; st=$?
[ "$st" = 1 ] && [ "$(J "$W/vout" '[c["status"] for c in d["checks"] if c["name"] == "counter"]')" = "['fail']" ] &&
  grep -q "above the last accepted $((L - 1)) plus the 0 increments this verifier authorized since" "$W/vout" ||
  fail "above the window: exit $st: $(head -c 600 "$W/vout") $(cat "$W/verr")"
echo "  a counter above last + issued: FAIL counter"
pass
