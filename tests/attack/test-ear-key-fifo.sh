#!/usr/bin/env bash
# A find of the adversarial review of issue 13, now defended: a FIFO at the
# --result-key path hung the server at start-up, forever, instead of
# refusing it.  srv_result_key_load opened the path O_RDONLY | O_NOFOLLOW
# without O_NONBLOCK: open(2) of a FIFO blocks until a writer comes, before
# the fstat that would say "not a regular file".  Whoever can create a name
# in the key's directory (the default is the SQLite file's name +
# .result-key: a database in a shared directory) stopped the server without
# a word in its log; a symbolic link or a directory there was refused at
# once.  Defence (server/result.c): the open adds O_NONBLOCK (and
# O_NOCTTY), so a FIFO opens at once and fstat refuses it; a new key is
# made under a mkstemp name and link(2)ed, which neither follows nor
# replaces what appears at the name meanwhile, and the name is then opened
# the same way.  Asserted: exit 4, "--result-key PATH: not a regular file",
# within 10 s; a dangling symbolic link is refused (ELOOP) and not followed
# (nothing is created at its target); and with a FIFO made and removed at
# the path over and over while servers start (a new key's path between the
# open, the link and the second open), no start hangs.
# $1: tpmattest.
set -u
TPA=$(readlink -f "$1")
command -v openssl >/dev/null || { echo "SKIP: openssl is missing"; exit 77; }
command -v mkfifo >/dev/null || { echo "SKIP: mkfifo is missing"; exit 77; }
W=$(mktemp -d -t tpa-ear-fifo.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout s.key -out s.pem \
  -subj /CN=127.0.0.1 -days 1 >/dev/null 2>&1 || { echo "FAIL: TLS certificate"; exit 1; }
mkdir roots && cp s.pem roots/
mkfifo key.pem
timeout -k 2 10 "$TPA" serve --listen 127.0.0.1:0 --port-file port --db v.db --tls-cert s.pem \
  --tls-key s.key --admin-ca s.pem --ek-roots roots --result-key "$W/key.pem" 2>err
rc=$?
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
  echo "FAIL: a FIFO at --result-key: the server hung at start-up (killed after 10 s): $(head -c 300 err)" >&2
  exit 1
fi
[ "$rc" = 4 ] && grep -q "result-key $W/key.pem: not a regular file" err ||
  { echo "FAIL: a FIFO at --result-key: exit $rc, not 4 with 'not a regular file': $(head -c 300 err)" >&2; exit 1; }

# a dangling symbolic link: refused, its target not created
ln -s "$W/target.pem" dangling.pem
timeout -k 2 10 "$TPA" serve --listen 127.0.0.1:0 --port-file port --db v.db --tls-cert s.pem \
  --tls-key s.key --admin-ca s.pem --ek-roots roots --result-key "$W/dangling.pem" 2>err
rc=$?
[ "$rc" = 4 ] && grep -q "result-key $W/dangling.pem: Too many levels of symbolic links" err ||
  { echo "FAIL: a dangling link at --result-key: exit $rc, not 4 with ELOOP: $(head -c 300 err)" >&2; exit 1; }
[ -e target.pem ] && { echo "FAIL: a dangling link at --result-key was followed: $W/target.pem made" >&2; exit 1; }

# a FIFO that comes and goes at a new key's path while servers start
( while :; do rm -f race.pem; mkfifo race.pem 2>/dev/null; done ) &
FLIP=$!
trap 'kill "$FLIP" 2>/dev/null; rm -rf "$W"' EXIT
for round in $(seq 20); do
  rm -f port
  timeout -k 2 10 "$TPA" serve --listen 127.0.0.1:0 --port-file port --db v.db --tls-cert s.pem \
    --tls-key s.key --admin-ca s.pem --ek-roots roots --result-key "$W/race.pem" 2>err &
  p=$!
  for i in $(seq 100); do [ -s port ] && break; kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  started=0
  [ -s port ] && started=1 && kill "$p" 2>/dev/null
  wait "$p"
  rc=$?
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
    echo "FAIL: round $round: a FIFO appearing at a new --result-key: the server hung (killed after 10 s): $(head -c 300 err)" >&2
    exit 1
  fi
  # started (and stopped by our SIGTERM), or refused what it found at the name
  case "$started $rc" in
    "1 0" | "1 143") ;;
    "0 4") grep -Eq "result-key $W/race.pem: (not a regular file|No such file or directory)" err ||
         { echo "FAIL: round $round: exit 4 for another reason: $(head -c 300 err)" >&2; exit 1; } ;;
    *) echo "FAIL: round $round: exit $rc: $(head -c 300 err)" >&2; exit 1 ;;
  esac
done
kill "$FLIP" 2>/dev/null; wait "$FLIP" 2>/dev/null
ls race.pem.tmp.* >/dev/null 2>&1 && { echo "FAIL: temporary key files left: $(ls race.pem.tmp.*)" >&2; exit 1; }
echo PASS
