#!/usr/bin/env bash
# The README's run command (`npm start`): installs what the engine needs from this repository's
# own files (npm packages from package-lock.json, scripts/install-deps.sh), builds,
# then runs `imatch start` (bin/start/start.ts), which fetches and starts ZooKeeper and Kafka,
# generates demo data, builds the index and starts every service. Extra arguments go to
# `imatch start` (e.g. `npm start -- --offers 50000`). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "==> installing the npm packages package-lock.json pins" >&2
bash scripts/install-deps.sh >&2
echo "==> npm run build" >&2
npm run --silent build >&2
exec node bin/imatch.js start "$@"
