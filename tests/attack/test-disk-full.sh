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
python3 - <<'PY' || fail "full store"
import json
from atk import *
A = machine_id("a")
answers = []
for i in range(40):
    try:
        n = req("POST", f"/v1/machines/{A}/nonce", timeout=15)
    except (ConnectionError, OSError) as e:
        fail(f"round {i}: the server is gone ({e!r}): not answering 503 store")
    if n.status != 200:
        check(n.status == 503 and n.get("error") == "store", f"round {i}: nonce: {n}")
        answers.append(("nonce-503", None)); continue
    ev = quote("a", n.json["nonce"])
    try:
        r = attest(A, ev)
    except (ConnectionError, OSError) as e:
        fail(f"round {i}: the server is gone during the attestation ({e!r}): not answering 503 store")
    check(r.status in (200, 503), f"round {i}: {r}")
    if r.status == 503:
        check(r.get("error") == "store", f"round {i}: {r}")
        answers.append(("attest-503", n.json["nonce"]))
    else:
        answers.append((r.json["verdict"], r.json.get("seq"), n.json["nonce"]))
    if sum(1 for a in answers if a[0].endswith("503")) >= 3:
        break
json.dump(answers, open(f"{W}/answers.json", "w"))
check(any(a[0].endswith("503") for a in answers), f"the store never filled: {answers}")
PY
kill -0 "$SRV_PID" 2>/dev/null || fail "the server died"
kill -9 "$SRV_PID"; wait "$SRV_PID" 2>/dev/null; SRV_PID=
rm -f "$W/disk/filler"
serve_start
python3 - <<'PY' || fail "after kill -9 and restart"
from atk import *
A = machine_id("a")
answers = json.load(open(f"{W}/answers.json"))
seqs = {h["seq"]: h["verdict"] for h in history(A, "?limit=1000")}
for a in answers:
    if a[0] in ("pass", "fail"):
        check(seqs.get(a[1]) == a[0], f"answered {a[0]} seq {a[1]}, the history after restart has {seqs.get(a[1])}")
# nonces answered with a verdict are consumed
for a in answers:
    if a[0] in ("pass", "fail"):
        r = attest(A, quote("a", a[2]))
        check(r.status == 403 and r.get("error") == "nonce", f"a nonce answered before the crash: {r}")
r = fresh_attest("a")
check(r.status == 200 and r.get("verdict") == "pass", f"after restart: {r}")
PY
pass
