// Benchmark: clicks per second and latency of ONE click-filter process, every decision written to
// Kafka (clicks topic, acks=all; billable ones also to settlement), against the real ZooKeeper and
// Kafka given by --zk / --kafka (start them with `imatch infra up`). 127.0.0.1 only; every phase
// is bounded in time and the script stops the filter it started.
//
//   npx tsx bench/click-filter.ts --zk 127.0.0.1:2181 --kafka 127.0.0.1:9092 \
//     [--rate 5000] [--duration 20] [--warmup 5] [--concurrency 64] [--log-mode await|async] [--producers 2]
//     [--cpu-prof DIR]   (V8 CPU profile of the filter, read it with bench/cpuprofile-top.ts)
//     [--trace-gc]       (the filter's GC pauses: counts and longest, in the summary)
//     [--filter-log FILE] (the filter's own output, --trace-gc lines included, to line up with the
//                          slow windows: the report gives when the open loop started, in ms of the filter's life)
//     [--filter-node-args='--max-semi-space-size=64']   (node flags for the filter process; default
//                        core/node-flags.ts CLICK_FILTER_NODE_FLAGS, what `imatch start` uses; --filter-node-args= for none)
//
// Traffic: pre-minted genuine tokens (core/click-token.ts, as the blender makes them), each a new
// page view, 90% from a desktop browser, 5% from a crawler (not billable), 5% replays of an
// earlier token (duplicates); client addresses spread over 65,536 values through X-Forwarded-For
// (the filter runs with --trust-proxy), so every rule, rate limits included, runs on every click.
// Phases:
//   open loop   requests start at --rate whatever the answers do; latency counted from the moment
//               each request was due (no coordinated omission); the target is 5,000/s, p99 < 5 ms;
//   closed loop --concurrency workers back to back: the peak the process sustains.
// Afterwards the clicks topic must hold exactly one record per request answered 302 and the
// settlement topic one per billable decision, or the run fails.
// The load generator shares the 2 cores with the filter and with Kafka: the numbers are for the
// whole machine doing all three.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import hdr from 'hdr-histogram-js';
import { Pool } from 'undici';
import { createKeyring, encodeClickToken } from '../core/click-token.js';
import { createKafka } from '../core/kafka.js';
import { CLICK_FILTER_NODE_FLAGS } from '../core/node-flags.js';
import { cpuMsOf } from './proc-cpu.js';

const { values: args } = parseArgs({
  options: {
    zk: { type: 'string', default: '127.0.0.1:2181' },
    kafka: { type: 'string', default: '127.0.0.1:9092' },
    rate: { type: 'string', default: '5000' },
    duration: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '64' },
    'log-mode': { type: 'string', default: 'await' },
    producers: { type: 'string', default: '2' },
    'cpu-prof': { type: 'string' },
    'trace-gc': { type: 'boolean', default: false },
    'filter-log': { type: 'string' },
    'filter-node-args': { type: 'string', default: CLICK_FILTER_NODE_FLAGS.join(' ') },
    'skip-closed': { type: 'boolean', default: false },
  },
});
for (const h of [args.zk, args.kafka])
  if (!/^127\.\d+\.\d+\.\d+:\d+$/.test(h!)) throw new Error(`benchmarks only talk to 127.0.0.1, got ${h}`);

const RATE = Number(args.rate);
const DURATION_S = Number(args.duration);
const WARMUP_S = Number(args.warmup);
const CONC = Number(args.concurrency);
const CLI = fileURLToPath(new URL('../bin/imatch.js', import.meta.url));
const BROWSER =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36';
const CRAWLER = 'Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)';

const run = randomBytes(4).toString('hex');
const topics = { clicks: `bench.clicks.${run}`, settlement: `bench.settlement.${run}` };
const secret = randomBytes(32);
const ring = createKeyring(new Map([[5, secret]]), 5);

interface Req {
  path: string;
  ua: string;
  ip: string;
}

/** Tokens for `n` requests (90% browser, 5% crawler, 5% replay of an earlier one). */
function makeRequests(n: number): Req[] {
  const out: Req[] = [];
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const ip = `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`;
    if (i % 20 === 19 && out.length > 100) {
      const prev = out[(i * 7919) % out.length]!;
      out.push({ ...prev });
      continue;
    }
    const token = encodeClickToken(ring, {
      pvId: randomUUID(),
      position: 1 + (i % 4),
      offerId: `o${i % 50_000}`,
      customerId: `c${i % 5_000}`,
      bidwordId: `b${i % 200_000}`,
      priceMicros: 10_000 * (1 + (i % 90)),
      bidMicros: 1_000_000,
      issuedAtMs: now - 3_000,
      landingUrl: `https://shop${i % 100}.example/item/${i}?utm_source=imatch`,
      clientDigest: randomBytes(8).toString('hex'),
    });
    out.push({ path: `/c/${token}`, ua: i % 20 === 7 ? CRAWLER : BROWSER, ip });
  }
  return out;
}

interface Phase {
  mode: 'open' | 'closed';
  rate?: number;
  concurrency: number;
  seconds: number;
  answered: number;
  errors: number;
  statuses: Record<string, number>;
  shed: number;
  clicksPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  filterCpuPct: number;
  /** CPU of this load generator (one core = 100%). */
  generatorCpuPct: number;
  /** This generator's own event-loop delay (a late request counts against the filter): p99, max. */
  generatorLoopDelayMs: { p99: number; max: number };
  /** The filter's event-loop delay (prom-client's, 10 ms timer) since the previous scrape of its
   * /metrics: since its start for the first phase, so start-up counts too; p99, max. */
  filterLoopDelayMs: { p99: number; max: number };
  /**
   * The 100 ms windows (by due time) with the slowest answers: where a tail comes from.
   * sentLateMaxMs: the most the generator itself sent one of the window's requests after its due time.
   */
  worstWindows: { atS: number; requests: number; over5ms: number; maxMs: number; sentLateMaxMs: number }[];
}

async function phase(
  origin: string,
  reqs: Req[],
  from: { next: number },
  pid: number,
  mode: 'open' | 'closed',
): Promise<Phase> {
  const pool = new Pool(origin, { connections: CONC, pipelining: 1, keepAliveTimeout: 10_000 });
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  const statuses: Record<string, number> = {};
  let answered = 0;
  let errors = 0;
  let shed = 0;
  let measuring = false;
  let cpuAtStart = 0;
  let genAtStart = process.cpuUsage();
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  const windows = new Map<number, { requests: number; over5ms: number; maxUs: number; maxLateUs: number }>();
  const one = async (dueNs: bigint) => {
    // How late the generator itself sent it (its own stalls count as latency, from the due time).
    const lateUs = Number((process.hrtime.bigint() - dueNs) / 1000n);
    const r = reqs[from.next++ % reqs.length]!;
    let status = 'error';
    try {
      const res = await pool.request({
        method: 'GET',
        path: r.path,
        headers: { 'user-agent': r.ua, 'x-forwarded-for': r.ip },
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      status = String(res.statusCode);
      await res.body.dump();
    } catch {
      status = 'error';
    }
    if (!measuring) return;
    const us = Math.max(1, Number((process.hrtime.bigint() - dueNs) / 1000n));
    h.recordValue(us);
    const w = Math.floor(Number(dueNs - start) / 1e8);
    const win = windows.get(w) ?? { requests: 0, over5ms: 0, maxUs: 0, maxLateUs: 0 };
    win.requests++;
    if (us > 5000) win.over5ms++;
    win.maxUs = Math.max(win.maxUs, us);
    win.maxLateUs = Math.max(win.maxLateUs, lateUs);
    windows.set(w, win);
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status === '302') answered++;
    else errors++;
  };
  const start = process.hrtime.bigint();
  const measureFrom = start + BigInt(WARMUP_S * 1e9);
  const end = measureFrom + BigInt(DURATION_S * 1e9);
  const mark = setTimeout(() => {
    measuring = true;
    loopDelay.enable();
    cpuAtStart = cpuMsOf(pid);
    genAtStart = process.cpuUsage();
  }, WARMUP_S * 1000);
  if (mode === 'closed') {
    await Promise.all(
      Array.from({ length: CONC }, async () => {
        while (process.hrtime.bigint() < end) await one(process.hrtime.bigint());
      }),
    );
  } else {
    const pending = new Set<Promise<void>>();
    let sent = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = process.hrtime.bigint();
        if (now >= end) {
          clearInterval(timer);
          resolve();
          return;
        }
        const due = Math.floor((Number(now - start) / 1e9) * RATE);
        while (sent < due) {
          const dueNs = start + BigInt(Math.round((sent / RATE) * 1e9));
          sent++;
          if (pending.size >= CONC * 8) {
            if (measuring) shed++;
            continue;
          }
          const p = one(dueNs).finally(() => pending.delete(p));
          pending.add(p);
        }
      }, 1);
    });
    await Promise.all(pending);
  }
  clearTimeout(mark);
  loopDelay.disable();
  const cpu = (cpuMsOf(pid) - cpuAtStart) / (10 * DURATION_S); // CPU ms per 10 ms = % of one core
  const gen = process.cpuUsage(genAtStart);
  const genPct = Math.round((gen.user + gen.system) / 1e4 / DURATION_S);
  await pool.close();
  const [lagP99, lagMax] = await metrics(origin, [
    'imatch_click_nodejs_eventloop_lag_p99_seconds',
    'imatch_click_nodejs_eventloop_lag_max_seconds',
  ]);
  const ms = (p: number) => Math.round(h.getValueAtPercentile(p)) / 1000;
  const out: Phase = {
    mode,
    concurrency: CONC,
    seconds: DURATION_S,
    answered,
    errors,
    statuses,
    shed,
    clicksPerSecond: Math.round(answered / DURATION_S),
    p50Ms: ms(50),
    p90Ms: ms(90),
    p99Ms: ms(99),
    p999Ms: ms(99.9),
    maxMs: Math.round(h.maxValue) / 1000,
    filterCpuPct: Math.round(cpu),
    generatorCpuPct: genPct,
    generatorLoopDelayMs: {
      p99: Math.round(loopDelay.percentile(99) / 1e4) / 100,
      max: Math.round(loopDelay.max / 1e4) / 100,
    },
    filterLoopDelayMs: { p99: Math.round(lagP99! * 1e5) / 100, max: Math.round(lagMax! * 1e5) / 100 },
    worstWindows: [...windows]
      .sort((a, b) => b[1].maxUs - a[1].maxUs)
      .slice(0, 5)
      .map(([w, v]) => ({
        atS: w / 10,
        requests: v.requests,
        over5ms: v.over5ms,
        maxMs: Math.round(v.maxUs / 100) / 10,
        sentLateMaxMs: Math.round(v.maxLateUs / 100) / 10,
      })),
  };
  if (mode === 'open') out.rate = RATE;
  h.destroy();
  return out;
}

async function metric(origin: string, line: string): Promise<number> {
  return (await metrics(origin, [line]))[0]!;
}

/** One scrape of the filter's /metrics: the value of each line prefix (0 when absent). */
async function metrics(origin: string, lines: string[]): Promise<number[]> {
  const pool = new Pool(origin);
  try {
    const res = await pool.request({ method: 'GET', path: '/metrics' });
    const text = (await res.body.text()).split('\n');
    return lines.map((line) => {
      const hit = text.find((l) => l.startsWith(line));
      return hit === undefined ? 0 : Number(hit.slice(line.length).trim());
    });
  } finally {
    await pool.close();
  }
}

async function topicCount(topic: string): Promise<number> {
  const kafka = createKafka({ brokers: [args.kafka!], clientId: 'bench-click-filter' });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function main(): Promise<void> {
  const spawnedAt = performance.now();
  const filter: ChildProcess = spawn(
    process.execPath,
    [
      ...(args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', args['cpu-prof']] : []),
      ...(args['trace-gc'] ? ['--trace-gc'] : []),
      ...args['filter-node-args']!.split(' ').filter(Boolean),
      CLI,
      'click-filter',
      '--port',
      '0',
      '--zk-connect',
      args.zk!,
      '--zk-root',
      `/bench-click-${run}`,
      '--kafka-brokers',
      args.kafka!,
      '--topic-clicks',
      topics.clicks,
      '--topic-settlement',
      topics.settlement,
      '--click-keys',
      `5:${secret.toString('base64url')}`,
      '--trust-proxy',
      'true',
      '--min-delay-after-pv-ms',
      '0',
      '--log-mode',
      args['log-mode']!,
      '--kafka-producers',
      args.producers!,
      '--log-level',
      'info',
      '--id',
      'bench',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, IMATCH_LOG_PRETTY: '0' } },
  );
  const kill = () => filter.kill('SIGKILL');
  process.once('exit', kill);
  let out = '';
  filter.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const origin = await new Promise<string>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`click filter did not start:\n${out}`)), 60_000);
    const check = setInterval(() => {
      const m = /"url":"(http[^"]+)"[^\n]*"msg":"click-filter listening"/.exec(out);
      if (m) {
        clearInterval(check);
        clearTimeout(deadline);
        resolve(m[1]!);
      }
    }, 50);
  });
  // Enough for both phases at up to ~12,000 clicks/s closed loop; past that, tokens come round again (as duplicates).
  const total = Math.ceil((RATE + 12_000) * (DURATION_S + WARMUP_S));
  process.stderr.write(`minting ${total} tokens...\n`);
  const reqs = makeRequests(total);
  const cursor = { next: 0 };
  const phases: Phase[] = [];
  process.stderr.write(
    `open loop at ${RATE}/s for ${WARMUP_S}+${DURATION_S} s, from ${Math.round(performance.now() - spawnedAt)} ms after the filter was started...\n`,
  );
  phases.push(await phase(origin, reqs, cursor, filter.pid!, 'open'));
  if (!args['skip-closed']) {
    process.stderr.write(`closed loop, ${CONC} connections, ${WARMUP_S}+${DURATION_S} s...\n`);
    phases.push(await phase(origin, reqs, cursor, filter.pid!, 'closed'));
  }
  const sent302 = await metric(origin, 'imatch_click_requests_total{outcome="redirect"}');
  const billable = await metric(origin, 'imatch_click_decisions_total{reason="ok"}');
  const beforeDurable = await metric(origin, 'imatch_click_redirect_before_durable_total');
  const batches = await metric(origin, 'imatch_click_log_batches_total');
  const kafkaSeconds = await metric(origin, 'imatch_click_log_request_seconds_sum');
  // Produce requests slower than 5 / 20 / 100 ms (whole run), from the filter's histogram.
  const bounds = ['0.005', '0.02', '0.1'];
  const within = await metrics(
    origin,
    bounds.map((le) => `imatch_click_log_request_seconds_bucket{le="${le}"}`),
  );
  const kafkaSlow = Object.fromEntries(
    bounds.map((le, i) => [`over${Number(le) * 1000}ms`, batches - within[i]!]),
  );
  filter.kill('SIGTERM');
  await new Promise((r) => filter.once('exit', r));
  process.off('exit', kill);
  if (args['filter-log'] !== undefined) writeFileSync(args['filter-log'], out);
  const [clicksInKafka, settlementsInKafka] = await Promise.all([
    topicCount(topics.clicks),
    topicCount(topics.settlement),
  ]);
  // --trace-gc lines: "[pid:addr] 1234 ms: Mark-Compact 80.1 (95.2) -> 60.3 (96.1) MB, pooled: 0 MB, 45.67 / 0.00 ms ..."
  const gc = { scavenges: 0, markCompacts: 0, maxMarkCompactMs: 0, maxScavengeMs: 0, over5ms: 0, totalMs: 0 };
  for (const line of out.split('\n')) {
    const m = /(Scavenge|Mark-Compact)[^,]*,(?: pooled: [\d.]+ MB,)? ([\d.]+) \/ [\d.]+ ms/.exec(line);
    if (!m) continue;
    const ms = Number(m[2]);
    gc.totalMs += ms;
    if (ms > 5) gc.over5ms++;
    if (m[1] === 'Scavenge') {
      gc.scavenges++;
      gc.maxScavengeMs = Math.max(gc.maxScavengeMs, ms);
    } else {
      gc.markCompacts++;
      gc.maxMarkCompactMs = Math.max(gc.maxMarkCompactMs, ms);
    }
  }
  const result = {
    date: new Date().toISOString(),
    machine: `${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    logMode: args['log-mode'],
    producers: Number(args.producers),
    filterNodeArgs: args['filter-node-args'],
    phases,
    redirects: sent302,
    clicksInKafka,
    billable,
    settlementsInKafka,
    redirectsBeforeDurable: beforeDurable,
    kafkaBatches: batches,
    decisionsPerBatch: batches > 0 ? Math.round((sent302 / batches) * 10) / 10 : 0,
    /** Mean time Kafka took per produce request (acks=all), over the whole run. */
    kafkaRequestMeanMs: batches > 0 ? Math.round((kafkaSeconds / batches) * 10_000) / 10 : 0,
    kafkaRequestsSlow: kafkaSlow,
    everyDecisionLogged: clicksInKafka === sent302 && settlementsInKafka === billable,
    ...(args['trace-gc'] ? { gc: { ...gc, totalMs: Math.round(gc.totalMs) } } : {}),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  for (const p of phases)
    process.stdout.write(
      `| ${p.mode}${p.rate ? ` ${p.rate}/s` : ` c=${p.concurrency}`} | ${p.clicksPerSecond} | ${p.p50Ms} | ${p.p99Ms} | ${p.p999Ms} | ${p.maxMs} | ${p.errors} | ${p.shed} | ${p.filterCpuPct}% | ${p.generatorCpuPct}% |\n`,
    );
  if (!result.everyDecisionLogged) {
    process.stderr.write('FAILED: not every decision is in Kafka\n');
    process.exitCode = 1;
  }
}

await main();
