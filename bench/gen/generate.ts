// `imatch gen` end to end: plans the customers, streams customers.jsonl, offers.jsonl and
// bidwords.jsonl in one pass (advertiser by advertiser), writes snapshot.json, then the query log
// and the change stream. Everything is derived from the seed; nothing reads the clock or
// Math.random, so the same options give byte-identical files. Memory stays flat: rows are
// written as they are made (awaiting the disk when it falls behind), and the only per-offer
// state kept is a 4-byte first-bidword number (for the change stream to rebuild offers).
// Single-threaded: one async producer per run.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ImatchError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import { type ChangeStats, writeChangeStream } from './change-stream.js';
import { customerProfile, defaultCustomers, makePlan, offerCountOf } from './customers.js';
import { makeOffer } from './offers.js';
import { createProgress, type Progress } from './progress.js';
import { type QueryLogStats, writeQueryLog } from './query-log.js';
import { hashText, Rng } from './rng.js';
import { type FileStats, LineWriter } from './snapshot-writer.js';

export const FILES = {
  customers: 'customers.jsonl',
  offers: 'offers.jsonl',
  bidwords: 'bidwords.jsonl',
  snapshot: 'snapshot.json',
  queries: 'queries.jsonl',
  changes: 'changes.jsonl',
} as const;

export interface GenerateOptions {
  /** Output folder (created if missing; our files in it are replaced). */
  out: string;
  offers: number;
  seed: string;
  /** Default: offers / 50. */
  customers?: number;
  queries: number;
  changes: number;
  /** snapshot.json takenAt; default: derived from the seed. */
  takenAt?: string;
  progress?: Progress;
  log?: Logger;
}

export interface GenSummary {
  out: string;
  seed: string;
  takenAt: string;
  counts: {
    customers: number;
    offers: number;
    bidwords: number;
    negativeBidwords: number;
    queries: number;
    /** Distinct popularity ranks drawn (different ranks may still make the same text). */
    queryRanks: number;
    changes: number;
  };
  changeMix: ChangeStats['events'];
  changeOps: ChangeStats['byEntityOp'];
  files: Record<string, FileStats>;
  totalBytes: number;
  seconds: number;
  maxRssMb: number;
}

/** A takenAt derived from the seed: 02:00 UTC on a day of 2025. */
export function takenAtFromSeed(seed: string): string {
  const day = hashText(seed, 7) % 365;
  return new Date(Date.UTC(2025, 0, 1 + day, 2, 0, 0)).toISOString();
}

export async function generate(options: GenerateOptions): Promise<GenSummary> {
  const started = process.hrtime.bigint();
  const log = options.log ?? silentLogger();
  const progress = options.progress ?? createProgress('none', log, false);
  const customers = options.customers ?? defaultCustomers(options.offers);
  const takenAt = options.takenAt ?? takenAtFromSeed(options.seed);
  if (Number.isNaN(Date.parse(takenAt)))
    throw new ImatchError('IM_ERR_CONFIG', `--taken-at ${JSON.stringify(takenAt)} is not a valid time`);
  await mkdir(options.out, { recursive: true });

  const root = Rng.fromSeed(options.seed);
  const plan = makePlan(root, options.offers, customers);
  const files: Record<string, FileStats> = {};
  const open: LineWriter[] = [];
  const writer = (name: string) => {
    const w = new LineWriter(join(options.out, name));
    open.push(w);
    return w;
  };
  const close = async (w: LineWriter, name: string) => {
    files[name] = await w.close();
    open.splice(open.indexOf(w), 1);
  };

  try {
    // 1. Snapshot: customers, offers, bidwords in one pass.
    const cw = writer(FILES.customers);
    const ow = writer(FILES.offers);
    const bw = writer(FILES.bidwords);
    const firstBid = new Uint32Array(options.offers + 2);
    let nextBid = 1;
    let negatives = 0;
    progress.phase('snapshot', options.offers);
    for (let n = 1; n <= customers; n++) {
      const owned = offerCountOf(plan, n);
      const profile = customerProfile(root, n, owned);
      let wait = cw.line(JSON.stringify(profile.row));
      if (wait) await wait;
      const first = plan.offerStart[n - 1] as number;
      for (let k = first; k < first + owned; k++) {
        firstBid[k] = nextBid;
        const draft = makeOffer(root, 'offer', k, profile, nextBid);
        nextBid += draft.bidwords.length;
        wait = ow.line(JSON.stringify(draft.offer));
        if (wait) await wait;
        for (const b of draft.bidwords) {
          if (b.bidMicros === undefined) negatives++;
          wait = bw.line(JSON.stringify(b));
          if (wait) await wait;
        }
        progress.tick();
      }
    }
    firstBid[options.offers + 1] = nextBid;
    progress.end();
    await close(cw, FILES.customers);
    await close(ow, FILES.offers);
    await close(bw, FILES.bidwords);

    const sw = writer(FILES.snapshot);
    sw.line(JSON.stringify({ takenAt, watermark: 0 }));
    await close(sw, FILES.snapshot);

    // 2. Query log.
    const qw = writer(FILES.queries);
    const queryStats: QueryLogStats = await writeQueryLog(root, plan, options.queries, qw, progress);
    await close(qw, FILES.queries);

    // 3. Change stream.
    const chw = writer(FILES.changes);
    const changeStats = await writeChangeStream({ root, plan, firstBid }, options.changes, chw, progress);
    await close(chw, FILES.changes);

    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const summary: GenSummary = {
      out: options.out,
      seed: options.seed,
      takenAt,
      counts: {
        customers,
        offers: options.offers,
        bidwords: nextBid - 1,
        negativeBidwords: negatives,
        queries: queryStats.lines,
        queryRanks: queryStats.ranks,
        changes: changeStats.lines,
      },
      changeMix: changeStats.events,
      changeOps: changeStats.byEntityOp,
      files,
      totalBytes: Object.values(files).reduce((s, f) => s + f.bytes, 0),
      seconds: Math.round(seconds * 100) / 100,
      maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    log.info(
      { counts: summary.counts, totalBytes: summary.totalBytes, seconds: summary.seconds },
      'gen: done',
    );
    return summary;
  } catch (err) {
    await Promise.all(open.map((w) => w.abort()));
    throw err;
  }
}
