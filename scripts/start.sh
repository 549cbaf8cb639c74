#!/usr/bin/env bash
# The README's run command (`npm start`): installs what the engine needs from this repository's
# own files (npm packages from package-lock.json when node_modules is missing or older), builds,
# then runs `imatch start` (bin/start/start.ts), which fetches and starts ZooKeeper and Kafka,
# generates demo data, builds the index and starts every service. Extra arguments go to
# `imatch start` (e.g. `npm start -- --offers 50000`). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# `npm install` (not `npm ci`): it installs the versions package-lock.json pins, but unlike
# `npm ci` it tolerates optional per-platform packages (biome's darwin/win32/musl builds) that the
# registry these machines reach does not serve and so are missing from the lock file.
if [[ ! -d node_modules || package-lock.json -nt node_modules ]]; then
  echo "==> npm install (versions from package-lock.json)" >&2
  npm install --no-audit --no-fund >&2
  touch node_modules
fi
echo "==> npm run build" >&2
npm run --silent build >&2
exec node bin/imatch.js start "$@"
