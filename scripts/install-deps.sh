#!/usr/bin/env bash
# Installs the npm packages package-lock.json pins, for scripts/test.sh and scripts/start.sh.
#
# Why not a bare `npm ci`: the lock lists every platform's optional prebuilt packages (biome's
# CLI for darwin/win32/musl, msgpackr-extract's and lmdb's binaries). `npm ci` accepts a lock that
# lists more of them than the registry serves (a package for another OS or CPU is skipped without
# being fetched), but refuses one that lists fewer than the registry serves today ("Missing:
# @biomejs/cli-android-arm64@2.6.8 from lock file"): that is how every fresh clone went red when
# the registry these machines reach began to serve packages it did not serve when the lock was
# written. So: `npm ci` first (exact, the normal case); if it refuses, `npm install` with the
# committed lock put back afterwards, and a check that every package installed for this machine
# has exactly the version the committed lock pins (a per-platform optional package the lock does
# not know is the only thing allowed in addition). The working tree is never changed.
#
# Install scripts: npm 11 runs a dependency's install script only when package.json's
# `allowScripts` names it; esbuild, lmdb and msgpackr-extract are named there (their scripts pick
# or build the native binary for this machine).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# node_modules is reused only when it was installed by this script from exactly these two files
# (a stamp of their contents; file times can lie after a checkout or npm --package-lock-only).
STAMP=node_modules/.imatch-install-stamp
want=$(cat package.json package-lock.json | cksum)
if [[ -f $STAMP && $(cat "$STAMP") == "$want" ]]; then
  echo "node_modules is up to date with package-lock.json"
  exit 0
fi

if npm ci --no-audit --no-fund; then
  echo "$want" >"$STAMP"
  exit 0
fi

echo "npm ci refused the lock file (see above); installing the locked versions with npm install"
saved=$(mktemp)
trap 'rm -f "$saved"' EXIT
cp package-lock.json "$saved"
npm install --no-audit --no-fund
rc=$?
cp "$saved" package-lock.json
[[ $rc -eq 0 ]] || exit "$rc"

# Every installed package must be the committed lock's version; nothing the lock requires for
# this machine may be missing.
node - "$saved" <<'EOF'
const { readFileSync } = require('node:fs');
const locked = JSON.parse(readFileSync(process.argv[2], 'utf8')).packages;
const installed = JSON.parse(readFileSync('node_modules/.package-lock.json', 'utf8')).packages;
const problems = [];
const extra = [];
for (const [path, entry] of Object.entries(installed)) {
  const pinned = locked[path];
  if (!pinned) {
    if (entry.optional) extra.push(`${path}@${entry.version}`);
    else problems.push(`${path}@${entry.version} is installed but not in package-lock.json`);
  } else if (pinned.version !== entry.version) {
    problems.push(`${path} is ${entry.version}, package-lock.json pins ${pinned.version}`);
  }
}
const os = process.platform;
const cpu = process.arch;
for (const [path, entry] of Object.entries(locked)) {
  if (path === '' || installed[path] || entry.optional) continue;
  if ((entry.os && !entry.os.includes(os)) || (entry.cpu && !entry.cpu.includes(cpu))) continue;
  problems.push(`${path}@${entry.version} is in package-lock.json but was not installed`);
}
if (extra.length > 0) console.log(`optional per-platform packages not in the lock (allowed): ${extra.join(', ')}`);
if (problems.length > 0) {
  console.error(`npm install did not install what package-lock.json pins:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('installed versions equal package-lock.json');
EOF
rc=$?
[[ $rc -eq 0 ]] && echo "$want" >"$STAMP"
exit "$rc"
