#!/usr/bin/env bash
# The store cannot grow (RLIMIT_FSIZE on the running server, as a full disk
# would): every answer is a verdict the store holds, or 503 store -- never a
# PASS that is not committed -- and the server stays up to say so (a write
# past RLIMIT_FSIZE raises SIGXFSZ, whose default action kills the process).
# Then kill -9 and restart: every PASS answered is in the history, every
# nonce answered is consumed, the counter is where the last PASS left it.
command -v prlimit >/dev/null || { echo "SKIP: no prlimit"; exit 77; }
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup
serve_start
enroll a
python3 - <<'PY' || fail "first attestation"
from atk import *
r = fresh_attest("a"); check(r.get("verdict") == "pass", f"{r}")
PY
# the files may not grow past what they are now (and a page)
lim=0
for f in "$W/verifier.db" "$W/verifier.db-wal"; do
  [ -f "$f" ] && s=$(stat -c %s "$f") && [ "$s" -gt "$lim" ] && lim=$s
done
prlimit --pid "$SRV_PID" --fsize=$((lim + 4096)) || skip "prlimit --pid refused"
python3 -c 'from atk import *; full_store_rounds("killed by SIGXFSZ instead of answering 503 store")' || fail "full store"
kill -0 "$SRV_PID" 2>/dev/null || fail "the server died"
kill -9 "$SRV_PID"; wait "$SRV_PID" 2>/dev/null; SRV_PID=
serve_start
python3 -c 'from atk import *; check_answers_survived()' || fail "after kill -9 and restart"
pass
