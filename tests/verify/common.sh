# Shared by the swtpm verification tests: the integration harness, plus
# a verdict assertion on `tpmattest verify --json`.
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
VHERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
EXAMPLES=$(cd "$VHERE/../../examples" && pwd)

# expect_verdict DESC WANT_CHECK ARGS...: `tpmattest verify --json ARGS`
# must accept (WANT_CHECK "-") or refuse with WANT_CHECK the first failing check.
expect_verdict() {
  local desc=$1 want=$2 rc; shift 2
  "$TPA" verify --json "$@" >"$W/out" 2>"$W/err"; rc=$?
  if [ "$want" = - ]; then
    [ $rc = 0 ] || fail "$desc: want exit 0, got $rc: $(head -c 600 "$W/out")"
  else
    [ $rc = 1 ] || fail "$desc: want exit 1, got $rc: $(head -c 600 "$W/out")"
  fi
  python3 - "$W/out" "$want" <<'PY' || fail "$desc: want failing check '$want', got: $(python3 -c 'import json,sys; print("; ".join(c["name"]+"="+c["status"]+" ("+c["reason"]+")" for c in json.load(open(sys.argv[1]))["checks"] if c["status"]!="pass"))' "$W/out" 2>&1 | head -c 900)"
import json, sys
d = json.load(open(sys.argv[1])); want = sys.argv[2]
bad = [c["name"] for c in d["checks"] if c["status"] in ("fail", "not_run")]
sys.exit(0 if (want == "-" and d["verified"] and not bad) or (want != "-" and not d["verified"] and bad[:1] == [want]) else 1)
PY
  echo "ok: $desc"
}

# reason_of CHECK: the reason `verify --json` gave for CHECK in $W/out
reason_of() { json "$W/out" "[c['reason'] for c in d['checks'] if c['name']=='$1'][0]"; }

# ek_public OUT: the TPM's ECC EK (the AK's parent) as TPM2B_PUBLIC
ek_public() {
  "$TPA" init --json >"$W/init.json" 2>"$W/err" || fail "init"
  python3 -c 'import base64,json,sys; d=json.load(open(sys.argv[1])); open(sys.argv[2],"wb").write(base64.b64decode(d["ek"]["ecc"]["public"]))' "$W/init.json" "$1"
}
