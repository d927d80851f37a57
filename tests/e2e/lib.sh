# Helpers for the CLI end-to-end tests.  Each check states the exact outcome.
set -u
TPA=${TPA:?TPA must point at the tpmattest binary}
T=$(mktemp -d -t tpa-e2e.XXXXXX)
trap 'rm -rf "$T"' EXIT
npass=0; nfail=0
pass() { npass=$((npass+1)); }
fail() { nfail=$((nfail+1)); echo "FAIL: $*"; }
# expect_exit WANT DESC CMD...: runs CMD with stdout in $T/out, stderr in $T/err
expect_exit() {
  local want=$1 desc=$2; shift 2
  "$@" >"$T/out" 2>"$T/err"; local rc=$?
  if [ "$rc" = "$want" ]; then pass; else fail "$desc: want exit $want, got $rc; stderr: $(head -c 300 "$T/err")"; fi
}
# expect_grep FILE PATTERN DESC
expect_grep() {
  if grep -qE -- "$2" "$1"; then pass; else fail "$3: no /$2/ in $(head -c 300 "$1")"; fi
}
finish() {
  echo "$npass passed, $nfail failed"
  [ "$nfail" = 0 ]
}
