#!/usr/bin/env bash
# Runs a test binary against a throwaway PostgreSQL (tests/pg/pg.sh): its
# URL in TPA_TEST_STORE, its directory and pg.sh in TPA_TEST_PG_DIR and
# TPA_TEST_PG_SH (for a test that kills and restarts it); stopped after.
# Exit 77 (skipped) when PostgreSQL is not installed.
#
#   with-pg.sh PG_SH BINARY [ARGS...]
set -euo pipefail
pg_sh=$1
shift
dir=$(mktemp -d /tmp/tpa-pg-XXXXXX)
rc=0
url=$("$pg_sh" start "$dir") || rc=$?
if [ "$rc" -eq 77 ]; then
  rm -rf "$dir"
  exit 77
fi
trap '"$pg_sh" stop "$dir"; rm -rf "$dir"' EXIT
[ "$rc" -eq 0 ] || exit "$rc"
TPA_TEST_STORE=$url TPA_TEST_PG_DIR=$dir TPA_TEST_PG_SH=$pg_sh "$@"
