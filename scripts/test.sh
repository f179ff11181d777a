#!/usr/bin/env bash
# `npm test`: makes sure the host has what the tests need (as root on Debian), installs the
# project's packages when they are missing, builds, then runs the unit and host suites.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  bash scripts/host-setup.sh
fi
[ -d node_modules ] || npm ci
npm run --silent build
npx vitest run "$@"
