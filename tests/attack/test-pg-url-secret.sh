#!/usr/bin/env bash
# Adversarial (issue 11): the password of a PostgreSQL URL must not reach
# the server's output.  `serve` prints the store spec at start and in the
# error when the store cannot be opened (server/server.c: db_display hides
# user:PASSWORD@ and the first "password=").  libpq takes a password from
# any of these URL forms as well; each is tried against an unreachable
# store (127.0.0.1, a closed port) and, when a PostgreSQL is at hand,
# against the reachable one (the start-up line).  Defended: the secret is
# in no line the server writes.
export TPA_TEST_STORE=postgresql
TPA=$1; . "$(dirname "$0")/lib.sh"
tls_setup
mkdir -p "$W/roots"; cp "$W/tls/ca.pem" "$W/roots/"
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=${DB%%\?*}
bad=0
try() { # LABEL URL SECRET
  local out=$W/url-$1.log rc=0
  timeout 20 "$TPA" serve --listen 127.0.0.1:0 --port-file "$W/port-$1" --db "$2" \
    --tls-cert "$W/tls/server.pem" --tls-key "$W/tls/server.key" --admin-ca "$W/tls/admin-ca.pem" --ek-roots "$W/roots" \
    --result-key "$W/result-key.pem" >"$out" 2>&1 &
  local pid=$! i
  for i in $(seq 50); do [ -s "$W/port-$1" ] && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || rc=$?
  grep -q -- "--db \|store postgres" "$out" || fail "[$1] the server printed neither its store nor a store error: $(head -3 "$out")"
  if grep -q -- "$3" "$out"; then
    echo "LEAK [$1] --db '$2':" >&2; grep -- "$3" "$out" | sed 's/^/    /' >&2; bad=1
  fi
}
try userinfo      "postgresql://u:S3cretA@127.0.0.1:$closed/db"                      S3cretA
try query         "postgresql://u@127.0.0.1:$closed/db?password=S3cretB"             S3cretB
try sslpw-first   "postgresql://u@127.0.0.1:$closed/db?sslpassword=x&password=S3cretC" S3cretC
try twice         "postgresql://u@127.0.0.1:$closed/db?password=x&password=S3cretD"  S3cretD
try pct-keyword   "postgresql://u@127.0.0.1:$closed/db?%70assword=S3cretE"           S3cretE
try pct-userinfo  "postgresql://u:S3cret%46@127.0.0.1:$closed/db"                    S3cret%46
# reachable (trust authentication ignores the password): the start-up line
try up-sslpw      "$base?sslpassword=x&password=S3cretG"                             S3cretG
try up-pct        "$base?%70assword=S3cretH"                                         S3cretH
[ "$bad" = 0 ] || fail "the store URL's password reached the server's output (server/server.c: db_display)"
pass
