#!/usr/bin/env bash
# Installs what tpmattest needs to build, test and benchmark, from Debian 12
# packages.  Idempotent: does nothing when everything is already there.
set -euo pipefail
PKGS=(
  build-essential meson ninja-build pkg-config
  libssl-dev openssl libjson-c-dev libsqlite3-dev libevent-dev
  libtss2-dev libtss2-tcti-swtpm0 tpm2-tools swtpm swtpm-tools
  libcmocka-dev clang libclang-rt-14-dev clang-format python3
  libpq-dev postgresql
  chromium libnss3-tools fonts-dejavu-core python3-cryptography curl
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
