#!/usr/bin/env bash
# Makes sure Debian's chromium is installed for the dashboard's browser test
# (test/reports-dashboard.test.ts drives it headless through playwright-core). Idempotent: does
# nothing when /usr/bin/chromium exists; otherwise installs the `chromium` package with apt-get
# (root only). Playwright's own browser download is never used: it fetches a build from outside
# the package registries.
set -uo pipefail

if [[ -x /usr/bin/chromium ]]; then
  /usr/bin/chromium --version 2>/dev/null || echo "chromium: /usr/bin/chromium"
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
  echo "installing chromium with apt-get (for the dashboard browser test)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core || exit 1
  /usr/bin/chromium --version
  exit 0
fi
echo "missing: chromium (the dashboard browser test needs /usr/bin/chromium); install Debian's chromium package and run again" >&2
exit 1
