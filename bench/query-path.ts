// End-to-end benchmark of the query path: blender -> merger -> N searcher columns (one replica
// each) over an `imatch gen` data set, side by side in the same run with the bare chain
// (bench/bare-chain: same shape, fastify + undici, trivial handlers). For each chain: a closed-loop
// concurrency ramp finds peak throughput, then an open-loop run at half of that peak measures
// p50/p99 (latency from each request's due time). Target (DESIGN.md): real peak >= 60% of the
// bare peak, p99 < 15 ms at half of peak.
//
//   npm run build && node dist/bench/query-path.js --offers 1000000 [--data .imatch/bench/bp-1m]
//     [--columns 2] [--n 10] [--step-ms 8000] [--steps 4,8,16,32,64,128] [--cpu-prof DIR]
//     [--zk host:port --kafka host:port] [--json results.json]
// Without --zk/--kafka it starts its own ZooKeeper and Kafka (infra/servers.ts) in a temp folder
// and stops them at the end. The data set and index are reused when --data already holds them.
// Every process it starts is stopped at the end by PID (never by name).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { downServers, upServers } from '../infra/servers.js';
import { startBareChain } from './bare-chain/chain.js';
import { findPeak, type LoadResult, runLoad } from './http-load.js';

const CLI = fileURLToPath(new URL('../bin/imatch.js', import.meta.url));

const { values: args } = parseArgs({
  options: {
    offers: { type: 'string', default: '1000000' },
    data: { type: 'string' },
    columns: { type: 'string', default: '2' },
    n: { type: 'string', default: '10' },
    'step-ms': { type: 'string', default: '8000' },
    'warmup-ms': { type: 'string', default: '2000' },
    steps: { type: 'string', default: '4,8,16,32,64,128' },
    'half-ms': { type: 'string', default: '15000' },
    'cpu-prof': { type: 'string' },
    zk: { type: 'string' },
    kafka: { type: 'string' },
    json: { type: 'string' },
    'only-real': { type: 'boolean', default: false },
  },
});

const offers = Number(args.offers);
const columns = Number(args.columns);
const n = Number(args.n);
const stepMs = Number(args['step-ms']);
const warmupMs = Number(args['warmup-ms']);
const halfMs = Number(args['half-ms']);
const steps = args.steps.split(',').map(Number);
const dataDir = resolve(args.data ?? `.imatch/bench/bp-${offers}`);
const cpuProfDir = args['cpu-prof'] === undefined ? undefined : resolve(args['cpu-prof']);

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

function run(name: string, cliArgs: string[], nodeArgs: string[] = []): Proc {
  const child = spawn(process.execPath, [...nodeArgs, CLI, ...cliArgs], {
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

interface ChainRun {
  name: string;
  ramp: LoadResult[];
  peak: LoadResult;
  half?: LoadResult;
}

function row(r: LoadResult): string {
  const mode = r.mode === 'open' ? `open ${r.rate}/s` : `c=${r.concurrency}`;
  return `| ${mode} | ${r.rps} | ${r.p50Ms} | ${r.p90Ms} | ${r.p99Ms} | ${r.maxMs} | ${r.errors} | ${r.degraded} | ${r.shed} |`;
}

async function main(): Promise<void> {
  const t0 = Date.now();
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
    }
    await ensureSnapshot();
    const root = `/imatch-bench/qp-${process.pid}-${randomBytes(3).toString('hex')}`;
    const indexDir = join(dataDir, `index-${columns}`);
    const zkFlags = ['--zk-connect', zk, '--zk-root', root];
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

    const profArgs = (name: string) =>
      cpuProfDir === undefined
        ? []
        : ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, `--cpu-prof-name=${name}.cpuprofile`];
    const procs: Proc[] = [];
    cleanups.push(async () => {
      await Promise.all(procs.map(stop));
    });
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
          ...zkFlags,
        ],
        profArgs(`searcher-${c}`),
      );
      procs.push(p);
      searcherUrls.push(`http://127.0.0.1:${port}`);
    }
    const mergerPort = await freePort();
    const merger = run(
      'merger',
      ['merger', '--port', String(mergerPort), '--log-level', 'warn', ...zkFlags],
      profArgs('merger'),
    );
    procs.push(merger);
    const blenderPort = await freePort();
    const blender = run(
      'blender',
      [
        'blender',
        '--port',
        String(blenderPort),
        '--log-level',
        'warn',
        ...zkFlags,
        '--kafka-brokers',
        kafka,
        '--topic-pv',
        `imatch-bench.pv-${process.pid}`,
        '--click-keys',
        `1:${randomBytes(32).toString('hex')}`,
      ],
      profArgs('blender'),
    );
    procs.push(blender);
    const tl = Date.now();
    for (let c = 0; c < columns; c++) await waitReady(`searcher-${c}`, searcherUrls[c]!, procs[c]!);
    say(`searchers loaded in ${((Date.now() - tl) / 1000).toFixed(1)} s`);
    await waitReady('merger', `http://127.0.0.1:${mergerPort}`, merger);
    await waitReady('blender', `http://127.0.0.1:${blenderPort}`, blender);
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

    const chains = [
      { name: 'iMatch', url: realUrl },
      ...(args['only-real'] ? [] : [{ name: 'bare chain', url: bare.url }]),
    ];
    const runs: ChainRun[] = [];
    const common = { paths, durationMs: stepMs, warmupMs, degradedMarker: '"degraded":true' };
    for (const chain of chains) {
      say(`warming up ${chain.name}`);
      await runLoad({ ...common, origin: chain.url, concurrency: 16, durationMs: 5_000, warmupMs: 0 });
    }
    for (const chain of chains) {
      say(`ramp ${chain.name}`);
      const { peak, steps: ramp } = await findPeak({
        ...common,
        origin: chain.url,
        steps,
        onStep: (r) =>
          say(
            `  ${chain.name} c=${r.concurrency}: ${r.rps} req/s p50 ${r.p50Ms} p99 ${r.p99Ms} ms, errors ${r.errors}`,
          ),
      });
      runs.push({ name: chain.name, ramp, peak });
    }
    for (const chainRun of runs) {
      const chain = chains.find((c) => c.name === chainRun.name)!;
      const rate = Math.max(1, Math.round(chainRun.peak.rps / 2));
      say(`${chain.name} open loop at ${rate}/s (half of peak)`);
      chainRun.half = await runLoad({
        ...common,
        origin: chain.url,
        concurrency: 64,
        rate,
        durationMs: halfMs,
      });
      say(
        `  p50 ${chainRun.half.p50Ms} p99 ${chainRun.half.p99Ms} ms, errors ${chainRun.half.errors}, shed ${chainRun.half.shed}`,
      );
    }

    const real = runs[0]!;
    const bareRun = runs[1];
    const lines: string[] = [];
    lines.push(
      `Machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GB, Node ${process.version}; ` +
        `${new Date().toISOString()}`,
    );
    lines.push(
      `Data: ${offers} offers (imatch gen), ${columns} columns x 1 replica, n=${n}, ${paths.length} distinct query lines`,
    );
    lines.push('');
    for (const r of runs) {
      lines.push(`### ${r.name}`);
      lines.push('| load | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | degraded | shed |');
      lines.push('|---|---|---|---|---|---|---|---|---|');
      for (const s of r.ramp) lines.push(row(s));
      if (r.half !== undefined) lines.push(row(r.half));
      lines.push('');
    }
    if (bareRun !== undefined) {
      const ratio = real.peak.rps / bareRun.peak.rps;
      lines.push(
        `Peak: iMatch ${real.peak.rps} req/s (c=${real.peak.concurrency}), bare ${bareRun.peak.rps} req/s ` +
          `(c=${bareRun.peak.concurrency}): ${(ratio * 100).toFixed(1)}% (target >= 60%).`,
      );
    }
    lines.push(`p99 at half of peak: iMatch ${real.half?.p99Ms} ms (target < 15 ms).`);
    process.stdout.write(`${lines.join('\n')}\n`);
    if (args.json !== undefined) {
      await writeFile(
        args.json,
        JSON.stringify({ offers, columns, n, runs, at: new Date().toISOString() }, null, 2),
      );
    }
    say(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    await cleanupAll();
    for (const p of started) await stop(p);
  }
}

await main();
