#!/usr/bin/env bash
# bench-policy.sh BUILD [BASE] [N_LEARN N_EVENTS N_ALLOWED N_LOAD]: the
# policy's worst cases (bench_policy.c) with this tree's library and, in the
# same run, with the library of commit BASE (default d14fa1f, the policy
# module before its lookups were hashed; 2a04e83 has the first hashed one,
# unkeyed, which the flood case defeats), built in a temporary worktree.
# Prints both and the ratios.  A benchmark, not a test.
set -euo pipefail
BUILD=$(readlink -f "${1:?usage: bench-policy.sh BUILD [BASE] [SIZES...]}")
BASE=${2:-d14fa1f}
shift $(( $# >= 2 ? 2 : 1 ))
SIZES=("$@")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d -t tpa-bench-policy.XXXXXX)
trap 'git -C "$ROOT" worktree remove --force "$T/base" >/dev/null 2>&1; rm -rf "$T"' EXIT

git -C "$ROOT" worktree add --detach "$T/base" "$BASE" >/dev/null 2>&1
meson setup "$T/base/build" "$T/base" -Dtests=false -Dbench=false >/dev/null
ninja -C "$T/base/build" >/dev/null
cp "$ROOT/bench/bench_policy.c" "$T/base/bench/"
cc -O2 -I"$T/base/include" -I"$T/base/src" $(pkg-config --cflags json-c) "$T/base/bench/bench_policy.c" \
  "$T/base/build/libtpmattest.a" $(pkg-config --libs json-c libcrypto tss2-mu) -lpthread -o "$T/bench-policy-base"

echo "== this tree"
"$BUILD/bench/bench-policy" "${SIZES[@]}" | tee "$T/new"
echo "== $BASE"
"$T/bench-policy-base" "${SIZES[@]}" | tee "$T/old"
python3 - "$T/new" "$T/old" "$BASE" <<'PY'
import sys
def last(p):
    l = [x for x in open(p) if x.startswith("policy:")][-1]
    return dict(kv.split("=") for kv in l.split()[1:])
n, o = last(sys.argv[1]), last(sys.argv[2])
print("ratio (%s / this tree): " % sys.argv[3] + " ".join(
    "%s=%.0fx" % (k[:-2], float(o[k]) / max(float(n[k]), 1e-6)) for k in ("learn_s", "load_s", "merge_s", "eval_s", "flood_learn_s", "flood_eval_s") if k in n and k in o))
PY
