#!/usr/bin/env bash
# Rebuilds BENCHMARKS.md: the summary (bench/BENCHMARKS-summary.md) followed by each area's
# detailed results (bench/**/BENCHMARKS-*.md, written next to the benchmark scripts), each file's
# headings shifted so its top heading is a level-2 section (code blocks left untouched).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
{
  cat bench/BENCHMARKS-summary.md
  for f in bench/gen/BENCHMARKS-gen.md bench/BENCHMARKS-index.md bench/BENCHMARKS-searcher.md \
    bench/BENCHMARKS-query.md bench/BENCHMARKS-incremental.md bench/BENCHMARKS-click.md; do
    [[ -f $f ]] || continue
    printf '\n---\n\n<!-- from %s -->\n\n' "$f"
    python3 - "$f" <<'PY'
import re, sys
lines = open(sys.argv[1], encoding='utf-8').read().splitlines()
fence = False
levels = []
for l in lines:
    if l.startswith('```'):
        fence = not fence
    elif not fence and (m := re.match(r'^(#+) ', l)):
        levels.append(len(m.group(1)))
shift = 2 - min(levels) if levels else 0
fence = False
out = []
for l in lines:
    if l.startswith('```'):
        fence = not fence
    elif not fence:
        m = re.match(r'^(#+) (.*)$', l)
        if m:
            title = re.sub(r'\s*\(for the lead to merge into BENCHMARKS\.md\)', '', m.group(2), flags=re.I)
            l = '#' * (len(m.group(1)) + shift) + ' ' + title
        l = re.sub(r'^\(For the lead to merge into BENCHMARKS\.md\.\)\s*', '', l)
    out.append(l)
print('\n'.join(out))
PY
  done
} > BENCHMARKS.md
