// The learner's own targets (issue 13), in process, on synthetic PV records shaped like the
// blender's (10 ads per page, 5 query tokens, 20k offers, 2k keywords, one click per ~30 ads):
//   1. examples/s of the trainer (parse nothing: records are objects; features, attribution, FTRL
//      update) on one core; target >= 50k/s. JSON parsing and validation, which the Kafka consumer
//      adds, are measured on their own and reported beside it.
//   2. load of a model with 1M non-zero weights (decode with checksum and checks + dense fill), as
//      the blender's hot load does; target < 200 ms.
//   3. the ctr arm's ranking cost per query: 30 candidates scored and sorted (ctr-ranking.ts).
//
//   npm run build && node dist/bench/learner.js [--pages 100000]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Ajv } from 'ajv';
import { PV_RECORD_VERSION, PvRecord } from '../core/pv-record.js';
import { CtrModel, decodeModel, encodeModel } from '../learner/model-file.js';
import { Trainer } from '../learner/trainer.js';
import type { BlenderHit } from '../services/blender/blend.js';
import { rankByCtr } from '../services/blender/ctr-ranking.js';

const { values: args } = parseArgs({ options: { pages: { type: 'string', default: '100000' } } });
const PAGES = Number(args.pages);
const loadBefore = loadavg().map((l) => l.toFixed(2));

let seed = 42;
const rnd = () => {
  seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0;
  return seed / 2 ** 32;
};
const WORDS = Array.from({ length: 3_000 }, (_, i) => `w${i.toString(36)}`);

function page(i: number, timeMs: number): PvRecord {
  const tokens = Array.from({ length: 5 }, () => WORDS[Math.floor(rnd() * WORDS.length)]!);
  return {
    v: PV_RECORD_VERSION,
    pvId: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    timeMs,
    time: new Date(timeMs).toISOString(),
    query: {
      raw: tokens.join(' '),
      normalized: tokens.join(' '),
      rewritten: tokens.join(' '),
      synonyms: [],
      stopwords: [],
    },
    n: 10,
    user: { clientDigest: '0000000000000000' },
    coverage: { columns: 2, answered: 2 },
    degraded: false,
    arm: 'ctr',
    pricing: { reserveMicros: 10_000, stepMicros: 10_000 },
    ads: Array.from({ length: 10 }, (_, k) => ({
      position: k + 1,
      offerId: `o${Math.floor(rnd() * 20_000)}`,
      customerId: `c${Math.floor(rnd() * 2_000)}`,
      bidwordId: `b${Math.floor(rnd() * 50_000)}`,
      keyword: `${tokens[0]} ${tokens[1]}`,
      matchType: k % 3 === 0 ? 'exact' : 'phrase',
      bidMicros: 500_000,
      qualityBp: 5_000,
      score: 1,
      priceMicros: 100_000,
    })),
    tookMs: 1,
  };
}

// 1. Trainer throughput.
const pages = Array.from({ length: PAGES }, (_, i) => page(i, 1_700_000_000_000 + i * 10));
const trainer = new Trainer({
  ftrl: { alpha: 0.05, beta: 1, l1: 1, l2: 1, bits: 22 },
  attributionWindowMs: 60_000,
  holdOutPct: 10,
  evalWindow: 20_000,
});
const t0 = performance.now();
for (let i = 0; i < pages.length; i++) {
  const pv = pages[i]!;
  trainer.pageView(pv);
  if (i % 3 === 0)
    trainer.click({ clickId: `${pv.pvId}:${1 + (i % 10)}`, billable: true, clickedAtMs: pv.timeMs + 500 });
  if (i % 100 === 0) trainer.advance(pv.timeMs);
}
trainer.advance(Number.MAX_SAFE_INTEGER);
const trainMs = performance.now() - t0;
const examples = trainer.counts.trained + trainer.counts.heldOut;

// JSON parse + schema validation, as the consumer does per record.
const ajv = new Ajv({ strict: false });
const valid = ajv.compile(PvRecord);
const texts = pages.slice(0, 20_000).map((p) => Buffer.from(JSON.stringify(p)));
const p0 = performance.now();
for (const b of texts) if (!valid(JSON.parse(b.toString('utf8')))) throw new Error('invalid');
const parseUsPerPage = ((performance.now() - p0) * 1000) / texts.length;

// 2. Model load with 1M non-zero weights.
const bits = 22;
const coordSet = new Set<number>();
while (coordSet.size < 1_000_000) coordSet.add(Math.floor(rnd() * 2 ** bits));
const coords = Uint32Array.from([...coordSet].sort((a, b) => a - b));
const weights = Float32Array.from(coords, () => (rnd() - 0.5) * 2 || 0.1);
const file = encodeModel({ version: 1, bits, createdAtMs: Date.now(), examples: 1, coords, weights });
const loads: number[] = [];
let model: CtrModel | undefined;
for (let i = 0; i < 5; i++) {
  const l0 = performance.now();
  model = new CtrModel(decodeModel(file));
  loads.push(performance.now() - l0);
}

// 3. Ranking 30 candidates per query.
const hits: BlenderHit[] = Array.from({ length: 30 }, (_, k) => ({
  offerId: `o${k * 37}`,
  customerId: `c${k}`,
  bidwordId: `b${k}`,
  keyword: 'w1 w2',
  matchType: 'phrase',
  bidMicros: 300_000 + k * 10_000,
  qualityBp: 4_000 + k * 100,
  score: 1,
  title: 't',
  imageUrl: 'i',
  landingUrl: 'l',
}));
const r0 = performance.now();
const RANKS = 20_000;
for (let i = 0; i < RANKS; i++)
  rankByCtr(hits, model, { queryTokens: ['w1', 'w2', 'w3'], nowMs: 1_700_000_000_000 + i }, 0.02);
const rankUs = ((performance.now() - r0) * 1000) / RANKS;

const loadAfter = loadavg().map((l) => l.toFixed(2));
const sorted = [...loads].sort((a, b) => a - b);
console.log(
  JSON.stringify(
    {
      pages: PAGES,
      examples,
      examplesPerSecond: Math.round(examples / (trainMs / 1000)),
      jsonParseAndValidateUsPerPage: Number(parseUsPerPage.toFixed(1)),
      examplesPerSecondWithParse: Math.round(examples / (trainMs / 1000 + (parseUsPerPage * PAGES) / 1e6)),
      modelFileBytes: file.length,
      modelLoadMs: { median: Number(sorted[2]!.toFixed(1)), max: Number(sorted[4]!.toFixed(1)) },
      rankByCtr30UsPerQuery: Number(rankUs.toFixed(1)),
      loadBefore,
      loadAfter,
    },
    null,
    1,
  ),
);
console.log(
  `Learner: ${Math.round(examples / (trainMs / 1000))} examples/s (target >= 50,000); model load of 1M weights ${sorted[2]!.toFixed(0)} ms (target < 200 ms); ranking 30 candidates ${rankUs.toFixed(1)} us/query.`,
);
