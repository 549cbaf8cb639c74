// Dispatch throughput: acknowledged changes per second of one `imatch dispatch` process (ids
// from ZooKeeper blocks, acks=all writes to a real Kafka, answer only when durable), closed loop,
// for batch sizes 1 and 100 (changes per POST) at a few client concurrencies. Each step runs a
// fixed time and stops; every answer is checked (200 with one id per change, ids increasing).
//
//   npm run build && node dist/bench/dispatch-throughput.js [--batches 1,100]
//     [--concurrency 1,8,32] [--duration-ms 10000] [--warmup-ms 2000]
//     [--zk host:port --kafka host:port] [--json out.json]
// Without --zk/--kafka it starts its own ZooKeeper and Kafka in a temp folder and stops them at
// the end. 127.0.0.1 only; every process it starts is stopped by PID at the end.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { Env, machine, percentile } from './incremental-env.js';

const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '1,100' },
    concurrency: { type: 'string', default: '1,8,32' },
    'duration-ms': { type: 'string', default: '10000' },
    'warmup-ms': { type: 'string', default: '2000' },
    zk: { type: 'string' },
    kafka: { type: 'string' },
    json: { type: 'string' },
  },
});

const batches = args.batches.split(',').map(Number);
const concurrencies = args.concurrency.split(',').map(Number);
const durationMs = Number(args['duration-ms']);
const warmupMs = Number(args['warmup-ms']);
const secret = randomBytes(24).toString('hex');

interface Step {
  batch: number;
  concurrency: number;
  seconds: number;
  requests: number;
  changes: number;
  errors: number;
  changesPerSecond: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** A realistic change: a bid change (whole bidword, about 150 bytes of JSON). */
function change(n: number) {
  return {
    entity: 'bidword',
    op: 'upsert',
    data: {
      id: `b${n}`,
      offerId: `o${n >> 3}`,
      keyword: 'waterproof hiking boots',
      matchType: 'phrase',
      bidMicros: 1_000_000 + (n % 97) * 10_000,
      status: 'online',
    },
  };
}

async function step(url: string, batch: number, concurrency: number): Promise<Step> {
  const pool = new Pool(url, { connections: concurrency, keepAliveTimeout: 10_000 });
  const latencies: number[] = [];
  let requests = 0;
  let changes = 0;
  let errors = 0;
  let lastId = 0;
  let n = 0;
  let measuring = false;
  const stopAt = Date.now() + warmupMs + durationMs;
  setTimeout(() => {
    measuring = true;
  }, warmupMs);
  let measureStart = 0;
  const worker = async () => {
    while (Date.now() < stopAt) {
      const body = JSON.stringify({ changes: Array.from({ length: batch }, () => change(n++)) });
      const t0 = performance.now();
      try {
        const res = await pool.request({
          path: '/v1/changes',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
          body,
        });
        const answer = (await res.body.json()) as { ids?: number[] };
        const ms = performance.now() - t0;
        const ok = res.statusCode === 200 && answer.ids?.length === batch;
        if (ok) lastId = Math.max(lastId, answer.ids!.at(-1)!);
        if (!measuring) continue;
        if (measureStart === 0) measureStart = performance.now();
        requests++;
        if (ok) {
          changes += batch;
          latencies.push(ms);
        } else errors++;
      } catch {
        if (measuring) errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - measureStart) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    batch,
    concurrency,
    seconds: r(seconds),
    requests,
    changes,
    errors,
    changesPerSecond: Math.round(changes / seconds),
    requestsPerSecond: Math.round(requests / seconds),
    p50Ms: r(percentile(latencies, 50)),
    p99Ms: r(percentile(latencies, 99)),
    maxMs: r(latencies.at(-1) ?? Number.NaN),
  };
}

async function main(): Promise<void> {
  const env = new Env('dispatch-throughput');
  const started = new Date();
  try {
    await env.servers(args.zk, args.kafka);
    const tag = randomBytes(3).toString('hex');
    const topic = `imatch-bench.changes-${tag}`;
    const d = env.run(
      'dispatch',
      [
        'dispatch',
        '--zk-connect',
        env.zk,
        '--zk-root',
        `/imatch-bench-${tag}`,
        '--kafka-brokers',
        env.kafka,
        '--topic-changes',
        topic,
        '--log-level',
        'warn',
      ],
      { IMATCH_SECRET: secret },
    );
    const url = (await env.waitOutput(d, /"service":"dispatch".*"url":"(http:[^"]+)"/))[1]!;
    await env.waitReady(d, url);
    const results: Step[] = [];
    for (const batch of batches) {
      for (const concurrency of concurrencies) {
        const s = await step(url, batch, concurrency);
        results.push(s);
        env.say(
          `batch ${batch} x ${concurrency} clients: ${s.changesPerSecond} changes/s (${s.requestsPerSecond} req/s), p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, errors ${s.errors}`,
        );
      }
    }
    const report = {
      bench: 'dispatch-throughput',
      date: started.toISOString(),
      command: `node dist/bench/dispatch-throughput.js ${process.argv.slice(2).join(' ')}`.trim(),
      machine: machine(),
      durationMs,
      warmupMs,
      results,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    if (args.json !== undefined) await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(
      '\n| changes/POST | clients | changes/s acked | POST/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|---|\n',
    );
    for (const s of results) {
      process.stdout.write(
        `| ${s.batch} | ${s.concurrency} | ${s.changesPerSecond} | ${s.requestsPerSecond} | ${s.p50Ms} | ${s.p99Ms} | ${s.errors} |\n`,
      );
    }
  } finally {
    await env.close();
  }
}

await main();
