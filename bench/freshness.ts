// Freshness: how long after dispatch acknowledges a change it is visible in answers, while
// background changes (an `imatch gen` change stream) flow at --rate changes/s and an open-loop
// query load (the data set's query log) runs at --qps, on the whole engine: dispatch -> Kafka ->
// each searcher's isupdate (WAL append + fsync, apply) -> merger -> blender.
//
// A probe = one bidword upsert with a keyword no other ad has (on an offer this benchmark created),
// posted to dispatch; the clock starts when dispatch's 200 arrives and stops when an answer that
// contains the probe's ad arrives (blender GET /v1/ads, or with --target searcher the searcher's
// POST /search), polled every --poll-ms. So each sample is an upper bound, within one poll
// interval plus one query, of ack -> visible. Target (DESIGN.md): p99 < 250 ms.
//
//   npm run build && node dist/bench/freshness.js [--offers 100000] [--columns 2] [--rate 1000]
//     [--qps 200] [--duration-ms 30000] [--warmup-ms 5000] [--probe-every-ms 100] [--poll-ms 5]
//     [--isupdate-batch 100] [--target blender|searcher] [--data DIR]
//     [--zk host:port --kafka host:port] [--json out.json]
// Without --zk/--kafka it starts its own ZooKeeper and Kafka in a temp folder. Bounded: stops by
// itself after warmup + duration; every process it starts is stopped by PID; 127.0.0.1 only.
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Pool, request } from 'undici';
import { columnOf } from '../core/partition.js';
import { type LoadResult, runLoad } from './http-load.js';
import { Env, freePort, machine, percentile } from './incremental-env.js';

const { values: args } = parseArgs({
  options: {
    offers: { type: 'string', default: '100000' },
    columns: { type: 'string', default: '2' },
    rate: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '20' },
    qps: { type: 'string', default: '200' },
    'duration-ms': { type: 'string', default: '30000' },
    'warmup-ms': { type: 'string', default: '5000' },
    'probe-every-ms': { type: 'string', default: '100' },
    'poll-ms': { type: 'string', default: '5' },
    'isupdate-batch': { type: 'string', default: '100' },
    target: { type: 'string', default: 'blender' },
    data: { type: 'string' },
    zk: { type: 'string' },
    kafka: { type: 'string' },
    json: { type: 'string' },
  },
});

const offers = Number(args.offers);
const columns = Number(args.columns);
const rate = Number(args.rate);
const batch = Number(args.batch);
const qps = Number(args.qps);
const durationMs = Number(args['duration-ms']);
const warmupMs = Number(args['warmup-ms']);
const probeEveryMs = Number(args['probe-every-ms']);
const pollMs = Number(args['poll-ms']);
const target = args.target === 'searcher' ? 'searcher' : 'blender';
const changesNeeded = Math.ceil((rate * (durationMs + warmupMs + 15_000)) / 1000);
const dataDir = resolve(args.data ?? `.imatch/bench/fresh-${offers}-${changesNeeded}`);
const secret = randomBytes(24).toString('hex');
const PROBE_OFFER = 'oprobe';

const env = new Env('freshness');

/** a, b, ..., z, ba, bb, ...: a probe keyword made of letters only (a single token). */
function letters(k: number): string {
  let s = '';
  do {
    s = String.fromCharCode(97 + (k % 26)) + s;
    k = Math.floor(k / 26);
  } while (k > 0);
  return s;
}

/** Lines of a JSON-lines file: the offers of a reused data set, whatever --offers says. */
async function lineCount(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) n++;
  }
  return n;
}

async function post(pool: Pool, changes: unknown[]): Promise<{ status: number; ids?: number[] }> {
  const res = await pool.request({
    path: '/v1/changes',
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
    body: JSON.stringify({ changes }),
  });
  const body = (await res.body.json()) as { ids?: number[] };
  return body.ids === undefined ? { status: res.statusCode } : { status: res.statusCode, ids: body.ids };
}

async function main(): Promise<void> {
  const started = new Date();
  const work = await mkdtemp(join(tmpdir(), 'imatch-freshness-'));
  env.cleanups.push(() => rm(work, { recursive: true, force: true }));
  try {
    await env.servers(args.zk, args.kafka);
    if (!existsSync(join(dataDir, 'changes.jsonl'))) {
      env.say(`generating ${offers} offers and ${changesNeeded} changes into ${dataDir}`);
      await mkdir(dataDir, { recursive: true });
      await env.runToEnd('gen', [
        'gen',
        '--out',
        dataDir,
        '--offers',
        String(offers),
        '--queries',
        '20000',
        '--changes',
        String(changesNeeded),
        '--seed',
        'freshness',
        '--progress',
        'none',
      ]);
    } else env.say(`reusing data set ${dataDir}`);
    const offersInData = await lineCount(join(dataDir, 'offers.jsonl'));
    const lines = (await readFile(join(dataDir, 'changes.jsonl'), 'utf8'))
      .split('\n')
      .filter((l) => l !== '');
    const changes = lines.map((l) => JSON.parse(l) as unknown);
    // A stream shorter than the run would stop feeding part-way, and the run would report
    // freshness without the load it claims (a data set made with `gen --changes 0` has none).
    if (changes.length < changesNeeded)
      throw new Error(
        `${join(dataDir, 'changes.jsonl')} has ${changes.length} changes; ${changesNeeded} are needed for ` +
          `${rate}/s over warm-up + duration + 15 s. Generate a data set with \`imatch gen --changes ${changesNeeded}\`, ` +
          'or leave out --data to let this bench make one.',
      );
    const tag = randomBytes(3).toString('hex');
    const root = `/imatch-bench-fresh-${tag}`;
    const topic = `imatch-bench.fresh-${tag}`;
    const zkArgs = ['--zk-connect', env.zk, '--zk-root', root];
    const kafkaArgs = ['--kafka-brokers', env.kafka, '--topic-changes', topic];
    env.say('building the index');
    await env.runToEnd('build-index', [
      'build-index',
      '--snapshot',
      dataDir,
      '--out',
      join(work, 'index'),
      '--columns',
      String(columns),
      '--publish',
      '--progress',
      'off',
      ...zkArgs,
    ]);

    const d = env.run('dispatch', ['dispatch', ...zkArgs, ...kafkaArgs, '--log-level', 'warn'], {
      IMATCH_SECRET: secret,
    });
    const dispatchUrl = (await env.waitOutput(d, /"service":"dispatch".*"url":"(http:[^"]+)"/))[1]!;
    await env.waitReady(d, dispatchUrl);
    const searcherUrls: string[] = [];
    for (let c = 0; c < columns; c++) {
      const port = await freePort();
      const s = env.run(`searcher-${c}`, [
        'searcher',
        '--port',
        String(port),
        '--column',
        String(c),
        '--replica',
        'a',
        '--data-dir',
        join(work, `data-${c}`),
        '--isupdate-batch',
        args['isupdate-batch'],
        '--log-level',
        'warn',
        ...zkArgs,
        ...kafkaArgs,
      ]);
      const url = `http://127.0.0.1:${port}`;
      await env.waitReady(s, url);
      searcherUrls.push(url);
    }
    env.run('merger', ['merger', ...zkArgs, '--log-level', 'warn']);
    const blenderPort = await freePort();
    const b = env.run('blender', [
      'blender',
      '--port',
      String(blenderPort),
      '--kafka-brokers',
      env.kafka,
      '--topic-pv',
      `imatch-bench.pv-${tag}`,
      '--click-keys',
      `kid1:${randomBytes(32).toString('base64url')}`,
      '--log-level',
      'warn',
      ...zkArgs,
    ]);
    const blenderUrl = `http://127.0.0.1:${blenderPort}`;
    await env.waitReady(b, blenderUrl);

    const dispatchPool = new Pool(dispatchUrl, { connections: 4, keepAliveTimeout: 10_000 });
    const probeColumn = columnOf(PROBE_OFFER, columns);
    const visiblePool = new Pool(target === 'blender' ? blenderUrl : searcherUrls[probeColumn]!, {
      connections: 8,
      keepAliveTimeout: 10_000,
    });
    const setup = await post(dispatchPool, [
      {
        entity: 'customer',
        op: 'upsert',
        data: { id: 'cprobe', name: 'Probe', status: 'online', dailyBudgetMicros: 1e9 },
      },
      {
        entity: 'offer',
        op: 'upsert',
        data: {
          id: PROBE_OFFER,
          customerId: 'cprobe',
          title: 'Freshness probe',
          category: 'probe',
          imageUrl: 'https://img.example.org/probe.jpg',
          landingUrl: 'https://shop.example.org/probe',
          status: 'online',
          quality: 1,
        },
      },
    ]);
    if (setup.status !== 200) throw new Error(`could not create the probe offer: ${setup.status}`);

    /** Does an answer for `keyword` contain the probe offer? */
    const visible = async (keyword: string): Promise<boolean> => {
      if (target === 'blender') {
        const res = await visiblePool.request({ path: `/v1/ads?q=${keyword}&n=3`, method: 'GET' });
        const text = await res.body.text();
        return res.statusCode === 200 && text.includes(`"offerId":"${PROBE_OFFER}"`);
      }
      const res = await visiblePool.request({
        path: '/search',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: keyword, k: 3, textExpansion: false }),
      });
      const text = await res.body.text();
      return res.statusCode === 200 && text.includes(`"offerId":"${PROBE_OFFER}"`);
    };

    // Background change stream at `rate`, in batches, paced; sequential POSTs per stream.
    const stopAt = Date.now() + warmupMs + durationMs;
    const background = { acked: 0, failed: 0, started: Date.now(), ended: 0 };
    const feeding = (async () => {
      const intervalMs = (1000 * batch) / rate;
      const t0 = Date.now();
      for (let i = 0, k = 0; i < changes.length && Date.now() < stopAt; i += batch, k++) {
        const r = await post(dispatchPool, changes.slice(i, i + batch)).catch(() => ({ status: 0 }));
        if (r.status === 200) background.acked += batch;
        else background.failed += batch;
        const wait = t0 + (k + 1) * intervalMs - Date.now();
        if (wait > 0) await sleep(wait);
      }
      background.ended = Date.now();
    })();

    // Query load through the blender, open loop.
    const queryPaths: string[] = [];
    for (const l of (await readFile(join(dataDir, 'queries.jsonl'), 'utf8')).split('\n')) {
      if (l === '') continue;
      const q = JSON.parse(l) as { q: string };
      queryPaths.push(`/v1/ads?q=${encodeURIComponent(q.q)}&n=10`);
    }
    const queries: Promise<LoadResult> = runLoad({
      origin: blenderUrl,
      paths: queryPaths,
      concurrency: 16,
      rate: qps,
      durationMs,
      warmupMs,
    });

    // Probes.
    const samples: number[] = [];
    let lost = 0;
    const measureFrom = Date.now() + warmupMs;
    const probes: Promise<void>[] = [];
    for (let k = 0; Date.now() < stopAt; k++) {
      const keyword = `zq${letters(k)}`;
      probes.push(
        (async () => {
          const r = await post(dispatchPool, [
            {
              entity: 'bidword',
              op: 'upsert',
              data: {
                id: `bprobe${k}`,
                offerId: PROBE_OFFER,
                keyword,
                matchType: 'exact',
                bidMicros: 1_000_000,
                status: 'online',
              },
            },
          ]);
          const acked = performance.now();
          const measured = Date.now() >= measureFrom;
          if (r.status !== 200) {
            if (measured) lost++;
            return;
          }
          const deadline = acked + 10_000;
          while (performance.now() < deadline) {
            if (await visible(keyword).catch(() => false)) {
              if (measured) samples.push(performance.now() - acked);
              return;
            }
            await sleep(pollMs);
          }
          if (measured) lost++;
        })(),
      );
      await sleep(probeEveryMs);
    }
    await Promise.all(probes);
    await feeding;
    const queryLoad = await queries;
    // Where isupdate's time went, per searcher (from its /metrics).
    const isupdate: Record<string, Record<string, number>> = {};
    for (const [c, url] of searcherUrls.entries()) {
      const text = await (await request(`${url}/metrics`)).body.text();
      const metric = (name: string) =>
        Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
      const appends = metric('imatch_isupdate_wal_append_seconds_count');
      isupdate[`column${c}`] = {
        walAppends: appends,
        walAppendMeanMs: Math.round((metric('imatch_isupdate_wal_append_seconds_sum') * 1e5) / appends) / 100,
        meanBatch: Math.round((metric('imatch_isupdate_batch_messages_sum') * 10) / appends) / 10,
        appliedId: metric('imatch_isupdate_applied_id'),
      };
    }
    await dispatchPool.close();
    await visiblePool.close();

    samples.sort((a, b) => a - b);
    const r = (x: number) => Math.round(x * 10) / 10;
    const ackedPerSecond = Math.round(
      (background.acked * 1000) / ((background.ended || Date.now()) - background.started),
    );
    // Said out loud: a run whose background stream fell short measured freshness at a lighter load.
    if (ackedPerSecond < rate * 0.95 || background.failed > 0)
      env.say(
        `WARNING: background changes ${ackedPerSecond}/s acknowledged (${background.failed} failed) against ${rate}/s asked`,
      );
    const report = {
      bench: 'freshness',
      date: started.toISOString(),
      command: `node dist/bench/freshness.js ${process.argv.slice(2).join(' ')}`.trim(),
      machine: machine(),
      data: { offers: offersInData, columns, dataDir },
      visibleIn: target,
      isupdateBatch: Number(args['isupdate-batch']),
      pollMs,
      freshnessMs: {
        probes: samples.length,
        lost,
        p50: r(percentile(samples, 50)),
        p90: r(percentile(samples, 90)),
        p99: r(percentile(samples, 99)),
        max: r(samples.at(-1) ?? Number.NaN),
      },
      backgroundChanges: {
        targetPerSecond: rate,
        batch,
        ackedPerSecond,
        failed: background.failed,
      },
      queryLoad,
      isupdate,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    if (args.json !== undefined) await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await env.close();
  }
}

await main();
