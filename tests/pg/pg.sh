#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests, from Debian's packages (postgresql,
# installed by scripts/deps.sh): its own cluster in a temporary directory,
# listening on 127.0.0.1 only, on a free port, run as an unprivileged user
# (nobody when we are root: PostgreSQL refuses to run as root).
#
#   tests/pg/pg.sh start DIR   prints the URL (postgresql://...) once it answers
#   tests/pg/pg.sh stop DIR    stops it (fast shutdown); DIR stays
#   tests/pg/pg.sh kill DIR    kill -9 of the postmaster (a crash)
#   tests/pg/pg.sh restart DIR starts it again on the same port
#   tests/pg/pg.sh url DIR     the URL again
# Exit 77 (skipped, for meson) when PostgreSQL is not installed.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: pg.sh start|stop|kill|restart|url DIR" >&2; exit 2; }
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "pg.sh: PostgreSQL is not installed (apt-get install postgresql): skipped" >&2
  exit 77
fi
as=()
if [ "$(id -u)" = 0 ]; then as=(runuser -u nobody --); fi

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

url() { echo "postgresql://tpmattest@127.0.0.1:$(cat "$dir/port")/tpmattest?connect_timeout=3"; }

up() {
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 \
    -o "-h 127.0.0.1 -p $(cat "$dir/port") -k $dir/sock -c fsync=on -c max_connections=200" \
    start >/dev/null
}

case "$cmd" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown nobody "$dir"
  chmod 700 "$dir"
  "${as[@]}" mkdir -p "$dir/sock"
  "${as[@]}" "$bin/initdb" -D "$dir/data" -U tpmattest -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  free_port >"$dir/port"
  up
  "${as[@]}" "$bin/createdb" -h 127.0.0.1 -p "$(cat "$dir/port")" -U tpmattest tpmattest
  url
  ;;
restart) up; url ;;
stop) "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true ;;
kill)
  pid=$(head -1 "$dir/data/postmaster.pid" 2>/dev/null || true)
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  # its backends go with it once they notice; wait until the port is free
  for _ in $(seq 50); do
    pgrep -u "$("${as[@]}" id -u)" -f "$dir/data" >/dev/null 2>&1 || break
    pkill -9 -f -- "-D $dir/data" 2>/dev/null || true
    sleep 0.1
  done
  # a dead postmaster leaves its pid file and its socket's lock file: gone,
  # so that restart starts at once
  rm -f "$dir/data/postmaster.pid" "$dir"/sock/.s.PGSQL.*
  ;;
url) url ;;
*) echo "pg.sh: unknown command $cmd" >&2; exit 2 ;;
esac
