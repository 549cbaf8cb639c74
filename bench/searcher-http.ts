// HTTP benchmark of one searcher process (`imatch searcher`) on one column of an `imatch gen`
// data set: how long the column takes to load and how much heap it holds, then POST /search
// latency p50/p99/max for 1-, 2- and 3-word queries from the generated query log (one request at a
// time on a keep-alive undici Pool, so the numbers are latency, not queueing), the server's own
// search time (tookUs) beside it, a closed-loop throughput run, and the worst latency a client
// sees while the searcher hot-swaps to another version under load.
//
//   npm run build && node dist/bench/searcher-http.js --offers 500000 [--columns 2]
//     [--data .imatch/bench/searcher-500k] [--zk host:port] [--requests 5000] [--seconds 20]
//     [--warmup 1000] [--k 10] [--concurrency 8] [--md bench/BENCHMARKS-searcher.md]
//
// With 2 columns, column 0 of 500k offers holds about 250k. Data and index versions are reused
// when --data already holds them (the first run generates and builds: minutes). Without --zk it
// starts its own ZooKeeper (infra/) in a temp folder. Bounded: every phase stops by count or time;
// every process it starts (searcher, ZooKeeper) is stopped at the end by PID, also on failure;
// everything listens on 127.0.0.1 only.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import type { IndexManifest } from '../core/index-manifest.js';
import { tokenize } from '../core/normalize.js';
import type { SearchRequest, SearchResponse } from '../core/search-contract.js';
import { type IndexPointer, zkPaths } from '../core/zk-paths.js';
import { connectZk, type ZkClient } from '../core/zookeeper.js';
import { fetchServer, startZooKeeper, stopServer } from '../infra/servers.js';
import { zooKeeperDir } from '../infra/zookeeper-server.js';

const CLI = fileURLToPath(new URL('../bin/imatch.js', import.meta.url));

const { values: args } = parseArgs({
  options: {
    offers: { type: 'string', default: '500000' },
    columns: { type: 'string', default: '2' },
    data: { type: 'string' },
    zk: { type: 'string' },
    requests: { type: 'string', default: '5000' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '1000' },
    k: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '8' },
    md: { type: 'string' },
  },
});
const offers = Number(args.offers);
const columns = Number(args.columns);
const maxRequests = Number(args.requests);
const maxSeconds = Number(args.seconds);
const warmup = Number(args.warmup);
const k = Number(args.k);
const concurrency = Number(args.concurrency);
const dataDir = resolve(
  args.data ?? `.imatch/bench/searcher-${offers >= 1000 ? `${offers / 1000}k` : offers}`,
);
const snapshotDir = join(dataDir, 'snapshot');
const storeDir = join(dataDir, `store-${columns}`);

const say = (msg: string) => process.stderr.write(`[searcher-http] ${msg}\n`);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen({ host: '127.0.0.1', port: 0 }, () => {
      const a = srv.address();
      srv.close(() => res(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

/** Runs `imatch ...args` to the end with output on stderr; throws on a non-zero exit. */
async function imatch(cliArgs: string[]): Promise<void> {
  const child = spawn(process.execPath, [CLI, ...cliArgs], { stdio: ['ignore', 2, 2] });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  if (code !== 0) throw new Error(`imatch ${cliArgs[0]} exited with ${code}`);
}

async function versions(): Promise<string[]> {
  if (!existsSync(storeDir)) return [];
  return (await readdir(storeDir)).filter((n) => /^\d{8}T\d{9}Z-[0-9a-f]{6}$/.test(n)).sort();
}

async function prepareData(): Promise<{ a: IndexManifest; b: IndexManifest; dirA: string; dirB: string }> {
  if (!existsSync(join(snapshotDir, 'snapshot.json'))) {
    say(`generating ${offers} offers into ${snapshotDir}`);
    await mkdir(dataDir, { recursive: true });
    await imatch([
      'gen',
      '--out',
      snapshotDir,
      '--offers',
      String(offers),
      '--queries',
      '200000',
      '--changes',
      '0',
    ]);
  }
  // Two versions of the same snapshot: A is served first, B is swapped to under load.
  while ((await versions()).length < 2) {
    say(`building ${columns} columns into ${storeDir}`);
    await imatch([
      'build-index',
      '--snapshot',
      snapshotDir,
      '--columns',
      String(columns),
      '--out',
      storeDir,
      '--progress',
      'log',
    ]);
  }
  const [va, vb] = (await versions()).slice(-2) as [string, string];
  const read = async (v: string) =>
    JSON.parse(await readFile(join(storeDir, v, 'manifest.json'), 'utf8')) as IndexManifest;
  return { a: await read(va), b: await read(vb), dirA: join(storeDir, va), dirB: join(storeDir, vb) };
}

async function publish(zk: ZkClient, root: string, m: IndexManifest, dir: string): Promise<void> {
  const pointer: IndexPointer = {
    version: m.version,
    dir,
    columns: m.columns,
    watermark: m.watermark,
    publishedAt: new Date().toISOString(),
  };
  const path = zkPaths(root).indexCurrent;
  if ((await zk.exists(path)) === null) {
    await zk.mkdirp(path.slice(0, path.lastIndexOf('/')));
    await zk.create(path, JSON.stringify(pointer));
  } else {
    await zk.set(path, JSON.stringify(pointer));
  }
}

/** 1-, 2- and 3-word queries (after normalization) from the query log, distinct, at most `per` each. */
async function queriesByWords(per: number): Promise<Map<number, string[]>> {
  const groups = new Map<number, Set<string>>([
    [1, new Set()],
    [2, new Set()],
    [3, new Set()],
  ]);
  const text = await readFile(join(snapshotDir, 'queries.jsonl'), 'utf8');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const q = (JSON.parse(line) as { q: string }).q;
    const g = groups.get(tokenize(q).length);
    if (g !== undefined && g.size < per) g.add(q);
  }
  return new Map([...groups].map(([n, s]) => [n, [...s]]));
}

interface Latency {
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  serverP50Us: number;
  serverP99Us: number;
  avgHits: number;
}

const histogram = () =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });

async function search(pool: Pool, req: SearchRequest): Promise<{ ok: boolean; body?: SearchResponse }> {
  try {
    const res = await pool.request({
      method: 'POST',
      path: '/search',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(req),
    });
    const body = (await res.body.json()) as SearchResponse;
    return res.statusCode === 200 ? { ok: true, body } : { ok: false };
  } catch {
    return { ok: false };
  }
}

/** One request at a time: latency without queueing. Bounded by count and by time. */
async function sequential(pool: Pool, queries: string[]): Promise<Latency> {
  for (let i = 0; i < warmup; i++) await search(pool, { query: queries[i % queries.length]!, k });
  const client = histogram();
  const server = histogram();
  let errors = 0;
  let hits = 0;
  const deadline = performance.now() + maxSeconds * 1000;
  let n = 0;
  for (; n < maxRequests && performance.now() < deadline; n++) {
    const t0 = performance.now();
    const r = await search(pool, { query: queries[n % queries.length]!, k });
    client.recordValue(Math.max(1, Math.round((performance.now() - t0) * 1000)));
    if (!r.ok || r.body === undefined) {
      errors++;
      continue;
    }
    server.recordValue(Math.max(1, r.body.tookUs));
    hits += r.body.hits.length;
  }
  const out: Latency = {
    requests: n,
    errors,
    p50Ms: client.getValueAtPercentile(50) / 1000,
    p99Ms: client.getValueAtPercentile(99) / 1000,
    maxMs: client.maxValue / 1000,
    serverP50Us: server.getValueAtPercentile(50),
    serverP99Us: server.getValueAtPercentile(99),
    avgHits: n === 0 ? 0 : Math.round((hits / n) * 10) / 10,
  };
  client.destroy();
  server.destroy();
  return out;
}

interface Closed {
  concurrency: number;
  seconds: number;
  requests: number;
  errors: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** `workers` clients, each sending its next request when the previous answered, until `stop()` says so. */
async function closedLoop(
  pool: Pool,
  queries: string[],
  workers: number,
  stop: () => boolean,
): Promise<Closed> {
  const h = histogram();
  let errors = 0;
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = w * 7919; !stop(); i++) {
        const s = performance.now();
        const r = await search(pool, { query: queries[i % queries.length]!, k });
        h.recordValue(Math.max(1, Math.round((performance.now() - s) * 1000)));
        n++;
        if (!r.ok) errors++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const out: Closed = {
    concurrency: workers,
    seconds: Math.round(seconds * 10) / 10,
    requests: n,
    errors,
    rps: Math.round((n - errors) / seconds),
    p50Ms: h.getValueAtPercentile(50) / 1000,
    p99Ms: h.getValueAtPercentile(99) / 1000,
    maxMs: h.maxValue / 1000,
  };
  h.destroy();
  return out;
}

function metricValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m === null ? undefined : Number(m[1]);
}

interface SearcherProc {
  child: ChildProcess;
  lines: Record<string, unknown>[];
}

function startSearcher(zk: string, root: string): SearcherProc {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'searcher',
      '--column',
      '0',
      '--replica',
      'bench',
      '--zk-connect',
      zk,
      '--zk-root',
      root,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--isupdate',
      'false',
    ],
    { stdio: ['ignore', 'pipe', 2], env: { ...process.env, IMATCH_LOG_PRETTY: '0' } },
  );
  const proc: SearcherProc = { child, lines: [] };
  let rest = '';
  child.stdout?.on('data', (c: Buffer) => {
    const text = rest + c.toString('utf8');
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) {
      try {
        proc.lines.push(JSON.parse(p) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  return proc;
}

async function waitRegistered(
  zk: ZkClient,
  root: string,
  version: string,
  timeoutMs: number,
): Promise<string> {
  const path = zkPaths(root).searcherReplica(0, 'bench');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const node = await zk.get(path);
    if (node !== null) {
      const reg = JSON.parse(node.data.toString('utf8')) as { url: string; version: string };
      if (reg.version === version) return reg.url;
    }
    await sleep(20);
  }
  throw new Error(`searcher did not register version ${version} within ${timeoutMs} ms`);
}

const logLine = (p: SearcherProc, msg: string) => p.lines.filter((l) => l.msg === msg).at(-1);

async function main(): Promise<void> {
  const cleanups: (() => Promise<void>)[] = [];
  const cleanupAll = async () => {
    for (const c of cleanups.reverse()) await c().catch((err) => say(`cleanup failed: ${String(err)}`));
  };
  process.once('SIGINT', () => void cleanupAll().then(() => process.exit(130)));
  const loadBefore = loadavg()[0]!;
  try {
    const { a, b, dirA, dirB } = await prepareData();
    let zkAddress = args.zk;
    if (zkAddress === undefined) {
      const infraDir = await mkdtemp(join(tmpdir(), 'imatch-bench-zk-'));
      const cacheDir =
        process.env.IMATCH_INFRA_CACHE_DIR || join(process.env.HOME ?? tmpdir(), '.cache/imatch/infra');
      say('starting ZooKeeper');
      const jars = await fetchServer('zookeeper', { cacheDir });
      const server = await startZooKeeper({
        infraDir,
        jars,
        port: await freePort(),
        startTimeoutMs: 120_000,
      });
      cleanups.push(async () => {
        await stopServer(zooKeeperDir(infraDir));
        await rm(infraDir, { recursive: true, force: true });
      });
      zkAddress = server.address;
    }
    const zk = await connectZk({ connect: zkAddress, sessionTimeoutMs: 10_000 });
    const root = `/imatch-bench/searcher-${process.pid}-${randomBytes(3).toString('hex')}`;
    cleanups.push(async () => {
      await zk.deleteRecursive(root);
      await zk.close();
    });
    await publish(zk, root, a, dirA);
    const seg = a.segments[0]!;
    say(
      `column 0 of ${a.version}: ${seg.offers} offers, ${seg.bidwords} bidwords, ${(seg.bytes / 1e6).toFixed(0)} MB`,
    );

    const started = performance.now();
    const proc = startSearcher(zkAddress, root);
    cleanups.push(async () => {
      if (proc.child.exitCode === null) {
        proc.child.kill('SIGTERM');
        const t = setTimeout(() => proc.child.kill('SIGKILL'), 15_000);
        await new Promise((r) => proc.child.once('exit', r));
        clearTimeout(t);
      }
    });
    const url = await waitRegistered(zk, root, a.version, 600_000);
    const startupMs = performance.now() - started;
    const loaded = logLine(proc, 'column index loaded') as { ms?: number } | undefined;
    const pool = new Pool(url, { connections: concurrency, keepAliveTimeout: 10_000, pipelining: 1 });
    cleanups.push(() => pool.close());
    const metricsText = async () => {
      const res = await pool.request({ method: 'GET', path: '/metrics' });
      return res.body.text();
    };
    const m0 = await metricsText();
    const memory = {
      heapUsedMB: Math.round((metricValue(m0, 'imatch_searcher_nodejs_heap_size_used_bytes') ?? 0) / 1e6),
      rssMB: Math.round((metricValue(m0, 'imatch_searcher_process_resident_memory_bytes') ?? 0) / 1e6),
    };
    say(
      `registered after ${(startupMs / 1000).toFixed(1)} s; heap ${memory.heapUsedMB} MB, rss ${memory.rssMB} MB`,
    );

    const groups = await queriesByWords(3000);
    const latency: Record<string, Latency> = {};
    for (const words of [1, 2, 3]) {
      const qs = groups.get(words) ?? [];
      if (qs.length === 0) continue;
      say(`${words}-word queries: ${qs.length} distinct, sequential`);
      latency[`${words}`] = await sequential(pool, qs);
    }
    const mixed = [...groups.values()].flat();
    say(`closed loop, ${concurrency} clients, ${Math.round(maxSeconds / 2)} s`);
    const stopAt = performance.now() + (maxSeconds / 2) * 1000;
    const throughput = await closedLoop(pool, mixed, concurrency, () => performance.now() > stopAt);

    say(`hot swap to ${b.version} under load (2 clients)`);
    let swapped = false;
    const swapStarted = performance.now();
    const load = closedLoop(pool, mixed, 2, () => swapped);
    await publish(zk, root, b, dirB);
    await waitRegistered(zk, root, b.version, 600_000);
    const swapMs = performance.now() - swapStarted;
    await sleep(500);
    swapped = true;
    const duringSwap = await load;
    const swapLine = logLine(proc, 'swapped index version') as { loadMs?: number } | undefined;

    const result = {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model ?? 'unknown',
        memGB: Math.round(totalmem() / 1e9),
        node: process.version,
        loadavgBefore: Math.round(loadBefore * 10) / 10,
        loadavgAfter: Math.round(loadavg()[0]! * 10) / 10,
      },
      data: {
        offers,
        columns,
        version: a.version,
        column0: {
          offers: seg.offers,
          bidwords: seg.bidwords,
          negatives: seg.negatives,
          segmentMB: Math.round(seg.bytes / 1e6),
        },
      },
      load: { columnLoadMs: loaded?.ms, startupToRegisteredMs: Math.round(startupMs), ...memory },
      k,
      latency,
      throughput,
      hotSwap: {
        loadMs: swapLine?.loadMs === undefined ? undefined : Math.round(swapLine.loadMs),
        publishToRegisteredMs: Math.round(swapMs),
        ...duringSwap,
      },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    if (args.md !== undefined) await appendFile(args.md, markdown(result));
  } finally {
    await cleanupAll();
  }
}

function markdown(r: {
  date: string;
  machine: Record<string, unknown>;
  data: { offers: number; columns: number; version: string; column0: Record<string, number> };
  load: Record<string, number | undefined>;
  k: number;
  latency: Record<string, Latency>;
  throughput: Closed;
  hotSwap: Record<string, number | undefined>;
}): string {
  const cmd = process.argv
    .slice(1)
    .map((a) => a.replace(process.cwd() + '/', ''))
    .join(' ');
  const rows = Object.entries(r.latency)
    .map(
      ([w, l]) =>
        `| ${w} | ${l.requests} | ${l.errors} | ${l.p50Ms.toFixed(3)} | ${l.p99Ms.toFixed(3)} | ${l.maxMs.toFixed(1)} | ${l.serverP50Us} | ${l.serverP99Us} | ${l.avgHits} |`,
    )
    .join('\n');
  const t = r.throughput;
  const s = r.hotSwap;
  return `
### Run ${r.date}

- Command: \`node ${cmd}\`
- Machine: ${r.machine.cpus} cores (${r.machine.model}), ${r.machine.memGB} GB, Node ${r.machine.node}; load average ${r.machine.loadavgBefore} before, ${r.machine.loadavgAfter} after (the machine is shared)
- Data: \`imatch gen --offers ${r.data.offers}\`, ${r.data.columns} columns; column 0 of version ${r.data.version}: ${r.data.column0.offers} offers, ${r.data.column0.bidwords} bidwords, ${r.data.column0.negatives} negatives, segment ${r.data.column0.segmentMB} MB
- Column load (loadColumnIndex, checksum verified): ${r.load.columnLoadMs} ms; process start to registered in ZooKeeper: ${r.load.startupToRegisteredMs} ms; heap used after load ${r.load.heapUsedMB} MB, RSS ${r.load.rssMB} MB

POST /search, k=${r.k}, one request at a time on a keep-alive undici Pool (client latency includes HTTP; server = the response's tookUs, the index search alone):

| words | requests | errors | p50 ms | p99 ms | max ms | server p50 us | server p99 us | avg hits |
|---|---|---|---|---|---|---|---|---|
${rows}

Closed loop, ${t.concurrency} clients, mixed 1-3 word queries, ${t.seconds} s: ${t.rps} req/s, p50 ${t.p50Ms.toFixed(3)} ms, p99 ${t.p99Ms.toFixed(3)} ms, max ${t.maxMs.toFixed(1)} ms, ${t.errors} errors.

Hot swap to a second version of the same data under 2 closed-loop clients: new column loaded in ${s.loadMs} ms, publish to re-registered ${s.publishToRegisteredMs} ms; during that window ${s.requests} requests, ${s.errors} errors, p50 ${s.p50Ms?.toFixed(3)} ms, p99 ${s.p99Ms?.toFixed(3)} ms, max ${s.maxMs?.toFixed(1)} ms.
`;
}

await main();
