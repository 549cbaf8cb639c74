// Benchmark of the daily full build: wall time and peak RSS of `imatch build-index` on a BP
// snapshot, run as its own process (so its peak RSS is the build's alone).
//
//   node --import tsx bench/build-index.ts --snapshot DIR [--columns 4] [--out DIR]
//   node --import tsx bench/build-index.ts --gen-offers 1000000 --data DIR [--seed 1] ...
//
// With --gen-offers, the snapshot is first generated with `imatch gen` into --data (skipped when
// --data already holds a snapshot.json). Uses dist/bin/imatch.js when built, else tsx.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    snapshot: { type: 'string' },
    'gen-offers': { type: 'string' },
    data: { type: 'string' },
    seed: { type: 'string', default: '1' },
    columns: { type: 'string', default: '4' },
    out: { type: 'string' },
  },
});

// The repository root, whether this runs from bench/ (tsx) or dist/bench/ (compiled).
const root = resolve(
  import.meta.dirname,
  import.meta.dirname.endsWith(join('dist', 'bench')) ? '../..' : '..',
);
const dist = join(root, 'dist/bin/imatch.js');
const cli = existsSync(dist) ? [dist] : ['--import', 'tsx', join(root, 'bin/imatch.ts')];

function run(args: string[]): Promise<{ code: number | null; stdout: string; ms: number }> {
  return new Promise((done, fail) => {
    const started = performance.now();
    const child = spawn(process.execPath, [...cli, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', fail);
    child.on('exit', (code) => done({ code, stdout, ms: performance.now() - started }));
  });
}

let snapshot = values.snapshot;
if (snapshot === undefined) {
  if (values['gen-offers'] === undefined || values.data === undefined) {
    process.stderr.write('usage: bench/build-index.ts --snapshot DIR | --gen-offers N --data DIR\n');
    process.exit(2);
  }
  snapshot = resolve(values.data);
  if (!existsSync(join(snapshot, 'snapshot.json'))) {
    process.stderr.write(`generating ${values['gen-offers']} offers into ${snapshot} ...\n`);
    const gen = await run([
      'gen',
      '--out',
      snapshot,
      '--offers',
      values['gen-offers'],
      '--seed',
      values.seed,
      '--queries',
      '100000',
      '--changes',
      '100000',
      '--progress',
      'none',
      '--log-level',
      'warn',
    ]);
    if (gen.code !== 0) process.exit(gen.code ?? 1);
  }
}

const out = resolve(values.out ?? mkdtempSync(join(tmpdir(), 'imatch-bench-index-')));
const build = await run([
  'build-index',
  '--snapshot',
  snapshot,
  '--columns',
  values.columns,
  '--out',
  out,
  '--progress',
  'log',
  '--log-level',
  'warn',
]);
if (build.code !== 0) process.exit(build.code ?? 1);
const summary = JSON.parse(build.stdout.trim().split('\n').pop()!) as {
  dir: string;
  counts: {
    customers: number;
    offers: number;
    bidwords: number;
    negatives: number;
    dropped: Record<string, number>;
  };
  segments: { column: number; bytes: number; offers: number }[];
  durationMs: number;
  peakRssBytes: number;
  cpuUserUs: number;
  cpuSystemUs: number;
};
const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
process.stdout.write(
  [
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, ${mb(totalmem())} RAM, Node ${process.version}`,
    `snapshot: ${snapshot}`,
    `rows: ${summary.counts.customers} customers, ${summary.counts.offers} offers, ${summary.counts.bidwords} bidwords + ${summary.counts.negatives} negatives kept, dropped ${JSON.stringify(summary.counts.dropped)}`,
    `columns: ${summary.segments.map((s) => `${s.column}: ${s.offers} offers ${mb(s.bytes)}`).join(', ')}`,
    `build wall (process, incl. startup): ${(build.ms / 1000).toFixed(1)} s; build itself: ${(summary.durationMs / 1000).toFixed(1)} s; CPU user ${(summary.cpuUserUs / 1e6).toFixed(1)} s + system ${(summary.cpuSystemUs / 1e6).toFixed(1)} s (all threads); peak RSS ${mb(summary.peakRssBytes)}`,
    `machine load average (1/5/15 min) at the end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')}`,
    `version dir: ${summary.dir}`,
  ].join('\n') + '\n',
);
