#!/usr/bin/env bash
# `npm run demo`: on a fresh Debian 12 host (as root), installs what refit needs, builds it,
# then runs the demo (scripts/demo.ts). `npm run demo -- --down` removes everything it made.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" != "--down" ]; then
  [ "$(id -u)" = 0 ] || { echo "demo: run as root (it drives Docker and binds loopback ports)" >&2; exit 2; }
  bash scripts/host-setup.sh
fi
[ -d node_modules ] || npm ci
npm run --silent build
exec node --import tsx scripts/demo.ts "$@"
