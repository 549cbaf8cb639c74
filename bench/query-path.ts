// End-to-end benchmark of the query path: blender -> merger -> N searcher columns (one replica
// each) over an `imatch gen` data set, side by side in the same run with the bare chain
// (bench/bare-chain: same shape, fastify + undici, trivial handlers). For each chain: a closed-loop
// concurrency ramp finds peak throughput, then an open-loop run at half of that peak measures
// p50/p99 (latency from each request's due time). Target (DESIGN.md): real peak >= 60% of the
// bare peak, p99 < 15 ms at half of peak.
//
//   npm run bench:query-path -- [--offers 200000]  (= npm run build && node dist/bench/query-path.js) [--data .imatch/bench/bp-1m]
//     [--columns 2] [--n 10] [--step-ms 8000] [--steps 4,8,16,32,64,128] [--cpu-prof DIR] [--idle-ms 5000]
//     [--zk host:port --kafka host:port [--infra-pids zookeeper=PID,kafka=PID]] [--json results.json] [--reuse-index]
//     [--searcher-node-flags="FLAGS"] (Node/V8 flags of the iMatch searchers; default core/node-flags.ts
//     SEARCHER_NODE_FLAGS, what `imatch start` uses; --searcher-node-flags= for none)
//     [--front-node-flags="FLAGS"] (the same for the merger and the blender; default FRONT_NODE_FLAGS)
//     [--baseline DIR] (another build's dist folder, e.g. of the previous commit: its chain runs
//     beside this one, under its own ZooKeeper root, and its ramp is interleaved with the others)
//     [--baseline-searcher-node-flags="FLAGS"] [--baseline-front-node-flags="FLAGS"] (the baseline
//     chain's node flags, default the same as this chain's: with --baseline set to this build's own
//     dist folder, a before/after of node flags) [--baseline-first] (start the baseline chain's
//     processes before this one's) [--pretouch-gb N] (first write N GB of memory once, in a child
//     process, capped at the free memory less 2 GB: on a freshly booted VM, do it, see pretouch())
//     [--blenders N] (N blender processes on their own ports, the generator's connections spread
//     over them as a load balancer would; default 1; the stage table and GC lines read the first)
//     [--perf-sched SECONDS [--perf-sched-c 32]] (Linux perf, root: records the scheduler for
//     SECONDS in each chain's step at concurrency 32 (a ramp that stops early never reaches the
//     last step) and reports how long the CPUs sat idle, how much of that with a task runnable on
//     the other CPU, and which process ran on the other CPU meanwhile: bench/sched-overlap.ts)
//     [--overload-ms 10000 --recover-ms 5000] [--no-overload-preconnect] (the overload run: its
//     2x phase, the half-of-peak phase after it, and whether the generator opens its 128
//     connections before it starts, by default it does; the report gives the 2x phase's server-side stages, this
//     generator's event-loop delay and the blender's admission limit every 500 ms)
//     [--overload-timeline FILE] (the overload run's requests as JSON, one [due ms, latency ms,
//     status, send lag ms] each, due times from the start of the 2x phase)
// --baseline is the before/after comparison inside one run: this VM's speed drifts by tens of
// percent between runs minutes apart, which hid changes of 10-30% in alternating runs.
// --reuse-index publishes the newest version already built in <data>/index-<columns> instead of
// building again (the build has its own benchmark).
// Without --zk/--kafka it starts its own ZooKeeper and Kafka (infra/servers.ts) in a temp folder
// and stops them at the end. The data set and index are reused when --data already holds them.
// Every process it starts is stopped at the end by PID (never by name).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { request } from 'undici';
import { listVersions, readManifest } from '../core/index-manifest.js';
import { createKafka, ensureTopics } from '../core/kafka.js';
import { FRONT_NODE_FLAGS, SEARCHER_NODE_FLAGS } from '../core/node-flags.js';
import { connectZk } from '../core/zookeeper.js';
import { publishPointer } from '../index-builder/publish.js';
import { downServers, upServers } from '../infra/servers.js';
import { startBareChain } from './bare-chain/chain.js';
import { type LoadOptions, type LoadResult, p99ByWindow, runLoad, type TimelineEntry } from './http-load.js';
import { ageSecondsOf, cpuMsOf } from './proc-cpu.js';
import { parseTimehist, type SchedOverlap, schedOverlap } from './sched-overlap.js';

const execFileP = promisify(execFile);

const CLI = fileURLToPath(new URL('../bin/imatch.js', import.meta.url));

const { values: args } = parseArgs({
  options: {
    offers: { type: 'string', default: '200000' },
    data: { type: 'string' },
    columns: { type: 'string', default: '2' },
    n: { type: 'string', default: '10' },
    'step-ms': { type: 'string', default: '8000' },
    'warmup-ms': { type: 'string', default: '2000' },
    'idle-ms': { type: 'string', default: '5000' },
    'baseline-first': { type: 'boolean', default: false },
    'pretouch-gb': { type: 'string', default: '0' },
    steps: { type: 'string', default: '4,8,16,32,64,128' },
    'half-ms': { type: 'string', default: '15000' },
    'cpu-prof': { type: 'string' },
    zk: { type: 'string' },
    kafka: { type: 'string' },
    json: { type: 'string' },
    /** Writes the overload phase's per-request timeline here (JSON: [due ms, latency ms, status, send lag ms]). */
    'overload-timeline': { type: 'string' },
    'only-real': { type: 'boolean', default: false },
    'reuse-index': { type: 'boolean', default: false },
    'infra-pids': { type: 'string' },
    'searcher-node-flags': { type: 'string' },
    'front-node-flags': { type: 'string' },
    'overload-ms': { type: 'string', default: '10000' },
    'recover-ms': { type: 'string', default: '5000' },
    'overload-preconnect': { type: 'boolean', default: true },
    baseline: { type: 'string' },
    'perf-sched': { type: 'string' },
    blenders: { type: 'string', default: '1' },
    'perf-sched-c': { type: 'string', default: '32' },
    'baseline-searcher-node-flags': { type: 'string' },
    'baseline-front-node-flags': { type: 'string' },
  },
  allowNegative: true,
});

const offers = Number(args.offers);
const columns = Number(args.columns);
const n = Number(args.n);
const stepMs = Number(args['step-ms']);
const warmupMs = Number(args['warmup-ms']);
/** How long the processes' CPU with no query at all is measured, after the warm-up (ms). */
const idleMs = Number(args['idle-ms']);
const halfMs = Number(args['half-ms']);
const overloadMs = Number(args['overload-ms']);
const recoverMs = Number(args['recover-ms']);
/**
 * The overload's generator opens all its 128 connections before it starts, as a front end's pool
 * to the engine would be open. With --no-overload-preconnect the jump to 2x also opens the
 * connections it needs then (tens at once), as the runs before 2026-12-07 22:00 did: the requests
 * on those new connections waited 300-500 ms, which set the 2x phase's p99 through its first
 * 250 ms window (186-371 ms; 87 ms with the pool open: BENCHMARKS.md, "Late evening of
 * 2026-12-07").
 */
const preconnect = args['overload-preconnect'];
/** Half of peak on the overload run's connections before the jump to 2x (see the overload phase). */
const OVERLOAD_WARMUP_MS = 2_000;
const steps = args.steps.split(',').map(Number);
const dataDir = resolve(args.data ?? `.imatch/bench/bp-${offers}`);
const cpuProfDir = args['cpu-prof'] === undefined ? undefined : resolve(args['cpu-prof']);
const blenders = Number(args.blenders);
const perfSchedAt = Number(args['perf-sched-c']);
const perfSchedSeconds = args['perf-sched'] === undefined ? undefined : Number(args['perf-sched']);

function say(line: string): void {
  process.stderr.write(`[query-path] ${line}\n`);
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const a = srv.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      srv.close(() => ok(port));
    });
  });
}

interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
}

const started: Proc[] = [];

function run(name: string, cliArgs: string[], nodeArgs: string[] = [], cli = CLI): Proc {
  const child = spawn(process.execPath, [...nodeArgs, cli, ...cliArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (c: Buffer) => {
    out = (out + c.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const proc = { name, child, output: () => out };
  started.push(proc);
  return proc;
}

async function runToEnd(name: string, cliArgs: string[]): Promise<string> {
  const p = run(name, cliArgs);
  const code = await new Promise<number | null>((ok) => p.child.once('exit', ok));
  if (code !== 0) throw new Error(`${name} failed (${code}):\n${p.output().slice(-4000)}`);
  return p.output();
}

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const gone = new Promise<void>((ok) => p.child.once('exit', () => ok()));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
  await gone;
  clearTimeout(timer);
}

async function waitReady(name: string, url: string, proc: Proc, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${name} exited:\n${proc.output().slice(-4000)}`);
    try {
      const res = await request(`${url}/readyz`);
      last = await res.body.text();
      if (res.statusCode === 200) return;
    } catch (err) {
      last = String(err);
    }
    await sleep(200);
  }
  throw new Error(`${name} not ready after ${timeoutMs} ms: ${last}\n${proc.output().slice(-4000)}`);
}

async function ensureSnapshot(): Promise<void> {
  if (existsSync(join(dataDir, 'snapshot.json')) && existsSync(join(dataDir, 'queries.jsonl'))) {
    say(`reusing data set ${dataDir}`);
    return;
  }
  say(`generating ${offers} offers into ${dataDir}`);
  const t = Date.now();
  await mkdir(dataDir, { recursive: true });
  await runToEnd('gen', [
    'gen',
    '--out',
    dataDir,
    '--offers',
    String(offers),
    '--queries',
    '50000',
    '--changes',
    '0',
    '--progress',
    'log',
  ]);
  say(`generated in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

async function queryPaths(): Promise<string[]> {
  const text = await readFile(join(dataDir, 'queries.jsonl'), 'utf8');
  const paths: string[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const q = JSON.parse(line) as { q: string; region?: string; category?: string };
    let p = `/v1/ads?q=${encodeURIComponent(q.q)}&n=${n}`;
    if (q.region !== undefined) p += `&region=${q.region}`;
    if (q.category !== undefined) p += `&category=${encodeURIComponent(q.category)}`;
    paths.push(p);
    if (paths.length >= 20_000) break;
  }
  return paths;
}

interface Chain {
  name: string;
  /** Its front: one origin, or several (--blenders). */
  url: string | readonly string[];
  /** Processes whose CPU time is this chain's cost (services, and the servers they write to). */
  procs: { name: string; pid: number }[];
}

interface Measured {
  result: LoadResult;
  /** CPU microseconds per answered request, by process, plus the load generator and the total. */
  cpu: { byProcess: Record<string, number>; total: number };
  /**
   * This load generator's own event-loop delay over the measured window (ms): while its loop is
   * held (its GC, the machine), requests leave late and count as latency from their due time,
   * then leave together as a burst. A large max here makes a tail the generator's, not the engine's.
   */
  generatorDelayMs: { p99: number; max: number };
  /** With --perf-sched, at --perf-sched-c's concurrency: the scheduler over a few seconds of the step. */
  sched?: SchedOverlap | { error: string };
}

interface ChainRun {
  name: string;
  ramp: Measured[];
  peak: Measured;
  half?: Measured;
}

/** One load run, with each process's CPU time over the measured part divided by the answers. */
/**
 * The windows of a timeline with a refused or failed request or a p99 of the 200s over `overMs`:
 * "from ms: 200s, refused, p99 ms, the generator's longest send lag ms" each. A slow window whose
 * send lag is as long as its p99 was the generator's stall, not the engine's.
 */
function slowWindows(timeline: readonly TimelineEntry[], windowMs: number, overMs: number): string[] {
  const lagMax = new Map<number, number>();
  for (const [due, , , lag] of timeline) {
    const w = Math.floor(due / windowMs) * windowMs;
    lagMax.set(w, Math.max(lagMax.get(w) ?? 0, lag));
  }
  return p99ByWindow(timeline, windowMs)
    .filter((w) => w.refused > 0 || w.p99Ms > overMs)
    .map(
      (w) =>
        `${w.fromMs} ms: ${w.ok}, ${w.refused}, ${w.p99Ms.toFixed(1)}, lag ${(lagMax.get(w.fromMs) ?? 0).toFixed(1)}`,
    );
}

async function measured(chain: Chain, options: LoadOptions, schedSeconds?: number): Promise<Measured> {
  let before: number[] = [];
  let loadBefore = process.cpuUsage();
  const delay = monitorEventLoopDelay({ resolution: 5 });
  let sched: Promise<SchedOverlap | { error: string }> | undefined;
  const result = await runLoad({
    ...options,
    onMeasureStart: () => {
      options.onMeasureStart?.();
      before = chain.procs.map((p) => cpuMsOf(p.pid));
      loadBefore = process.cpuUsage();
      delay.enable();
      if (schedSeconds !== undefined) {
        // Inside this step only: a recording that ran on into the next chain's step would charge
        // that chain's processes to this one.
        const afterMs = Math.min(2000, options.durationMs / 4);
        sched = recordSched(Math.min(schedSeconds, (options.durationMs - afterMs) / 1000), afterMs);
      }
    },
  });
  delay.disable();
  const generatorDelayMs = {
    p99: Math.round(delay.percentile(99) / 1e5) / 10,
    max: Math.round(delay.max / 1e5) / 10,
  };
  const after = chain.procs.map((p) => cpuMsOf(p.pid));
  const loader = process.cpuUsage(loadBefore);
  const answered = Math.max(1, result.requests);
  const byProcess: Record<string, number> = {};
  chain.procs.forEach((p, i) => {
    byProcess[p.name] = Math.round(((after[i]! - before[i]!) * 1000) / answered);
  });
  byProcess.load = Math.round((loader.user + loader.system) / answered);
  const total = Object.values(byProcess).reduce((a, b) => a + (Number.isNaN(b) ? 0 : b), 0);
  const out: Measured = { result, cpu: { byProcess, total }, generatorDelayMs };
  if (sched !== undefined) out.sched = await sched;
  return out;
}

/** The --perf-sched paragraph of a chain's report: idle time, its gaps, who waited meanwhile. */
function schedLines(m: Measured, procs: readonly { name: string; pid: number }[]): string[] {
  const s = m.sched!;
  const c = m.result.concurrency;
  if ('error' in s) return [`Scheduler at c=${c}: perf sched failed (${s.error}).`];
  const idle = Object.values(s.idleMsByCpu).reduce((a, b) => a + b, 0);
  const pct = (x: number, of: number) => `${((100 * x) / Math.max(of, 1e-9)).toFixed(1)}%`;
  const names = new Map(procs.map((p) => [p.pid, p.name]));
  names.set(process.pid, 'load');
  const waiting = s.waitingWhileIdleByPid
    .slice(0, 6)
    .map((w) => `${names.get(w.pid) ?? `pid ${w.pid}`} ${w.ms.toFixed(0)} ms`);
  const beside = s.ranBesideIdleByPid
    .slice(0, 6)
    .map((w) => `${names.get(w.pid) ?? `pid ${w.pid}`} ${w.ms.toFixed(0)} ms`);
  const gaps = s.gaps
    .map(
      (g) =>
        `${g.underMs === Number.POSITIVE_INFINITY ? 'longer' : `< ${g.underMs} ms`}: ${g.ms.toFixed(0)} ms`,
    )
    .join(', ');
  return [
    `Scheduler at c=${c} (perf sched, ${(s.windowMs / 1000).toFixed(1)} s): the ${s.cpus.length} CPUs idle ${pct(idle, s.windowMs * s.cpus.length)} of the time; ` +
      `${pct(s.idleWithWaitingMs, idle)} of that idle time some task waited, runnable, on another CPU; the rest of it no task waited (the busy CPU ran all the work there was).`,
    `Idle gaps by length: ${gaps}. Waiting that overlapped another CPU's idle time: ${waiting.join(', ') || 'none'}.`,
    `Ran on another CPU while one idled (with nothing waiting, the stage the chain waited for): ${beside.join(', ') || 'none'}.`,
  ];
}

/**
 * `perf sched record` for `seconds`, starting `afterMs` from now, then its timehist analysed by
 * bench/sched-overlap.ts; an error (no perf, not root) is reported, never thrown.
 */
async function recordSched(seconds: number, afterMs: number): Promise<SchedOverlap | { error: string }> {
  await sleep(afterMs);
  const dir = await mkdtemp(join(tmpdir(), 'imatch-sched-'));
  const file = join(dir, 'sched.data');
  try {
    await execFileP('perf', ['sched', 'record', '-q', '-o', file, '--', 'sleep', String(seconds)]);
    const { stdout } = await execFileP('perf', ['sched', 'timehist', '-i', file], {
      maxBuffer: 512 * 1024 * 1024,
    });
    return schedOverlap(parseTimehist(stdout));
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0]! };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Stage {
  name: string;
  url: string;
  /** Histogram metric name and the label texts its series must contain (any of them). */
  metric: string;
  labels: string | string[];
}

/** The stages of a request; `okOnly`: the blender's own stage counts its 200 answers only (not 503s). */
function stageSources(
  searcherUrls: readonly string[],
  mergerPort: number,
  blenderPort: number,
  okOnly = false,
): Stage[] {
  const merger = `http://127.0.0.1:${mergerPort}/metrics`;
  const blender = `http://127.0.0.1:${blenderPort}/metrics`;
  return [
    {
      name: okOnly ? 'blender GET /v1/ads, 200s' : 'blender GET /v1/ads',
      url: blender,
      metric: 'imatch_blender_request_duration_seconds',
      labels: okOnly ? 'route="/v1/ads",status="200"' : 'route="/v1/ads"',
    },
    {
      name: 'blender -> merger call',
      url: blender,
      metric: 'imatch_blender_merger_call_duration_seconds',
      labels: 'outcome="ok"',
    },
    {
      name: 'merger /merge (HTTP or frames)',
      url: merger,
      metric: 'imatch_merger_request_duration_seconds',
      labels: ['route="/merge"', 'route="FRAME /merge"'],
    },
    ...searcherUrls.flatMap((u, c) => [
      {
        name: `merger -> column ${c} attempt`,
        url: merger,
        metric: 'imatch_merger_column_latency_seconds',
        labels: `column="${c}",outcome="ok"`,
      },
      {
        name: `searcher ${c} /search (HTTP or frames)`,
        url: `${u}/metrics`,
        metric: 'imatch_searcher_request_duration_seconds',
        labels: ['route="/search"', 'route="FRAME /search"'],
      },
    ]),
  ];
}

/** Cumulative bucket counts by upper bound, summed over the series that match. */
type Buckets = Map<number, number>;

async function scrape(stage: Stage): Promise<Buckets> {
  const text = await (await request(stage.url)).body.text();
  const out: Buckets = new Map();
  const prefix = `${stage.metric}_bucket{`;
  const labels = [stage.labels].flat();
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix) || !labels.some((l) => line.includes(l))) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + value);
  }
  return out;
}

/**
 * Garbage-collection pauses of one process (prom-client's gc histogram), by kind, and the longest
 * its event loop was held since the scrape before (prom-client's lag monitor, 10 ms resolution,
 * reset by each scrape: so only the bench may scrape while it runs).
 */
interface GcFacts {
  kinds: Map<string, { count: number; sumS: number; upTo10ms: number }>;
  loopMaxMs: number;
}

async function scrapeGc(url: string): Promise<GcFacts> {
  const text = await (await request(url)).body.text();
  const out: GcFacts = { kinds: new Map(), loopMaxMs: 0 };
  const get = (kind: string) => {
    let f = out.kinds.get(kind);
    if (f === undefined) {
      f = { count: 0, sumS: 0, upTo10ms: 0 };
      out.kinds.set(kind, f);
    }
    return f;
  };
  for (const line of text.split('\n')) {
    if (line.includes('nodejs_eventloop_lag_max_seconds ')) {
      out.loopMaxMs = Math.round(Number(line.slice(line.lastIndexOf(' ') + 1)) * 10_000) / 10;
      continue;
    }
    if (!line.includes('nodejs_gc_duration_seconds')) continue;
    const kind = /kind="([^"]+)"/.exec(line)?.[1];
    if (kind === undefined) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.includes('_count{')) get(kind).count = value;
    else if (line.includes('_sum{')) get(kind).sumS = value;
    else if (line.includes('le="0.01"')) get(kind).upTo10ms = value;
  }
  return out;
}

/** The /metrics address of each process of an iMatch chain, by name (`prefix` + process name). */
function metricsTargets(
  chain: { searcherUrls: readonly string[]; mergerPort: number; blenderPort: number },
  prefix = '',
): (readonly [string, string])[] {
  return [
    ...chain.searcherUrls.map((u, c) => [`${prefix}searcher-${c}`, `${u}/metrics`] as const),
    [`${prefix}merger`, `http://127.0.0.1:${chain.mergerPort}/metrics`] as const,
    [`${prefix}blender`, `http://127.0.0.1:${chain.blenderPort}/metrics`] as const,
  ];
}

/** GC facts of each target (an empty map for one that does not answer). */
function scrapeGcAll(targets: readonly (readonly [string, string])[]): Promise<GcFacts[]> {
  return Promise.all(
    targets.map(([, u]) => scrapeGc(u).catch((): GcFacts => ({ kinds: new Map(), loopMaxMs: 0 }))),
  );
}

/** One line per process: GC pauses between two scrapes (count, total ms, pauses over 10 ms). */
function gcReport(
  names: readonly string[],
  before: GcFacts[],
  after: GcFacts[],
  seconds: number,
  what = 'over the same window',
  /** Also the event loop's longest hold since `before` was scraped (the scrape between resets it). */
  withLoop = true,
): string[] {
  const lines = [
    `GC in each process ${what} (${seconds} s; count / total ms / pauses over 10 ms, by kind${withLoop ? "; the event loop's longest delay, sampled by a 10 ms timer, so a hold of X ms reads about X + 10" : ''}):`,
  ];
  names.forEach((name, i) => {
    const parts: string[] = [];
    for (const [kind, a] of after[i]?.kinds ?? new Map()) {
      const b = before[i]?.kinds.get(kind) ?? { count: 0, sumS: 0, upTo10ms: 0 };
      const count = a.count - b.count;
      if (count <= 0) continue;
      const over = count - (a.upTo10ms - b.upTo10ms);
      parts.push(`${kind} ${count} / ${Math.round((a.sumS - b.sumS) * 1000)} / ${over}`);
    }
    const loop = withLoop ? `; event loop held up to ${after[i]?.loopMaxMs ?? 0} ms` : '';
    lines.push(`- ${name}: ${parts.length === 0 ? 'none' : parts.join('; ')}${loop}`);
  });
  return lines;
}

/**
 * The blender's admission limit and ad requests in flight now (its /metrics gauges), and how many
 * it has admitted above the limit so far (undefined from a build without that counter).
 */
async function scrapeAdmission(
  blenderPort: number,
): Promise<{ limit: number; inFlight: number; overLimit: number | undefined }> {
  const text = await (await request(`http://127.0.0.1:${blenderPort}/metrics`)).body.text();
  const value = (name: string) => {
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return m === null ? undefined : Number(m[1]);
  };
  const gauge = (name: string) => {
    const v = value(name);
    if (v === undefined) throw new Error(`${name} not in the blender's /metrics`);
    return v;
  };
  return {
    limit: gauge('imatch_blender_admission_limit'),
    inFlight: gauge('imatch_blender_in_flight'),
    overLimit: value('imatch_blender_admitted_over_limit_total'),
  };
}

async function scrapeAll(stages: readonly Stage[]): Promise<Buckets[]> {
  return Promise.all(stages.map((s) => scrape(s).catch(() => new Map<number, number>())));
}

/** Quantile (ms) of the observations between two scrapes, linear within a bucket. */
function quantileMs(before: Buckets, after: Buckets, q: number): number | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((b) => (after.get(b) ?? 0) - (before.get(b) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (let i = 0; i < bounds.length; i++) {
    const bound = bounds[i]!;
    const count = counts[i]!;
    if (count >= rank) {
      if (!Number.isFinite(bound)) return prevBound * 1000;
      const inBucket = count - prevCount;
      const frac = inBucket <= 0 ? 1 : (rank - prevCount) / inBucket;
      return (prevBound + (bound - prevBound) * frac) * 1000;
    }
    prevBound = bound;
    prevCount = count;
  }
  return undefined;
}

function stageReport(
  stages: readonly Stage[],
  before: Buckets[],
  after: Buckets[],
  client: Pick<LoadResult, 'p50Ms' | 'p90Ms' | 'p99Ms'>,
  clientLabel = 'client (end to end, from due time)',
): string[] {
  const fmt = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(2));
  const lines = ['| stage | p50 ms | p90 ms | p99 ms |', '|---|---|---|---|'];
  lines.push(`| ${clientLabel} | ${client.p50Ms} | ${client.p90Ms} | ${client.p99Ms} |`);
  stages.forEach((s, i) => {
    const q = (x: number) => fmt(quantileMs(before[i]!, after[i]!, x));
    lines.push(`| ${s.name} | ${q(0.5)} | ${q(0.9)} | ${q(0.99)} |`);
  });
  return lines;
}

function row(m: Measured): string {
  const r = m.result;
  const mode = r.mode === 'open' ? `open ${r.rate}/s` : `c=${r.concurrency}`;
  return `| ${mode} | ${r.rps} | ${r.p50Ms} | ${r.p90Ms} | ${r.p99Ms} | ${r.maxMs} | ${r.errors} | ${r.degraded} | ${r.shed} | ${m.cpu.total} |`;
}

/**
 * Writes `gb` GB of memory in a child process that then exits, and returns how long it took (ms).
 * On this project's VMs, memory the guest had not touched since it booted made the processes
 * that got it 12-20% slower (more CPU a request, every process of the chain): the chain started
 * first lost to one started after it whichever build each ran, and after 16 GB were written
 * once the two were 0.1% apart (BENCHMARKS.md, "Morning of 2026-12-08").
 */
async function pretouch(gb: number): Promise<number> {
  const started = performance.now();
  const script = `const keep = []; for (let i = 0; i < ${gb}; i++) { const b = Buffer.allocUnsafeSlow(2 ** 30); b.fill(1); keep.push(b); }`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`--pretouch-gb: the child exited with ${code}`)),
    );
  });
  return performance.now() - started;
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const pretouchGb = Math.min(Number(args['pretouch-gb']), Math.floor(freemem() / 2 ** 30) - 2);
  if (pretouchGb > 0)
    say(
      `wrote ${pretouchGb} GB of memory once in ${((await pretouch(pretouchGb)) / 1000).toFixed(1)} s (--pretouch-gb)`,
    );
  const loadBefore = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  const cleanups: (() => Promise<void>)[] = [];
  const cleanupAll = async () => {
    for (const c of cleanups.reverse()) await c().catch((err) => say(`cleanup: ${String(err)}`));
  };
  process.once('SIGINT', () => {
    void cleanupAll().then(() => process.exit(130));
  });
  try {
    let zk = args.zk;
    let kafka = args.kafka;
    // With --zk/--kafka, --infra-pids zookeeper=PID,kafka=PID lets their CPU be counted too.
    const infraPids: { name: string; pid: number }[] = (args['infra-pids'] ?? '')
      .split(',')
      .filter((x) => x.includes('='))
      .map((x) => ({ name: x.split('=')[0]!, pid: Number(x.split('=')[1]) }));
    if (zk === undefined || kafka === undefined) {
      const infraDir = await mkdtemp(join(tmpdir(), 'imatch-bench-'));
      const [zkPort, kafkaPort, ctlPort] = [await freePort(), await freePort(), await freePort()];
      say('starting ZooKeeper and Kafka');
      const up = await upServers({
        infraDir,
        cacheDir:
          process.env.IMATCH_INFRA_CACHE_DIR || join(process.env.HOME ?? tmpdir(), '.cache/imatch/infra'),
        zkPort,
        kafkaPort,
        kafkaControllerPort: ctlPort,
        startTimeoutMs: 180_000,
      });
      cleanups.push(async () => {
        await downServers(infraDir);
        await rm(infraDir, { recursive: true, force: true });
      });
      zk = up.zookeeper.address;
      kafka = up.kafka.address;
      infraPids.push({ name: 'zookeeper', pid: up.zookeeper.pid }, { name: 'kafka', pid: up.kafka.pid });
    }
    await ensureSnapshot();
    const root = `/imatch-bench/qp-${process.pid}-${randomBytes(3).toString('hex')}`;
    const indexDir = join(dataDir, `index-${columns}`);
    const zkFlags = ['--zk-connect', zk, '--zk-root', root];
    const existing = args['reuse-index'] ? (await listVersions(indexDir).catch(() => [])).at(-1) : undefined;
    if (existing !== undefined) {
      const dir = join(indexDir, existing);
      const manifest = await readManifest(dir);
      const zkc = await connectZk({ connect: zk });
      await publishPointer(zkc, root, {
        version: manifest.version,
        dir,
        columns: manifest.columns,
        watermark: manifest.watermark,
        publishedAt: new Date().toISOString(),
      });
      await zkc.close();
      say(`reusing index version ${dir} (${manifest.columns} columns), published under ${root}`);
    } else {
      say(`building ${columns} columns into ${indexDir} and publishing under ${root}`);
      const tb = Date.now();
      await runToEnd('build-index', [
        'build-index',
        '--snapshot',
        dataDir,
        '--out',
        indexDir,
        '--columns',
        String(columns),
        '--publish',
        ...zkFlags,
      ]);
      say(`built in ${((Date.now() - tb) / 1000).toFixed(1)} s`);
    }

    const profArgs = (name: string) =>
      cpuProfDir === undefined
        ? []
        : // One folder per process: with a fixed --cpu-prof-name, the blender's main thread and its
          // page-view worker thread wrote the same file and no blender profile was left.
          ['--cpu-prof', `--cpu-prof-dir=${join(cpuProfDir, name)}`];
    // The searchers' isupdate consumes an (empty) change topic and keeps its WAL in a temp folder.
    const runDir = await mkdtemp(join(tmpdir(), 'imatch-bench-run-'));
    cleanups.push(() => rm(runDir, { recursive: true, force: true }));
    const changesTopic = `imatch-bench.changes-${process.pid}`;
    await ensureTopics(createKafka({ brokers: [kafka], clientId: 'imatch-bench' }), [changesTopic]);
    const allProcs: Proc[] = [];
    cleanups.push(async () => {
      await Promise.all(allProcs.map(stop));
    });
    /** Starts one iMatch chain (searchers, merger, blender) from `cli` under ZooKeeper `chainRoot`. */
    const startImatch = async (
      cli: string,
      chainRoot: string,
      tag: string,
      searcherFlagsArg: string | undefined,
      frontFlagsArg: string | undefined,
    ) => {
      const chainZk = ['--zk-connect', zk!, '--zk-root', chainRoot];
      const procs: Proc[] = [];
      const searcherUrls: string[] = [];
      for (let c = 0; c < columns; c++) {
        const port = await freePort();
        const p = run(
          `searcher-${c}`,
          [
            'searcher',
            '--column',
            String(c),
            '--replica',
            'r0',
            '--port',
            String(port),
            '--log-level',
            'warn',
            '--data-dir',
            join(runDir, `${tag}searcher-${c}`),
            '--kafka-brokers',
            kafka!,
            '--topic-changes',
            changesTopic,
            ...chainZk,
          ],
          [
            ...profArgs(`${tag}searcher-${c}`),
            ...(searcherFlagsArg === undefined
              ? SEARCHER_NODE_FLAGS
              : searcherFlagsArg.split(' ').filter(Boolean)),
          ],
          cli,
        );
        procs.push(p);
        allProcs.push(p);
        searcherUrls.push(`http://127.0.0.1:${port}`);
      }
      const frontFlags =
        frontFlagsArg === undefined ? FRONT_NODE_FLAGS : frontFlagsArg.split(' ').filter(Boolean);
      const mergerPort = await freePort();
      const merger = run(
        'merger',
        ['merger', '--port', String(mergerPort), '--log-level', 'warn', ...chainZk],
        [...profArgs(`${tag}merger`), ...frontFlags],
        cli,
      );
      procs.push(merger);
      allProcs.push(merger);
      // --blenders N: N blender processes on their own ports (the generator spreads its connections
      // over them, as a load balancer would); one click key for all, so any of them takes a click.
      const clickKey = `1:${randomBytes(32).toString('hex')}`;
      const blenderPorts: number[] = [];
      const blenderProcs: Proc[] = [];
      for (let b = 0; b < blenders; b++) {
        const port = await freePort();
        const name = blenders === 1 ? 'blender' : `blender-${b}`;
        const blender = run(
          name,
          [
            'blender',
            '--port',
            String(port),
            '--log-level',
            'warn',
            ...chainZk,
            '--kafka-brokers',
            kafka!,
            '--topic-pv',
            `imatch-bench.pv-${process.pid}${tag === '' ? '' : `-${tag.replace(/[^a-z0-9]/g, '')}`}`,
            '--click-keys',
            clickKey,
          ],
          [...profArgs(`${tag}${name}`), ...frontFlags],
          cli,
        );
        blenderPorts.push(port);
        blenderProcs.push(blender);
        procs.push(blender);
        allProcs.push(blender);
      }
      const tl = Date.now();
      for (let c = 0; c < columns; c++) await waitReady(`${tag}searcher-${c}`, searcherUrls[c]!, procs[c]!);
      say(`${tag}searchers loaded in ${((Date.now() - tl) / 1000).toFixed(1)} s`);
      await waitReady(`${tag}merger`, `http://127.0.0.1:${mergerPort}`, merger);
      for (let b = 0; b < blenders; b++)
        await waitReady(`${tag}blender`, `http://127.0.0.1:${blenderPorts[b]!}`, blenderProcs[b]!);
      const urls = blenderPorts.map((port) => `http://127.0.0.1:${port}`);
      return {
        procs,
        searcherUrls,
        mergerPort,
        blenderPort: blenderPorts[0]!,
        url: urls.length === 1 ? urls[0]! : urls,
      };
    };
    const startOurs = () => startImatch(CLI, root, '', args['searcher-node-flags'], args['front-node-flags']);
    // With --baseline-first the baseline chain's processes start before this one's: a chain
    // started first measured 12-20% slower than one started after it, whichever build it ran
    // (BENCHMARKS.md, "Morning of 2026-12-08").
    let ours = args['baseline-first'] ? undefined : await startOurs();
    let baseline: Awaited<ReturnType<typeof startImatch>> | undefined;
    if (args.baseline !== undefined) {
      const baselineCli = join(resolve(args.baseline), 'bin', 'imatch.js');
      if (!existsSync(baselineCli)) throw new Error(`--baseline: no ${baselineCli}`);
      // The same index version, published under a root of its own: the chains must not discover
      // each other's searchers.
      const baselineRoot = `${root}-baseline`;
      const version = (await listVersions(indexDir)).at(-1)!;
      const manifest = await readManifest(join(indexDir, version));
      const zkc = await connectZk({ connect: zk });
      await publishPointer(zkc, baselineRoot, {
        version: manifest.version,
        dir: join(indexDir, version),
        columns: manifest.columns,
        watermark: manifest.watermark,
        publishedAt: new Date().toISOString(),
      });
      await zkc.close();
      say(`baseline chain from ${baselineCli} under ${baselineRoot}`);
      baseline = await startImatch(
        baselineCli,
        baselineRoot,
        'baseline-',
        args['baseline-searcher-node-flags'] ?? args['searcher-node-flags'],
        args['baseline-front-node-flags'] ?? args['front-node-flags'],
      );
    }
    ours ??= await startOurs();
    const { procs, searcherUrls, mergerPort, blenderPort, url: imatchUrl } = ours;
    const realUrl = `http://127.0.0.1:${blenderPort}`;

    const bare = await startBareChain(columns);
    cleanups.push(() => bare.stop());
    const paths = await queryPaths();
    const sample = await request(`${realUrl}${paths[0]}`);
    const sampleBody = (await sample.body.json()) as {
      ads?: unknown[];
      coverage?: unknown;
      degraded?: boolean;
    };
    say(
      `sample ${paths[0]}: ${sample.statusCode}, ${sampleBody.ads?.length ?? 0} ads, coverage ${JSON.stringify(sampleBody.coverage)}`,
    );

    // A sequential pass first: what fraction of the query set answers 200, and why not.
    const sanity: Record<string, number> = {};
    const examples: string[] = [];
    for (const p of paths.slice(0, 300)) {
      const res = await request(`${realUrl}${p}`);
      const text = await res.body.text();
      sanity[res.statusCode] = (sanity[res.statusCode] ?? 0) + 1;
      if (res.statusCode !== 200 && examples.length < 5)
        examples.push(`${p} -> ${res.statusCode} ${text.slice(0, 300)}`);
    }
    say(`sanity pass over 300 queries: ${JSON.stringify(sanity)}`);
    for (const e of examples) say(`  ${e}`);

    const chains: Chain[] = [
      {
        name: 'iMatch',
        url: imatchUrl,
        procs: [...procs.map((p) => ({ name: p.name, pid: p.child.pid ?? -1 })), ...infraPids],
      },
      ...(baseline === undefined
        ? []
        : [
            {
              name: 'baseline',
              url: baseline.url,
              procs: [...baseline.procs.map((p) => ({ name: p.name, pid: p.child.pid ?? -1 })), ...infraPids],
            },
          ]),
      ...(args['only-real']
        ? []
        : [
            {
              name: 'bare chain',
              url: bare.url,
              procs: bare.processes.map((p, i) => ({
                name: p.role === 'searcher' ? `searcher-${i}` : p.role,
                pid: p.child.pid ?? -1,
              })),
            },
          ]),
    ];
    const runs: ChainRun[] = [];
    const stageLines: string[] = [];
    const common = { paths, durationMs: stepMs, warmupMs, degradedMarker: '"degraded":true' };
    // GC over the whole run, from here to the end (full GCs are rare, and a window misses most).
    const imatchTargets = metricsTargets({ searcherUrls, mergerPort, blenderPort });
    const gcTargets = [
      ...imatchTargets,
      ...(baseline === undefined ? [] : metricsTargets(baseline, 'baseline ')),
    ];
    const gcRunBefore = await scrapeGcAll(gcTargets);
    const gcRunFrom = performance.now();
    for (const chain of chains) {
      say(`warming up ${chain.name}`);
      await runLoad({ ...common, origin: chain.url, concurrency: 16, durationMs: 5_000, warmupMs: 0 });
    }
    // What each process costs with no query at all (ZooKeeper sessions, the searchers' change
    // consumers polling Kafka, the broker's own work): CPU ms per second over 5 idle seconds.
    const idleMsPerS = new Map<number, number>();
    {
      const procs = chains.flatMap((c) => c.procs);
      const before = procs.map((p) => cpuMsOf(p.pid));
      const t0 = performance.now();
      await sleep(idleMs);
      const after = procs.map((p) => cpuMsOf(p.pid));
      const seconds = (performance.now() - t0) / 1000;
      procs.forEach((p, i) => {
        idleMsPerS.set(p.pid, (after[i]! - before[i]!) / seconds);
      });
    }
    // The ramps are interleaved step by step (iMatch c=4, bare c=4, bare c=8, iMatch c=8, ...): this VM's
    // speed drifts by tens of percent within minutes, and a chain measured a minute after the other
    // would carry that drift into the ratio.
    // A broker started minutes ago charges tens of microseconds more a request (its JVM is still
    // compiling, its topics' first segments are new): BENCHMARKS.md, "Evening of 2026-12-07".
    const kafkaPid = chains.flatMap((c) => c.procs).find((p) => p.name === 'kafka')?.pid;
    const brokerAgeS = kafkaPid === undefined ? Number.NaN : ageSecondsOf(kafkaPid);
    say(`ramp ${chains.map((c) => c.name).join(' and ')}, interleaved step by step`);
    const ramps = chains.map((chain) => ({
      chain,
      ramp: [] as Measured[],
      best: undefined as Measured | undefined,
      flat: 0,
      done: false,
    }));
    for (const [stepIndex, concurrency] of steps.entries()) {
      // Which chain goes first is rotated step by step, so no chain always runs right after the
      // same one. Two chains of the same code still differ from run to run: by 0.6-1.0% a step
      // in one A/A run, by up to 8% a step, either way round, between a fresh clone's build and
      // this tree's (BENCHMARKS.md, "Night of 2026-12-08"). Compare two builds both ways round.
      const order = ramps.map((_, i) => ramps[(i + stepIndex) % ramps.length]!);
      for (const st of order) {
        if (st.done) continue;
        const { chain } = st;
        const m = await measured(
          chain,
          { ...common, origin: chain.url, concurrency },
          concurrency === perfSchedAt ? perfSchedSeconds : undefined,
        );
        st.ramp.push(m);
        const r = m.result;
        say(
          `  ${chain.name} c=${concurrency}: ${r.rps} req/s p50 ${r.p50Ms} p99 ${r.p99Ms} ms, statuses ${JSON.stringify(r.statuses)}, ` +
            `CPU ${m.cpu.total} us/req`,
        );
        // A step where the engine refused or failed requests is past its peak, not a peak: at
        // c=64 a closed loop resends each 503 at once, and the CPU per request divided over the
        // refusals read 0.85x the bare chain's in one run.
        const refused = r.errors > 0;
        if (!refused && (st.best === undefined || r.rps > st.best.result.rps * 1.03)) {
          st.best = m;
          st.flat = 0;
        } else {
          if (!refused && st.best !== undefined && r.rps > st.best.result.rps) st.best = m;
          if (++st.flat >= 2) st.done = true;
        }
      }
    }
    // A chain that refused at every step: its best step anyway, so the report still prints.
    for (const st of ramps)
      runs.push({
        name: st.chain.name,
        ramp: st.ramp,
        peak: st.best ?? st.ramp.reduce((a, b) => (b.result.rps > a.result.rps ? b : a)),
      });
    for (const chainRun of runs) {
      const chain = chains.find((c) => c.name === chainRun.name)!;
      const rate = Math.max(1, Math.round(chainRun.peak.result.rps / 2));
      say(`${chain.name} open loop at ${rate}/s (half of peak)`);
      const stages = chain.name === 'iMatch' ? stageSources(searcherUrls, mergerPort, blenderPort) : [];
      const gcUrls = chain.name === 'iMatch' ? imatchTargets : [];
      const gcAll = () => scrapeGcAll(gcUrls);
      // Scraped before the warm-up: a scrape renders each process's metrics, which held the
      // first 100 ms of the measured time up to 25-33 ms when done at its start.
      const gcBefore = await gcAll();
      const before = await scrapeAll(stages);
      const isImatch = chain.name === 'iMatch';
      const overBefore = isImatch ? (await scrapeAdmission(blenderPort)).overLimit : undefined;
      chainRun.half = await measured(chain, {
        ...common,
        origin: chain.url,
        concurrency: 64,
        rate,
        durationMs: halfMs,
        timeline: true,
      });
      const h = chainRun.half.result;
      const timeline = h.timeline ?? [];
      delete h.timeline;
      say(
        `  p50 ${h.p50Ms} p99 ${h.p99Ms} ms, errors ${h.errors}, shed ${h.shed}, statuses ${JSON.stringify(h.statuses)}; ` +
          `generator event-loop delay p99 ${chainRun.half.generatorDelayMs.p99} ms, max ${chainRun.half.generatorDelayMs.max} ms`,
      );
      const slow = slowWindows(timeline, 100, 15);
      if (slow.length > 0) say(`  100 ms windows with a refusal or p99 over 15 ms: ${slow.join('; ')}`);
      // The GC scrape first: the stages scrape the same /metrics, and a scrape resets the event
      // loop's longest hold.
      const gcAfter = await gcAll();
      if (stages.length > 0) stageLines.push(...stageReport(stages, before, await scrapeAll(stages), h));
      const overAfter = isImatch ? (await scrapeAdmission(blenderPort)).overLimit : undefined;
      if (overBefore !== undefined && overAfter !== undefined)
        say(
          `  admitted above the blender's admission limit (a stall at a steady rate): ${overAfter - overBefore}`,
        );
      if (gcUrls.length > 0)
        stageLines.push(
          '',
          ...gcReport(
            gcUrls.map(([name]) => name),
            gcBefore,
            gcAfter,
            (warmupMs + halfMs) / 1000,
            'over the same window and its warm-up',
          ),
        );
    }

    // Overload (iMatch only): open loop at half of peak for 2 s (not counted), at 2x peak, then
    // back to half of peak at once. The excess must be refused at once (503 + Retry-After), the
    // 200s keep p99 < 50 ms, and p99 is back under 15 ms within 1 s after the drop.
    let overload:
      | {
          result: LoadResult;
          windows: ReturnType<typeof p99ByWindow>;
          highP99Ms: number;
          /** p99 of the 200s due in the first second after the drop, and after it to the end (ms). */
          recoveryP99Ms: { firstSecond: number; afterFirstSecond: number };
          /** Server-side stages over the 2x phase only. */
          stageLines: string[];
          /** How late this generator sent the 2x phase's requests (ms after their due times). */
          sendLagMs: { p99: number; max: number };
          /** p99 of the 2x phase's 200s counted from when each was sent (ms). */
          highP99FromSentMs: number;
          /** This generator's event-loop delay over the 2x phase (ms). */
          generatorDelayMs: { p99: number; max: number };
          /** The blender's admission facts, sampled at the jump and every 500 ms of the 2x phase. */
          admission: { limit: number; inFlight: number; overLimit: number | undefined }[];
        }
      | undefined;
    if (overloadMs > 0) {
      const chain = chains[0]!;
      const peakRps = runs[0]!.peak.result.rps;
      const high = Math.max(2, peakRps * 2);
      const low = Math.max(1, Math.round(peakRps / 2));
      say(
        `${chain.name} overload: ${low}/s for ${OVERLOAD_WARMUP_MS} ms (not counted), ${high}/s for ${overloadMs} ms, then ${low}/s for ${recoverMs} ms`,
      );
      // Over the 2x phase only: the server-side stages, this generator's event-loop delay, and
      // the blender's admission limit, to tell where the 200s' tail is spent.
      const stages = stageSources(searcherUrls, mergerPort, blenderPort, true);
      const delay = monitorEventLoopDelay({ resolution: 5 });
      const admission: { limit: number; inFlight: number; overLimit: number | undefined }[] = [];
      let sampler: NodeJS.Timeout | undefined;
      let stagesAtHigh: Promise<Buckets[]> | undefined;
      let stagesAfterHigh: Promise<Buckets[]> | undefined;
      let generatorDelayMs = { p99: 0, max: 0 };
      const result = await runLoad({
        onPhase: (i) => {
          if (i === 0) {
            stagesAtHigh = scrapeAll(stages);
            delay.enable();
            const sample = () => {
              scrapeAdmission(blenderPort).then(
                (a) => admission.push(a),
                () => {},
              );
            };
            sample();
            sampler = setInterval(sample, 500);
          } else if (i === 1) {
            stagesAfterHigh = scrapeAll(stages);
            delay.disable();
            clearInterval(sampler);
            generatorDelayMs = {
              p99: Math.round((delay.percentile(99) / 1e6) * 10) / 10,
              max: Math.round((delay.max / 1e6) * 10) / 10,
            };
          }
        },
        paths,
        origin: chain.url,
        concurrency: 128,
        ...(preconnect ? { preconnectPath: '/healthz' } : {}),
        // Two seconds at half of peak first, on the same connections, not counted: the jump to
        // 2x then starts from a chain in normal service. Started cold (after the bare chain's
        // phases left this chain idle, on a new connection pool) the first 250-500 ms measured
        // the idle stretch and the connection set-up too: 127-179 ms in that window against
        // 29-58 ms in the rest of the same runs (BENCHMARKS.md, 2026-12-07).
        rate: low,
        warmupMs: OVERLOAD_WARMUP_MS,
        durationMs: overloadMs + recoverMs,
        phases: [
          { durationMs: overloadMs, rate: high },
          { durationMs: recoverMs, rate: low },
        ],
        timeline: true,
        timeoutMs: 10_000,
      });
      const timeline = result.timeline ?? [];
      delete result.timeline;
      if (args['overload-timeline'] !== undefined)
        writeFileSync(args['overload-timeline'], `${JSON.stringify(timeline)}\n`);
      // p99 of the 200s over the whole 2x phase (timeline: [due ms from the measured start, ms, status]).
      /** Latencies (ms, ascending) of the 200s due in [fromMs, toMs) of the measured time. */
      const okDue = (fromMs: number, toMs: number) =>
        timeline
          .filter(([due, , status]) => due >= fromMs && due < toMs && status === '200')
          .map(([, ms]) => ms)
          .sort((a, b) => a - b);
      const quantileOf = (sorted: readonly number[], q: number) =>
        sorted.length === 0
          ? 0
          : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]! * 1000) / 1000;
      const okAtHigh = okDue(0, overloadMs);
      // This generator's own share: how late it sent the 2x phase's requests, and the 200s'
      // latency counted from the moment each was sent instead of from its due time.
      const atHigh2x = timeline.filter(([due]) => due >= 0 && due < overloadMs);
      const lagSorted = atHigh2x.map(([, , , lag]) => lag).sort((a, b) => a - b);
      const fromSentSorted = atHigh2x
        .filter(([, , status]) => status === '200')
        .map(([, ms, , lag]) => ms - lag)
        .sort((a, b) => a - b);
      const okQuantile = (q: number) => quantileOf(okAtHigh, q);
      const highP99Ms = okQuantile(0.99);
      // The recovery target read directly: p99 of the 200s due in the first second after the
      // drop, and of those due from one second after it to the end of the run.
      const recoveryP99Ms = {
        firstSecond: quantileOf(okDue(overloadMs, overloadMs + 1000), 0.99),
        afterFirstSecond: quantileOf(okDue(overloadMs + 1000, overloadMs + recoverMs), 0.99),
      };
      clearInterval(sampler);
      const atHigh = await (stagesAtHigh ?? Promise.resolve([]));
      const afterHigh = await (stagesAfterHigh ?? Promise.resolve([]));
      overload = {
        result,
        sendLagMs: { p99: quantileOf(lagSorted, 0.99), max: quantileOf(lagSorted, 1) },
        highP99FromSentMs: quantileOf(fromSentSorted, 0.99),
        windows: p99ByWindow(timeline, 250),
        highP99Ms,
        recoveryP99Ms,
        stageLines:
          atHigh.length === stages.length && afterHigh.length === stages.length
            ? stageReport(
                stages,
                atHigh,
                afterHigh,
                { p50Ms: okQuantile(0.5), p90Ms: okQuantile(0.9), p99Ms: highP99Ms },
                'client, 200s only (end to end, from due time)',
              )
            : [],
        generatorDelayMs,
        admission,
      };
      say(`  statuses ${JSON.stringify(result.statuses)}, shed by the generator ${result.shed}`);
    }

    const gcRunLines = gcReport(
      gcTargets.map(([name]) => name),
      gcRunBefore,
      await scrapeGcAll(gcTargets),
      Math.round((performance.now() - gcRunFrom) / 1000),
      'over the whole run, warm-up to end',
      false,
    );
    const real = runs.find((r) => r.name === 'iMatch')!;
    const bareRun = runs.find((r) => r.name === 'bare chain');
    const baselineRun = runs.find((r) => r.name === 'baseline');
    const lines: string[] = [];
    lines.push(
      `Machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}; ` +
        `${new Date().toISOString()}; load average (1/5/15 min) before the run ${loadBefore}, after ${loadavg()
          .map((l) => l.toFixed(1))
          .join(
            ' ',
          )}${pretouchGb > 0 ? `; ${pretouchGb} GB of memory written once before the run (--pretouch-gb)` : ''}`,
    );
    lines.push(
      `Data: ${offers} offers (imatch gen), ${columns} columns x 1 replica, n=${n}, ${paths.length} query lines`,
    );
    lines.push('');
    for (const r of runs) {
      lines.push(`### ${r.name}`);
      lines.push(
        '| load | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | degraded | shed | CPU us/req |',
      );
      lines.push('|---|---|---|---|---|---|---|---|---|---|');
      for (const m of r.ramp) lines.push(row(m));
      if (r.half !== undefined) lines.push(row(r.half));
      if (r.half !== undefined)
        lines.push(
          `This generator's own event-loop delay at half of peak: p99 ${r.half.generatorDelayMs.p99} ms, max ${r.half.generatorDelayMs.max} ms ` +
            '(requests it sent late count as latency from their due time).',
        );
      lines.push('');
      lines.push(`CPU per request at peak (us, all threads of each process; "load" = this generator):`);
      lines.push(`| ${Object.keys(r.peak.cpu.byProcess).join(' | ')} | total |`);
      lines.push(
        `|${Object.keys(r.peak.cpu.byProcess)
          .map(() => '---|')
          .join('')}---|`,
      );
      lines.push(`| ${Object.values(r.peak.cpu.byProcess).join(' | ')} | ${r.peak.cpu.total} |`);
      const procs = chains.find((c) => c.name === r.name)?.procs ?? [];
      const idle = procs
        .filter((p) => idleMsPerS.has(p.pid))
        .map((p) => `${p.name} ${(idleMsPerS.get(p.pid) ?? 0).toFixed(1)}`);
      if (idle.length > 0) lines.push(`CPU with no query at all (ms a second): ${idle.join(', ')}.`);
      const kafkaProc = procs.find((p) => p.name === 'kafka');
      const kafkaUs = r.peak.cpu.byProcess.kafka;
      if (kafkaProc !== undefined && kafkaUs !== undefined && r.peak.result.rps > 0) {
        const idleUs = Math.round(((idleMsPerS.get(kafkaProc.pid) ?? 0) * 1000) / r.peak.result.rps);
        lines.push(
          `Kafka broker at peak: ${kafkaUs} us a request, of which ${idleUs} us is what it spends with no query at all ` +
            `(${(idleMsPerS.get(kafkaProc.pid) ?? 0).toFixed(1)} ms CPU a second idle): ${kafkaUs - idleUs} us a request for PV logging (target <= 30 us).`,
        );
        if (brokerAgeS < 600)
          lines.push(
            `The broker had started ${Math.round(brokerAgeS)} s before the ramp: a JVM that young charges tens of us more a request; measure the PV cost on a broker that has run for some minutes.`,
          );
      }
      const top = r.ramp.find((m) => m.sched !== undefined);
      if (top?.sched !== undefined) lines.push(...schedLines(top, procs));
      lines.push('');
    }
    if (bareRun !== undefined) {
      const ratio = real.peak.result.rps / bareRun.peak.result.rps;
      lines.push(
        `Peak: iMatch ${real.peak.result.rps} req/s (c=${real.peak.result.concurrency}), bare ${bareRun.peak.result.rps} req/s ` +
          `(c=${bareRun.peak.result.concurrency}): ${(ratio * 100).toFixed(1)}% (target >= 60%).`,
      );
      const cpuRatio = real.peak.cpu.total / Math.max(1, bareRun.peak.cpu.total);
      lines.push(
        `CPU per request at peak: iMatch ${real.peak.cpu.total} us, bare ${bareRun.peak.cpu.total} us: ${cpuRatio.toFixed(2)}x (target <= 2x).`,
      );
    }
    lines.push(`p99 at half of peak: iMatch ${real.half?.result.p99Ms} ms (target < 15 ms).`);
    if (baselineRun !== undefined) {
      const pct = (a: number, b: number) =>
        `${a >= b ? '+' : ''}${(((a - b) / Math.max(1, b)) * 100).toFixed(1)}%`;
      const by = real.peak.cpu.byProcess;
      const base = baselineRun.peak.cpu.byProcess;
      lines.push(
        `Against the baseline build (${args.baseline}), same run: peak ${real.peak.result.rps} vs ${baselineRun.peak.result.rps} req/s ` +
          `(${pct(real.peak.result.rps, baselineRun.peak.result.rps)}); CPU per request at peak ${real.peak.cpu.total} vs ` +
          `${baselineRun.peak.cpu.total} us (${pct(real.peak.cpu.total, baselineRun.peak.cpu.total)}; ` +
          `${Object.keys(by)
            .filter((k) => base[k] !== undefined)
            .map((k) => `${k} ${by[k]} vs ${base[k]}`)
            .join(
              ', ',
            )}); p99 at half of peak ${real.half?.result.p99Ms} vs ${baselineRun.half?.result.p99Ms} ms.`,
      );
    }
    if (overload !== undefined) {
      const w = overload.windows;
      // Requests due in the warm-up but answered after it are in the timeline with a negative due time.
      const highWindows = w.filter((x) => x.fromMs >= 0 && x.fromMs < overloadMs);
      const afterDrop = w.filter((x) => x.fromMs >= overloadMs);
      const okHigh = highWindows.reduce((a, x) => a + x.ok, 0);
      const refusedHigh = highWindows.reduce((a, x) => a + x.refused, 0);
      // Recovery: the start of the first window after the drop from which every window has p99 < 15 ms.
      let recoveredAt: number | undefined;
      for (let i = afterDrop.length - 1; i >= 0 && afterDrop[i]!.p99Ms < 15; i--)
        recoveredAt = afterDrop[i]!.fromMs - overloadMs;
      const highLat = highWindows.map((x) => x.p99Ms).sort((a, b) => a - b);
      lines.push('');
      lines.push(
        `### Overload: ${overloadMs / 1000} s at 2x peak, then half of peak (open loop; after ${OVERLOAD_WARMUP_MS / 1000} s at half of peak, not counted)`,
      );
      lines.push(`| phase | 200/s | refused or failed/s | p99 of 200s ms | worst 250 ms window's p99 ms |`);
      lines.push('|---|---|---|---|---|');
      lines.push(
        `| 2x peak | ${Math.round(okHigh / (overloadMs / 1000))} | ${Math.round(refusedHigh / (overloadMs / 1000))} | ${overload.highP99Ms} | ${highLat.at(-1) ?? '-'} |`,
      );
      lines.push(
        `Statuses over the whole run: ${JSON.stringify(overload.result.statuses)}; generator shed ${overload.result.shed}; ` +
          `200s p99 over the whole run ${overload.result.okP99Ms} ms.`,
      );
      lines.push(
        `At 2x peak, p99 of 200s per 250 ms window: ${highWindows.map((x) => `${Math.round(x.p99Ms)}`).join(', ')} ms.`,
      );
      lines.push(
        `After the drop, p99 of 200s per 250 ms window: ${afterDrop
          .slice(0, 8)
          .map((x) => `${x.p99Ms}`)
          .join(
            ', ',
          )} ms; every later window under 15 ms from ${recoveredAt === undefined ? 'never in the run' : `${recoveredAt} ms after the drop`}.`,
      );
      lines.push(
        `p99 of the 200s due from 1 s after the drop to the end of the run (${(recoverMs - 1000) / 1000} s): ` +
          `${overload.recoveryP99Ms.afterFirstSecond} ms (target < 15 ms within 1 s); in the first second after the drop: ` +
          `${overload.recoveryP99Ms.firstSecond} ms.`,
      );
      lines.push(
        `This generator's own event-loop delay at 2x peak: p99 ${overload.generatorDelayMs.p99} ms, max ${overload.generatorDelayMs.max} ms; ` +
          `it sent the 2x phase's requests late by p99 ${overload.sendLagMs.p99} ms (max ${overload.sendLagMs.max}); ` +
          `the 200s' p99 counted from when each was sent: ${overload.highP99FromSentMs} ms.`,
      );
      const a = overload.admission;
      if (a.length > 0)
        lines.push(
          `The blender's admission limit at 2x peak, at the jump and every 500 ms: ${a.map((x) => x.limit).join(', ')}; ` +
            `ad requests in flight: ${a.map((x) => x.inFlight).join(', ')}` +
            (a[0]!.overLimit === undefined
              ? '.'
              : `; admitted above the limit since the jump: ${a.map((x) => (x.overLimit ?? 0) - (a[0]!.overLimit ?? 0)).join(', ')}.`),
        );
      if (overload.stageLines.length > 0)
        lines.push(
          '',
          "Where the 200s' latency goes at 2x peak (server-side histograms over the 2x phase; the merger and " +
            'searcher stages count only what the blender admitted; quantiles interpolated within Prometheus buckets):',
          ...overload.stageLines,
        );
    }
    if (stageLines.length > 0) {
      lines.push('');
      lines.push(
        'Where the latency goes at half of peak (server-side histograms of each service over the same window; ' +
          'quantiles interpolated within Prometheus buckets):',
      );
      lines.push(...stageLines);
    }
    lines.push('', ...gcRunLines);
    process.stdout.write(`${lines.join('\n')}\n`);
    if (args.json !== undefined) {
      await writeFile(
        args.json,
        JSON.stringify({ offers, columns, n, runs, overload, at: new Date().toISOString() }, null, 2),
      );
    }
    say(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    await cleanupAll();
    for (const p of started) await stop(p);
  }
}

await main();
