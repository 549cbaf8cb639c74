// isupdate's own cost, in process (no Kafka, no HTTP): change messages from an `imatch gen`
// change stream go through IsUpdate.ingest (WAL append + one fdatasync per micro-batch, then
// ColumnIndex.apply) into a real column index loaded from an `imatch build-index` segment, for
// several micro-batch sizes. Shows the Pora trade-off: batch 1 pays one fsync per message, a
// larger batch shares it. Also times a WAL replay (the start-up / after-switch catch-up).
//
//   npm run build && node dist/bench/isupdate-ingest.js [--offers 100000] [--messages 20000]
//     [--batches 1,10,100,1000] [--data DIR] [--json out.json]
// Bounded: each batch size ingests the same --messages messages once, into a fresh index.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../core/logger.js';
import type { Change, ChangeMessage } from '../core/model.js';
import { loadColumnIndex } from '../services/searcher/index/column-index.js';
import { IsUpdate, type RawMessage } from '../services/searcher/isupdate/isupdate.js';
import { Wal } from '../services/searcher/isupdate/wal.js';
import { Env, machine } from './incremental-env.js';

const { values: args } = parseArgs({
  options: {
    offers: { type: 'string', default: '100000' },
    messages: { type: 'string', default: '20000' },
    batches: { type: 'string', default: '1,10,100,1000' },
    data: { type: 'string' },
    json: { type: 'string' },
  },
});

const offers = Number(args.offers);
const count = Number(args.messages);
const batches = args.batches.split(',').map(Number);
const dataDir = resolve(args.data ?? `.imatch/bench/ingest-${offers}-${count}`);

async function main(): Promise<void> {
  const env = new Env('isupdate-ingest');
  const work = await mkdtemp(join(tmpdir(), 'imatch-ingest-'));
  try {
    if (!existsSync(join(dataDir, 'changes.jsonl'))) {
      await mkdir(dataDir, { recursive: true });
      env.say(`generating ${offers} offers and ${count} changes into ${dataDir}`);
      await env.runToEnd('gen', [
        'gen',
        '--out',
        dataDir,
        '--offers',
        String(offers),
        '--queries',
        '10',
        '--changes',
        String(count),
        '--seed',
        'ingest',
        '--progress',
        'none',
      ]);
    }
    await env.runToEnd('build-index', [
      'build-index',
      '--snapshot',
      dataDir,
      '--out',
      join(work, 'index'),
      '--columns',
      '1',
      '--progress',
      'off',
    ]);
    const version = (await readdir(join(work, 'index'))).find((n) => /^\d{8}T/.test(n))!;
    const versionDir = join(work, 'index', version);
    const text = await readFile(join(dataDir, 'changes.jsonl'), 'utf8');
    const acceptedAt = new Date().toISOString();
    const raw: RawMessage[] = text
      .split('\n')
      .filter((l) => l !== '')
      .slice(0, count)
      .map((l, i) => ({
        offset: i,
        value: Buffer.from(
          JSON.stringify({ ...(JSON.parse(l) as Change), id: i + 1, acceptedAt } as ChangeMessage),
        ),
      }));

    const results: Array<Record<string, number>> = [];
    for (const b of batches) {
      const index = await loadColumnIndex(versionDir, 0, { verify: false });
      const walDir = join(work, `wal-${b}`);
      const wal = await Wal.open(walDir);
      const isu = new IsUpdate({ wal, live: { current: () => index }, batchSize: b, logger: silentLogger() });
      // Kafka hands over up to ~1,000 messages per fetch; do the same.
      const t0 = performance.now();
      for (let i = 0; i < raw.length; i += 1000) await isu.ingest(0, raw.slice(i, i + 1000));
      const ms = performance.now() - t0;
      const appends = Math.ceil(raw.length / b);
      await wal.close();

      // Replay of the whole WAL into a freshly loaded index (what a restart does).
      const fresh = await loadColumnIndex(versionDir, 0, { verify: false });
      const wal2 = await Wal.open(walDir);
      const isu2 = new IsUpdate({
        wal: wal2,
        live: { current: () => undefined },
        batchSize: b,
        logger: silentLogger(),
      });
      const r0 = performance.now();
      const replayed = await isu2.catchUp(fresh);
      const replayMs = performance.now() - r0;
      await wal2.close();
      const row = {
        batch: b,
        messages: raw.length,
        seconds: Math.round(ms) / 1000,
        messagesPerSecond: Math.round((raw.length * 1000) / ms),
        msPerAppend: Math.round((ms / appends) * 100) / 100,
        replayed,
        replayMessagesPerSecond: Math.round((replayed * 1000) / replayMs),
      };
      results.push(row);
      env.say(JSON.stringify(row));
      await rm(walDir, { recursive: true, force: true });
    }
    const report = {
      bench: 'isupdate-ingest',
      date: new Date().toISOString(),
      command: `node dist/bench/isupdate-ingest.js ${process.argv.slice(2).join(' ')}`.trim(),
      machine: machine(),
      data: { offers, messages: count, dataDir, disk: tmpdir() },
      results,
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    if (args.json !== undefined) await writeFile(args.json, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
    await env.close();
  }
}

await main();
