#!/usr/bin/env bash
# The disk under the store fills up (a 4 MiB tmpfs, filled but for a few
# pages after the first attestation): every answer is a verdict the store holds, or 503 store -- never a
# PASS that is not committed -- and the server stays up to say so (a write
# fails with ENOSPC; needs mount, skipped without).
# Then kill -9 and restart: every PASS answered is in the history, every
# nonce answered is consumed, the counter is where the last PASS left it.
TPA=$1; . "$(dirname "$0")/lib.sh"
tpm_new a; tls_setup
mkdir "$W/disk"
mount -t tmpfs -o size=4m,mode=0700 tmpfs "$W/disk" 2>/dev/null || skip "cannot mount a tmpfs"
trap 'serve_stop; umount "$W/disk" 2>/dev/null; cleanup' EXIT
DB=$W/disk/verifier.db
serve_start
enroll a
python3 - <<'PY' || fail "first attestation"
from atk import *
r = fresh_attest("a"); check(r.get("verdict") == "pass", f"{r}")
PY
# fill the disk but for 12 KiB
free=$(df -B1 --output=avail "$W/disk" | tail -1)
dd if=/dev/zero of="$W/disk/filler" bs=4096 count=$(( (free - 12288) / 4096 )) 2>/dev/null
python3 -c 'from atk import *; full_store_rounds("not answering 503 store")' || fail "full store"
kill -0 "$SRV_PID" 2>/dev/null || fail "the server died"
kill -9 "$SRV_PID"; wait "$SRV_PID" 2>/dev/null; SRV_PID=
rm -f "$W/disk/filler"
serve_start
python3 -c 'from atk import *; check_answers_survived()' || fail "after kill -9 and restart"
pass
