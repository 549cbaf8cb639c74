// In-process benchmark of one column index: load time and heap of a column, then search latency
// p50/p99/max for 1-, 2- and 3-word queries, side by side in the same run with a plain flexsearch
// query (default Index, limit k) over the same titles: a yardstick only (the searcher's own title
// index is index/title-postings.ts since 2026-12-07; flexsearch is a dev dependency for this bench).
//
//   node --expose-gc --import tsx bench/search-inprocess.ts --version-dir DIR [--column 0]
//        [--queries 20000] [--k 10] [--seed 7] [--query-log queries.jsonl] [--changes changes.jsonl]
//
// Queries are sampled from the column itself (deterministic seed): half from bidword keywords
// (so bidword retrieval has work to do), half from title n-grams (which often fall back to text
// expansion), then grouped by token count; or taken from a query log (--query-log, repeats kept,
// as a real log has them). Every query runs through both engines, interleaved, so
// machine noise hits both alike. Timings are wall-clock per call (process.hrtime.bigint).
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Index as FlexIndex } from 'flexsearch';
import hdr from 'hdr-histogram-js';
import type { Change, ChangeMessage } from '../core/model.js';
import { normalize } from '../core/normalize.js';
import type { SearchRequest } from '../core/search-contract.js';
import { loadColumnIndex } from '../services/searcher/index/column-index.js';

const { values } = parseArgs({
  options: {
    'version-dir': { type: 'string' },
    column: { type: 'string', default: '0' },
    queries: { type: 'string', default: '20000' },
    k: { type: 'string', default: '10' },
    seed: { type: 'string', default: '7' },
    /** Take queries from this log (imatch gen's queries.jsonl) instead of sampling the column. */
    'query-log': { type: 'string' },
    /** A change stream (imatch gen's changes.jsonl) to time apply() with, after the searches. */
    changes: { type: 'string' },
  },
});
const versionDir = values['version-dir'];
if (versionDir === undefined) {
  process.stderr.write(
    'usage: bench/search-inprocess.ts --version-dir DIR [--column 0] [--queries N] [--k 10]\n',
  );
  process.exit(2);
}
const column = Number(values.column);
const queryCount = Number(values.queries);
const k = Number(values.k);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) process.stderr.write('note: run with --expose-gc for exact heap numbers\n');
const heap = () => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
};
const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;

// --- load ---
const heapBefore = heap();
let t = performance.now();
const cpu0 = process.cpuUsage();
const index = await loadColumnIndex(versionDir, column);
const loadMs = performance.now() - t;
const loadCpu = process.cpuUsage(cpu0);
const heapAfter = heap();
const stats = index.stats();
const rssAfterLoad = process.memoryUsage().rss;

// --- queries sampled from the column ---
let s = Number(values.seed) >>> 0;
const rand = () => {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  return s / 2 ** 32;
};
const dump = index.dump();
const keywords: string[] = [];
const titles: string[] = [];
for (const o of dump.offers) {
  titles.push(o.offer.title);
  for (const b of o.bidwords) if (!b.matchType.startsWith('negative')) keywords.push(b.keyword);
}
const byWords: string[][] = [[], [], []];
if (values['query-log'] !== undefined) {
  // A real query log (imatch gen's queries.jsonl: {"q": ...} per line), grouped by token count.
  for (const line of readFileSync(values['query-log'], 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const q = (JSON.parse(line) as { q: string }).q;
    const n = normalize(q).split(' ').length;
    if (n >= 1 && n <= 3 && byWords[n - 1]!.length < queryCount / 3) byWords[n - 1]!.push(q);
  }
}
let guard = values['query-log'] === undefined ? 0 : Number.POSITIVE_INFINITY;
while (byWords.some((list) => list.length < queryCount / 3) && guard++ < queryCount * 50) {
  let tokens: string[];
  if (rand() < 0.5) {
    tokens = normalize(keywords[Math.floor(rand() * keywords.length)]!).split(' ');
    if (rand() < 0.3) tokens.push(normalize(titles[Math.floor(rand() * titles.length)]!).split(' ')[0]!);
  } else {
    const all = normalize(titles[Math.floor(rand() * titles.length)]!).split(' ');
    const n = 1 + Math.floor(rand() * 3);
    const start = Math.floor(rand() * Math.max(1, all.length - n + 1));
    tokens = all.slice(start, start + n);
  }
  const n = tokens.length;
  if (n >= 1 && n <= 3 && byWords[n - 1]!.length < queryCount / 3) byWords[n - 1]!.push(tokens.join(' '));
}
// Free the dump before measuring.
dump.offers.length = 0;

// --- plain flexsearch over the same titles ---
const heapBeforeFlex = heap();
t = performance.now();
const plain = new FlexIndex();
for (const [i, title] of titles.entries()) plain.add(i, title);
const plainBuildMs = performance.now() - t;
const plainHeap = heap() - heapBeforeFlex;
titles.length = 0;
keywords.length = 0;

// --- latency ---
const histogram = () =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 10_000_000,
    numberOfSignificantValueDigits: 3,
  });
const results: {
  oursCpuUs: number;
  plainCpuUs: number;
  words: number;
  ours: hdr.Histogram;
  plain: hdr.Histogram;
  hits: number;
  text: number;
  n: number;
}[] = [];
let sink = 0;
for (let w = 1; w <= 3; w++) {
  const list = byWords[w - 1]!;
  const reqs: SearchRequest[] = list.map((query) => ({ query, k }));
  // warm-up
  for (let i = 0; i < Math.min(2000, reqs.length); i++) {
    sink += index.search(reqs[i]!).length;
    sink += (plain.search(list[i]!, { limit: k }) as unknown[]).length;
  }
  const ours = histogram();
  const flex = histogram();
  let hits = 0;
  let text = 0;
  for (let i = 0; i < reqs.length; i++) {
    const t0 = process.hrtime.bigint();
    const got = index.search(reqs[i]!);
    const t1 = process.hrtime.bigint();
    const plainGot = plain.search(list[i]!, { limit: k }) as unknown[];
    const t2 = process.hrtime.bigint();
    ours.recordValue(Number(t1 - t0) / 1000);
    flex.recordValue(Number(t2 - t1) / 1000);
    hits += got.length;
    if (got.some((h) => h.matchType === 'text')) text++;
    sink += plainGot.length;
  }
  // CPU per query, each engine in its own pass (less sensitive to other processes than wall time).
  let c0 = process.cpuUsage();
  for (const req of reqs) sink += index.search(req).length;
  const oursCpuUs = process.cpuUsage(c0).user / reqs.length;
  c0 = process.cpuUsage();
  for (const query of list) sink += (plain.search(query, { limit: k }) as unknown[]).length;
  const plainCpuUs = process.cpuUsage(c0).user / list.length;
  results.push({ words: w, ours, plain: flex, hits, text, n: reqs.length, oursCpuUs, plainCpuUs });
}

const us = (h: hdr.Histogram, p: number) => h.getValueAtPercentile(p).toFixed(0);
const lines = [
  `column ${column} of ${versionDir}: ${stats.offers} offers, ${stats.bidwords} bidwords, ${stats.negatives} negatives, ${stats.customers} customers`,
  `load: ${(loadMs / 1000).toFixed(2)} s wall (CPU user ${(loadCpu.user / 1e6).toFixed(2)} s + system ${(loadCpu.system / 1e6).toFixed(2)} s, all threads incl. GC helpers), heap +${mb(heapAfter - heapBefore)} (process rss ${mb(rssAfterLoad)})`,
  `machine load average (1/5/15 min): ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' / ')}`,
  `plain flexsearch over the same titles: built in ${(plainBuildMs / 1000).toFixed(2)} s, heap +${mb(plainHeap)}`,
  '',
  `| words | queries | index p50 us | index p99 us | index max us | index avg CPU us | avg hits (k=${k}) | with text hits | plain flexsearch p50 us | p99 us | max us | avg CPU us |`,
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.words} | ${r.n} | ${us(r.ours, 50)} | ${us(r.ours, 99)} | ${r.ours.maxValue.toFixed(0)} | ${r.oursCpuUs.toFixed(0)} | ${(r.hits / r.n).toFixed(1)} | ${((100 * r.text) / r.n).toFixed(0)}% | ${us(r.plain, 50)} | ${us(r.plain, 99)} | ${r.plain.maxValue.toFixed(0)} | ${r.plainCpuUs.toFixed(0)} |`,
  ),
];
if (values.changes !== undefined) {
  const changes = readFileSync(values.changes, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(
      (l, i) =>
        ({ ...(JSON.parse(l) as Change), id: index.watermark + 1 + i, acceptedAt: '' }) as ChangeMessage,
    );
  const applyHist = histogram();
  let taken = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const m of changes) {
    const a = process.hrtime.bigint();
    if (index.apply(m)) taken++;
    applyHist.recordValue(Math.max(1, Number(process.hrtime.bigint() - a) / 1000));
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  lines.push(
    '',
    `apply: ${changes.length} change messages (${taken} taken by this column) in ${ms.toFixed(0)} ms ` +
      `(CPU ${(cpu.user / 1000).toFixed(0)} ms) = ${Math.round(changes.length / (ms / 1000))} msg/s; ` +
      `per message p50 ${us(applyHist, 50)} us, p99 ${us(applyHist, 99)} us, max ${applyHist.maxValue.toFixed(0)} us`,
  );
}
process.stdout.write(`${lines.join('\n')}\n`);
if (sink < 0) process.stdout.write('unreachable\n');
