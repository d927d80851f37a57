# shellcheck shell=bash
# The store a test's server uses, sourced by the test harnesses
# (tests/attack/lib.sh, tests/server/lib.sh, the load tests):
#   store_init FILE   sets DB to FILE (SQLite), or, when TPA_TEST_STORE is
#                     "postgresql", starts a throwaway PostgreSQL
#                     (tests/pg/pg.sh) and sets DB to its URL; exit 77 when
#                     PostgreSQL is wanted but not installed
#   store_cleanup     stops that PostgreSQL and removes its directory
#   store_is_pg       true when the store is PostgreSQL
# The meson suites *-postgresql run the same tests with TPA_TEST_STORE set.
STORE_PG_DIR=
STORE_PG_SH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/pg.sh
store_is_pg() { [ "${TPA_TEST_STORE:-}" = postgresql ]; }
store_init() {
  DB=$1
  store_is_pg || return 0
  STORE_PG_DIR=$(mktemp -d /tmp/tpa-pg.XXXXXX)
  local rc=0
  DB=$("$STORE_PG_SH" start "$STORE_PG_DIR") || rc=$?
  if [ "$rc" = 77 ]; then echo "SKIP: PostgreSQL is not installed (scripts/deps.sh installs it)"; exit 77; fi
  if [ "$rc" != 0 ]; then
    echo "FAIL: PostgreSQL did not start: $(tail -5 "$STORE_PG_DIR/log" 2>/dev/null)" >&2
    exit 1
  fi
  export DB
}
store_cleanup() {
  [ -n "$STORE_PG_DIR" ] || return 0
  "$STORE_PG_SH" stop "$STORE_PG_DIR"
  rm -rf "$STORE_PG_DIR"
  STORE_PG_DIR=
}
