#!/usr/bin/env bash
# Benchmark of `imatch gen`: wall time, CPU time and peak RSS (GNU time -v) of one run, the
# generator's own summary (counts, bytes per file, sha256 per file), and with --verify a second
# run with the same seed whose files are compared byte for byte (sha256sum). Prints a Markdown
# fragment for BENCHMARKS.md on stdout; the raw outputs stay next to the data.
#
# Usage: bench/gen-bench.sh [--offers N] [--seed S] [--out DIR] [--verify] [--keep]
# Default: 1,000,000 offers (about 5M bidwords, 960 MB) into a temp folder, removed afterwards
# unless --keep. Runs one generator at a time; it uses one core.
set -euo pipefail

OFFERS=1000000
SEED=bench
OUT=""
VERIFY=0
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --offers) OFFERS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --verify) VERIFY=1; shift ;;
    --keep) KEEP=1; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
[ -n "$OUT" ] || OUT=$(mktemp -d "${TMPDIR:-/tmp}/imatch-gen-bench.XXXXXX")
mkdir -p "$OUT"
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "GNU time (/usr/bin/time) is needed: apt-get install time" >&2; exit 1; }

npm run --silent build >&2

run() { # $1 = output folder
  "$TIME" -v node bin/imatch.js gen --out "$1" --offers "$OFFERS" --seed "$SEED" --progress log \
    >"$1.summary.json" 2>"$1.stderr"
}
field() { # $1 = label in time -v output, $2 = stderr file
  grep -F "$1" "$2" | sed 's/.*: //'
}

echo "gen-bench: generating $OFFERS offers into $OUT/run1 ..." >&2
run "$OUT/run1"

summary="$OUT/run1.summary.json"
node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const c = s.counts;
const mb = (b) => (b / 1e6).toFixed(1);
console.log(`- Data: ${c.customers.toLocaleString("en")} customers, ${c.offers.toLocaleString("en")} offers, ` +
  `${c.bidwords.toLocaleString("en")} bidwords (${c.negativeBidwords.toLocaleString("en")} negative), ` +
  `${c.queries.toLocaleString("en")} query lines (${c.queryRanks.toLocaleString("en")} popularity ranks), ` +
  `${c.changes.toLocaleString("en")} change lines; ${mb(s.totalBytes)} MB in total.`);
console.log("");
console.log("| file | rows | MB | sha256 (first 16) |");
console.log("| --- | ---: | ---: | --- |");
for (const [name, f] of Object.entries(s.files))
  console.log(`| ${name} | ${f.rows.toLocaleString("en")} | ${mb(f.bytes)} | ${f.sha256.slice(0, 16)} |`);
console.log("");
console.log(`- Generator summary: ${s.seconds} s from plan to last file closed, peak RSS ${s.maxRssMb} MB (process.resourceUsage).`);
' "$summary"

err="$OUT/run1.stderr"
echo "- GNU time: wall $(field 'Elapsed (wall clock)' "$err"), user $(field 'User time' "$err") s," \
  "sys $(field 'System time' "$err") s, CPU $(field 'Percent of CPU' "$err")," \
  "max RSS $(( $(field 'Maximum resident set size' "$err") / 1024 )) MB."

if [ "$VERIFY" = 1 ]; then
  echo "gen-bench: second run with the same seed into $OUT/run2 ..." >&2
  run "$OUT/run2"
  (cd "$OUT/run1" && sha256sum -- *) >"$OUT/run1.sha256"
  (cd "$OUT/run2" && sha256sum -- *) >"$OUT/run2.sha256"
  err2="$OUT/run2.stderr"
  if cmp -s "$OUT/run1.sha256" "$OUT/run2.sha256"; then
    echo "- Determinism: a second run with the same seed (wall $(field 'Elapsed (wall clock)' "$err2")," \
      "max RSS $(( $(field 'Maximum resident set size' "$err2") / 1024 )) MB) wrote byte-identical files:" \
      "sha256sum of all $(wc -l <"$OUT/run1.sha256") files equal."
  else
    echo "- Determinism: FAILED, files differ between two runs with the same seed:"
    diff "$OUT/run1.sha256" "$OUT/run2.sha256" | sed 's/^/    /'
    status=1
  fi
fi

echo "- Command: \`bench/gen-bench.sh --offers $OFFERS --seed $SEED$([ "$VERIFY" = 1 ] && echo ' --verify')\`" \
  "(runs \`node bin/imatch.js gen --out DIR --offers $OFFERS --seed $SEED\` under \`/usr/bin/time -v\`;" \
  "default --queries 100000 --changes 100000)."
echo "- Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')), $(free -g | awk '/Mem:/ {print $2}') GB," \
  "Node $(node --version), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); date $(date -u +%Y-%m-%d)."

if [ "$KEEP" = 0 ]; then rm -rf "$OUT/run1" "$OUT/run2"; fi
exit "${status:-0}"
