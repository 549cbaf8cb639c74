#!/usr/bin/env bash
# The one test command (`npm test`; .ci/run calls it). From a fresh clone it installs what the
# tests need from this repository's own files (Java 17 and Maven when missing and apt-get can,
# npm packages from package-lock.json, the ZooKeeper and Kafka jars from Maven Central, cached),
# then builds, type-checks, lints, runs the unit tests, the integration tests (which start a
# real ZooKeeper and a real Kafka, see test/global-setup.ts) and the fault suite (test/chaos/).
#
# Every step runs even when an earlier check failed (except after a failed install or build), so
# one run shows every problem. Exit status 0 only when every step passed. The last line is
# "tests: N passed, M failed". No process started by this run outlives it: every child inherits
# IMATCH_TEST_RUN_ID, and whatever still carries it at the end is stopped.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RUN_ID="imatch-test-$$-$(date +%s)"
export IMATCH_TEST_RUN_ID="$RUN_ID"
REPORTS="$(mktemp -d "${TMPDIR:-/tmp}/imatch-test.XXXXXX")"
STARTED=$(date +%s)
STEPS=()
FAILED=0
PASSED_TESTS=0
FAILED_TESTS=0

say() { printf '\n==> %s\n' "$*"; }

# step NAME COMMAND...: runs one step and records how it went.
step() {
  local name=$1 t rc
  shift
  say "$name: $*"
  t=$(date +%s)
  # In the background and waited for: bash runs a signal trap only after its foreground command
  # ends, so a SIGTERM to this script would wait for a whole test suite (and the servers it
  # started) to finish; `wait` returns at once, and the EXIT trap stops everything this run began.
  "$@" &
  wait $!
  rc=$?
  if [[ $rc -eq 0 ]]; then
    STEPS+=("$name ok ($(($(date +%s) - t))s)")
  else
    STEPS+=("$name FAILED (exit $rc)")
    FAILED=1
  fi
  return $rc
}

# PIDs of live processes started by this run (they inherit IMATCH_TEST_RUN_ID), this shell
# excluded. Bash builtins only: no helper process of its own can match.
run_pids() {
  local d pid kv
  for d in /proc/[0-9]*; do
    pid=${d#/proc/}
    [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
    while IFS= read -r -d '' kv; do
      if [[ $kv == "IMATCH_TEST_RUN_ID=$RUN_ID" ]]; then
        echo "$pid"
        break
      fi
    done 2>/dev/null <"$d/environ"
  done
}

# Stops whatever this run left behind: SIGTERM, then SIGKILL after 10 s.
stop_leftovers() {
  local pids p i
  pids=$(run_pids)
  [[ -z $pids ]] && return 0
  echo "test.sh: stopping processes this run left behind:"
  for p in $pids; do echo "  $p $(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | cut -c1-150)"; done
  kill -TERM $pids 2>/dev/null
  for i in $(seq 1 100); do
    pids=$(run_pids)
    [[ -z $pids ]] && return 0
    sleep 0.1
  done
  kill -KILL $pids 2>/dev/null
  return 0
}

on_exit() {
  stop_leftovers
  rm -rf "$REPORTS"
}
trap on_exit EXIT
trap 'echo "test.sh: interrupted"; exit 130' INT TERM

# Adds a vitest JSON report's counts to the totals. A test file that failed without a failed test
# (a failing beforeAll, an import error) counts as one failure.
count_tests() {
  local file=$1 counts
  [[ -s $file ]] || return 0
  counts=$(node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const broken = r.testResults.filter((f) => f.status === "failed" &&
      !f.assertionResults.some((a) => a.status === "failed")).length;
    console.log(r.numPassedTests, r.numFailedTests + broken);' "$file") || return 0
  PASSED_TESTS=$((PASSED_TESTS + ${counts% *}))
  FAILED_TESTS=$((FAILED_TESTS + ${counts#* }))
}

summary() {
  local joined
  joined=$(printf '%s, ' "${STEPS[@]}")
  echo
  echo "test.sh: ${joined%, }; $(($(date +%s) - STARTED)) s in all"
  if [[ $PASSED_TESTS -eq 0 && $FAILED_TESTS -eq 0 && $FAILED -ne 0 ]]; then FAILED_TESTS=1; fi
  echo "tests: $PASSED_TESTS passed, $FAILED_TESTS failed"
}

finish() {
  stop_leftovers
  summary
  exit $FAILED
}

ensure_tools() {
  local missing=()
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
      echo "installing ${missing[*]} with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" || return 1
    else
      echo "missing: ${missing[*]} (Java 17 and Maven are needed to run ZooKeeper and Kafka); install them and run again" >&2
      return 1
    fi
  fi
  bash scripts/ensure-chromium.sh || return 1
  java -version 2>&1 | sed -n 1p
  mvn -B -v 2>/dev/null | sed -n 1p
}

# scripts/install-deps.sh says why it is not a bare `npm ci`.
npm_install() {
  bash scripts/install-deps.sh
}

vitest_project() {
  local project=$1
  npx vitest run --project "$project" --reporter=default --reporter=json --outputFile.json="$REPORTS/$project.json"
}

LOCK_BEFORE=$(cksum <package-lock.json)
# The run must leave package-lock.json exactly as committed (a fresh clone stays clean).
lock_unchanged() {
  if [[ $(cksum <package-lock.json) != "$LOCK_BEFORE" ]]; then
    echo "package-lock.json changed during the run" >&2
    return 1
  fi
}

step tools ensure_tools || finish
step install npm_install || finish
step build npm run --silent build || finish
step fetch node dist/bin/imatch.js infra fetch
FETCH_OK=$?
step typecheck npx tsc --noEmit -p .
step lint npx biome check .
step unit vitest_project unit
count_tests "$REPORTS/unit.json"
if [[ $FETCH_OK -eq 0 ]]; then
  step integration vitest_project integration
  count_tests "$REPORTS/integration.json"
else
  STEPS+=("integration SKIPPED (no server jars)")
fi
# The fault suite (test/chaos/, vitest.chaos.config.ts): its own step, after the integration
# tests, since it builds a network of namespaces (root only) and runs a 3-node cluster.
chaos_suite() {
  bash scripts/ensure-netns-tools.sh &&
    npx vitest run --config vitest.chaos.config.ts --reporter=default --reporter=json --outputFile.json="$REPORTS/chaos.json"
}
if [[ $FETCH_OK -eq 0 ]]; then
  step chaos chaos_suite
  count_tests "$REPORTS/chaos.json"
else
  STEPS+=("chaos SKIPPED (no server jars)")
fi
step lockfile lock_unchanged
finish
