// The blender alone: `imatch blender` (real ZooKeeper and Kafka: the run-time settings and the
// page-view log as in production) in front of a canned merger that answers POST /merge with the
// top n of 100 realistic hits and does nothing else, driven open loop with the generated query log.
// Reports the blender process's CPU per request (all its threads), the client's latency and the
// blender's event-loop lag, so the blender's own costs can be measured and profiled without the
// searchers and the merger competing for the same cores (bench/query-path.ts runs the whole chain).
// The canned merger speaks HTTP (`--merger-url http://...`), so the blender's merger hop here is
// its HTTP client, not the frame RPC hop it uses with a discovered `imatch merger`.
//
//   npm run build && node dist/bench/blender-only.js --data DIR --zk host:port --kafka host:port
//     [--rate 1000] [--ms 8000] [--rounds 3] [--cpu-prof DIR] [--node-flags="FLAGS"]
// --data: an `imatch gen` folder (its queries.jsonl). ZooKeeper and Kafka must be running (`imatch
// infra up`). The first round warms the JIT; compare later rounds. Everything listens on 127.0.0.1
// and every process started is stopped at the end.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FRONT_NODE_FLAGS } from '../core/node-flags.js';
import { cannedHits } from './canned-hits.js';
import { runLoad } from './http-load.js';
import { cpuMsOf } from './proc-cpu.js';

const CLI = fileURLToPath(new URL('../bin/imatch.js', import.meta.url));

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    zk: { type: 'string', default: '127.0.0.1:2181' },
    kafka: { type: 'string', default: '127.0.0.1:9092' },
    rate: { type: 'string', default: '1000' },
    ms: { type: 'string', default: '8000' },
    rounds: { type: 'string', default: '3' },
    'cpu-prof': { type: 'string' },
    'node-flags': { type: 'string' },
  },
});
if (args.data === undefined) throw new Error('--data DIR (an imatch gen folder) is required');

const HITS = cannedHits(0);

function cannedMerger(): Promise<{ url: string; close: () => void }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      const { n } = JSON.parse(body) as { n: number };
      const out = JSON.stringify({
        hits: HITS.slice(0, n),
        coverage: { columns: 2, answered: 2 },
        degraded: false,
        tookUs: 100,
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => server.close(),
      }),
    ),
  );
}

function startBlender(mergerUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const flags =
    args['node-flags'] === undefined ? FRONT_NODE_FLAGS : args['node-flags'].split(' ').filter(Boolean);
  const prof = args['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`];
  const child = spawn(
    process.execPath,
    [
      ...flags,
      ...prof,
      CLI,
      'blender',
      '--port',
      '0',
      '--log-level',
      'warn',
      '--zk-connect',
      args.zk,
      '--zk-root',
      `/imatch-bench-blender-${process.pid}`,
      '--kafka-brokers',
      args.kafka,
      '--topic-pv',
      `imatch-bench.blender-pv-${process.pid}`,
      '--click-keys',
      `1:${randomBytes(32).toString('hex')}`,
      '--merger-url',
      mergerUrl,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line !== undefined) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
    child.once('exit', (code) => reject(new Error(`blender exited (${code}) before listening`)));
  });
}

const paths = (await readFile(join(args.data, 'queries.jsonl'), 'utf8'))
  .split('\n')
  .filter((l) => l.trim() !== '')
  .slice(0, 20_000)
  .map((l) => {
    const q = JSON.parse(l) as { q: string; region?: string };
    return `/v1/ads?q=${encodeURIComponent(q.q)}&n=10${q.region === undefined ? '' : `&region=${q.region}`}`;
  });

const merger = await cannedMerger();
const blender = await startBlender(merger.url);
const load = loadavg().map((l) => l.toFixed(2));
try {
  for (let r = 0; r < Number(args.rounds); r++) {
    let before = 0;
    const res = await runLoad({
      origin: blender.url,
      paths,
      concurrency: 16,
      rate: Number(args.rate),
      durationMs: Number(args.ms),
      warmupMs: r === 0 ? 2000 : 0,
      onMeasureStart: () => {
        before = cpuMsOf(blender.child.pid!);
      },
    });
    const us = ((cpuMsOf(blender.child.pid!) - before) * 1000) / Math.max(1, res.requests);
    const metrics = await (await fetch(`${blender.url}/metrics`)).text();
    const lag = /^\S+_eventloop_lag_p99_seconds (\S+)$/m.exec(metrics)?.[1];
    process.stdout.write(
      `round ${r}${r === 0 ? ' (warm-up)' : ''}: ${res.rps.toFixed(0)} req/s, statuses ${JSON.stringify(res.statuses)}, ` +
        `blender CPU ${us.toFixed(0)} us/request, p50 ${res.p50Ms} ms, p99 ${res.p99Ms} ms, ` +
        `event-loop lag p99 since start ${lag === undefined ? '?' : (Number(lag) * 1000).toFixed(1)} ms\n`,
    );
  }
} finally {
  blender.child.kill('SIGTERM');
  merger.close();
}
process.stdout.write(
  `load average before ${load.join(' ')}, after ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${new Date().toISOString()}\n`,
);
