// The searcher's own latency target, in process: every query of the generated query log (with its
// region and category) against one loaded column, at k = 11 (the blender's n + 1 through the
// merger) and k = 100 (the merger's deeper round). Prints p50/p99/max per k and the slowest
// queries, so a tail can be traced to its query. Target (issue 11): p99 <= 2 ms at k = 11 and
// <= 5 ms at k = 100 over 500k-offer columns; no query holds the event loop for more than 5 ms.
//
//   npm run build && node dist/bench/search-tail.js --version-dir DIR --query-log queries.jsonl
//        [--column 0] [--queries 20000] [--rounds 2] [--budget-compare] [--form lines|json]
// --form: the answer form built after the walk, `lines` (default: what the merger asks for,
// core/hit-lines.ts) or `json` (the public form; the figures in BENCHMARKS.md before 2026-12-07).
// The first round warms the JIT and is not counted. Timings are wall-clock per call; each call
// is also given the GC pauses (PerformanceObserver 'gc' entries) that fell inside it, so a slow
// call is told apart from a scavenge that landed in a fast one ("own" = wall-clock minus GC).
// --budget-compare measures again, in the same process, after every offline customer of the
// version is re-applied unchanged (the control), then again after each is made offline for
// budget (billing's upsert with offlineReason budget, applied as a change): the cost of matching
// their ads aside (SearchResponse.lostToBudget) next to without.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { SearchRequest } from '../core/search-contract.js';
import { loadColumnIndex } from '../services/searcher/index/column-index.js';

const { values: args } = parseArgs({
  options: {
    'version-dir': { type: 'string' },
    'query-log': { type: 'string' },
    column: { type: 'string', default: '0' },
    queries: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '2' },
    'budget-compare': { type: 'boolean', default: false },
    form: { type: 'string', default: 'lines' },
  },
});
if (args['version-dir'] === undefined || args['query-log'] === undefined)
  throw new Error('usage: search-tail --version-dir DIR --query-log FILE [--column 0]');

const loadBefore = loadavg().map((l) => l.toFixed(1));
const t0 = performance.now();
const index = await loadColumnIndex(args['version-dir'], Number(args.column));
const loadMs = performance.now() - t0;
const stats = index.stats();
const queries: Omit<SearchRequest, 'k'>[] = [];
for (const line of readFileSync(args['query-log'], 'utf8').split('\n')) {
  if (line.trim() === '') continue;
  const q = JSON.parse(line) as { q: string; region?: string; category?: string };
  const req: Omit<SearchRequest, 'k'> = { query: q.q };
  if (q.region !== undefined) req.region = q.region;
  if (q.category !== undefined) req.category = q.category;
  queries.push(req);
  if (queries.length >= Number(args.queries)) break;
}

const rounds = Math.max(2, Number(args.rounds));
if (args.form !== 'lines' && args.form !== 'json') throw new Error('--form is lines or json');
const search = args.form === 'lines' ? index.searchLines.bind(index) : index.searchJson.bind(index);

/** GC pauses as [start, end] (performance.now() ms), in the order they happened. */
const gcPauses: [number, number][] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcPauses.push([e.startTime, e.startTime + e.duration]);
}).observe({ entryTypes: ['gc'] });

interface Timed {
  ms: number;
  /** GC pause time inside the call (ms). */
  gcMs: number;
  started: number;
  req: Omit<SearchRequest, 'k'>;
}

/** Sets each call's gcMs from the pauses overlapping it (both lists in time order). */
function attributeGc(times: Timed[]): void {
  let g = 0;
  for (const t of times) {
    const end = t.started + t.ms;
    while (g < gcPauses.length && gcPauses[g]![1] <= t.started) g++;
    for (let i = g; i < gcPauses.length && gcPauses[i]![0] < end; i++)
      t.gcMs += Math.min(end, gcPauses[i]![1]) - Math.max(t.started, gcPauses[i]![0]);
  }
}

async function measure(label: string): Promise<void> {
  for (const k of [11, 100]) {
    let times: Timed[] = [];
    let withLost = 0;
    let lostAds = 0;
    // The observer delivers entries only when the event loop turns (after the rounds below), so
    // this drops the previous k's; attributeGc matches the rest to the last round by time.
    gcPauses.length = 0;
    for (let round = 0; round < rounds; round++) {
      times = [];
      withLost = 0;
      lostAds = 0;
      for (const req of queries) {
        const started = performance.now();
        const { lostJson } = search({ ...req, k });
        times.push({ ms: performance.now() - started, gcMs: 0, started, req });
        if (lostJson !== '') {
          withLost++;
          lostAds += (JSON.parse(lostJson) as unknown[]).length;
        }
      }
    }
    // Let the observer deliver the rounds' entries.
    await new Promise((resolve) => setTimeout(resolve, 50));
    attributeGc(times);
    const total = times.reduce((sum, t) => sum + t.ms, 0);
    times.sort((a, b) => a.ms - b.ms);
    const at = (p: number) => times[Math.min(times.length - 1, Math.floor(times.length * p))]!.ms.toFixed(3);
    const over5 = times.filter((t) => t.ms > 5);
    const ownOver5 = times.filter((t) => t.ms - t.gcMs > 5).length;
    const slowestOwn = times.reduce((a, t) => (t.ms - t.gcMs > a.ms - a.gcMs ? t : a));
    const maxOwn = slowestOwn.ms - slowestOwn.gcMs;
    console.log(
      `${label} k=${k} (${args.form}): ${times.length} queries, mean ${((total / times.length) * 1000).toFixed(1)} us, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, p99.9 ${at(0.999)} ms, max ${times.at(-1)!.ms.toFixed(3)} ms, over 5 ms: ${over5.length} (${over5.filter((t) => t.gcMs > 0).length} with a GC pause inside; over 5 ms without the GC: ${ownOver5}, longest ${maxOwn.toFixed(3)} ms); ${withLost} answers with ${lostAds} ads lost to budget`,
    );
    for (const t of times.slice(-5).reverse())
      console.log(`   ${t.ms.toFixed(2)} ms (GC ${t.gcMs.toFixed(2)} ms)  ${JSON.stringify(t.req)}`);
    console.log(`   longest without the GC: ${maxOwn.toFixed(2)} ms  ${JSON.stringify(slowestOwn.req)}`);
  }
}

await measure(args['budget-compare'] ? 'as built:' : '');
if (args['budget-compare']) {
  // The control re-applies the same customers unchanged through the same change path, so the
  // comparison isolates the lost-to-budget matching from the cost of applied changes.
  let id = index.appliedId;
  const offline = index.dump().customers.filter((c) => c.status === 'offline');
  const applyAll = (budget: boolean) => {
    for (const c of offline)
      index.apply({
        id: ++id,
        acceptedAt: new Date().toISOString(),
        entity: 'customer',
        op: 'upsert',
        data: budget ? { ...c, offlineReason: 'budget' } : c,
      });
  };
  applyAll(false);
  console.log(`${offline.length} offline customers re-applied unchanged`);
  await measure('re-applied (control):');
  applyAll(true);
  console.log(`${offline.length} offline customers made offline for budget`);
  await measure('offline for budget:');
}
console.log(
  `column ${args.column}: ${stats.offers} offers, ${stats.bidwords} bidwords, loaded in ${(loadMs / 1000).toFixed(1)} s; ` +
    `load average before ${loadBefore.join(' ')}, after ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${new Date().toISOString()}`,
);
