#!/usr/bin/env bash
# Runs the whole test suite: installs dependencies, builds with warnings as
# errors, runs every test (unit, fuzz corpora, CLI end-to-end, swtpm
# integration).  Tests that need ../shared skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
BUILD=${BUILD:-build}
if [ -d "$BUILD" ]; then
  meson setup --reconfigure "$BUILD" --werror >/dev/null
else
  meson setup "$BUILD" --werror >/dev/null
fi
ninja -C "$BUILD"
meson test -C "$BUILD" --print-errorlogs "$@"
