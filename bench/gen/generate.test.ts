import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Bidword,
  Bidword as BidwordSchema,
  bidwordProblem,
  Change,
  Customer,
  Offer,
  SnapshotMeta,
} from '../../core/model.js';
import { tokenize } from '../../core/normalize.js';
import { FILES, type GenSummary, generate } from './generate.js';
import { vocabulary } from './vocabulary.js';

// ajv-formats is CommonJS; under NodeNext its default import is the module object.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

const OFFERS = 2000;
const QUERIES = 4000;
const CHANGES = 3000;
const SEED = 'unit-test';

let dir: string;
let summary: GenSummary;
const rows: Record<string, unknown[]> = {};

async function readJsonl(path: string): Promise<unknown[]> {
  const text = await readFile(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as unknown);
}

function validator(schema: TSchema) {
  // A fresh Ajv per schema: Change embeds Customer/Offer/Bidword, whose $ids would clash.
  const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
  return ajv.compile(schema);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imatch-gen-'));
  summary = await generate({
    out: join(dir, 'a'),
    offers: OFFERS,
    seed: SEED,
    queries: QUERIES,
    changes: CHANGES,
  });
  for (const name of [FILES.customers, FILES.offers, FILES.bidwords, FILES.queries, FILES.changes])
    rows[name] = await readJsonl(join(dir, 'a', name));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('imatch gen: a 2k-offer data set', () => {
  it('writes exactly the six files, none left half-written', async () => {
    expect((await readdir(join(dir, 'a'))).sort()).toEqual(Object.values(FILES).sort());
    expect(summary.counts.offers).toBe(OFFERS);
    expect(rows[FILES.offers]).toHaveLength(OFFERS);
    expect(rows[FILES.queries]).toHaveLength(QUERIES);
    expect(rows[FILES.changes]).toHaveLength(CHANGES);
    expect(rows[FILES.customers]).toHaveLength(summary.counts.customers);
    expect(rows[FILES.bidwords]).toHaveLength(summary.counts.bidwords);
  });

  it('validates every snapshot row against the core/model.ts schemas and bidwordProblem()', async () => {
    const checks: [string, TSchema][] = [
      [FILES.customers, Customer],
      [FILES.offers, Offer],
      [FILES.bidwords, BidwordSchema],
    ];
    for (const [file, schema] of checks) {
      const validate = validator(schema);
      const bad: string[] = [];
      for (const row of rows[file]!) {
        if (!validate(row)) bad.push(`${JSON.stringify(row)}: ${JSON.stringify(validate.errors)}`);
        else if (file === FILES.bidwords) {
          const problem = bidwordProblem(row as Bidword);
          if (problem !== undefined) bad.push(problem);
        }
      }
      expect(bad.slice(0, 5), file).toEqual([]);
    }
    const meta = JSON.parse(await readFile(join(dir, 'a', FILES.snapshot), 'utf8')) as unknown;
    expect(validator(SnapshotMeta)(meta)).toBe(true);
    expect(meta).toEqual({ takenAt: summary.takenAt, watermark: 0 });
  });

  it('validates every change line against the Change schema (and bidwordProblem for bidword upserts)', () => {
    const validate = validator(Change);
    const bad: string[] = [];
    for (const row of rows[FILES.changes]!) {
      if (!validate(row)) bad.push(`${JSON.stringify(row)}: ${JSON.stringify(validate.errors)}`);
      const c = row as Change;
      if (c.entity === 'bidword' && c.op === 'upsert') {
        const problem = bidwordProblem(c.data as Bidword);
        if (problem !== undefined) bad.push(problem);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it('numbers ids c<n>, o<n>, b<n> without gaps and keeps references inside the snapshot', () => {
    const customers = rows[FILES.customers] as Customer[];
    const offers = rows[FILES.offers] as Offer[];
    const bidwords = rows[FILES.bidwords] as Bidword[];
    expect(customers.map((c) => c.id)).toEqual(customers.map((_, i) => `c${i + 1}`));
    expect(offers.map((o) => o.id)).toEqual(offers.map((_, i) => `o${i + 1}`));
    expect(bidwords.map((b) => b.id)).toEqual(bidwords.map((_, i) => `b${i + 1}`));
    const customerIds = new Set(customers.map((c) => c.id));
    const offerIds = new Set(offers.map((o) => o.id));
    expect(offers.filter((o) => !customerIds.has(o.customerId))).toEqual([]);
    expect(bidwords.filter((b) => !offerIds.has(b.offerId))).toEqual([]);
  });

  it('gives every offer 1 to 20 bidwords, at least one of them positive, about 5 on average', () => {
    const byOffer = new Map<string, Bidword[]>();
    for (const b of rows[FILES.bidwords] as Bidword[]) {
      const list = byOffer.get(b.offerId) ?? [];
      list.push(b);
      byOffer.set(b.offerId, list);
    }
    expect(byOffer.size).toBe(OFFERS);
    for (const [offer, list] of byOffer) {
      expect(list.length, offer).toBeGreaterThanOrEqual(1);
      expect(list.length, offer).toBeLessThanOrEqual(20);
      expect(
        list.some((b) => b.bidMicros !== undefined),
        offer,
      ).toBe(true);
    }
    const avg = summary.counts.bidwords / OFFERS;
    expect(avg).toBeGreaterThan(4);
    expect(avg).toBeLessThan(6.5);
  });

  it('spreads bids over 0.05..20.00 in whole cents, with mixed match types, negatives and offline rows', () => {
    const bidwords = rows[FILES.bidwords] as Bidword[];
    const bids = bidwords.flatMap((b) => (b.bidMicros === undefined ? [] : [b.bidMicros]));
    expect(Math.min(...bids)).toBeGreaterThanOrEqual(50_000);
    expect(Math.max(...bids)).toBeLessThanOrEqual(20_000_000);
    expect(bids.every((b) => Number.isInteger(b) && b % 10_000 === 0)).toBe(true);
    bids.sort((a, b) => a - b);
    const median = bids[bids.length >> 1]!;
    expect(median).toBeGreaterThan(200_000);
    expect(median).toBeLessThan(1_500_000);
    expect(bids[Math.floor(bids.length * 0.99)]!).toBeGreaterThan(3 * median);
    const types = new Map<string, number>();
    for (const b of bidwords) types.set(b.matchType, (types.get(b.matchType) ?? 0) + 1);
    for (const t of ['exact', 'phrase', 'broad', 'negative-exact', 'negative-phrase'])
      expect(types.get(t) ?? 0, t).toBeGreaterThan(10);
    const offline = bidwords.filter((b) => b.status === 'offline').length / bidwords.length;
    expect(offline).toBeGreaterThan(0.005);
    expect(offline).toBeLessThan(0.1);
  });

  it('makes keyword popularity skewed: a few head keywords bought by many offers, a long tail', () => {
    const counts = new Map<string, number>();
    for (const b of rows[FILES.bidwords] as Bidword[])
      if (b.bidMicros !== undefined) counts.set(b.keyword, (counts.get(b.keyword) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    const median = sorted[sorted.length >> 1]!;
    expect(median).toBeLessThanOrEqual(2);
    expect(sorted[0]!).toBeGreaterThan(30 * median);
    const top1pct = sorted.slice(0, Math.ceil(sorted.length / 100)).reduce((a, b) => a + b, 0);
    const all = sorted.reduce((a, b) => a + b, 0);
    expect(top1pct / all).toBeGreaterThan(0.1);
  });

  it('writes real product titles and categories, not random strings', () => {
    const offers = rows[FILES.offers] as Offer[];
    const categories = new Set(offers.map((o) => o.category));
    expect(categories.size).toBeGreaterThan(100);
    const known = new Set(vocabulary().leaves.map((l) => l.path));
    expect(offers.filter((o) => !known.has(o.category))).toEqual([]);
    // Every title contains one of its leaf's nouns (placeholders filled with faker words).
    const nounsOf = new Map(vocabulary().leaves.map((l) => [l.path, l.nouns]));
    for (const o of offers.slice(0, 300)) {
      const nouns = nounsOf.get(o.category)!;
      const fits = nouns.some((n) =>
        n.includes('{') ? o.title.includes(n.slice(0, n.indexOf('{')).trim()) : o.title.includes(n),
      );
      expect(fits, `${o.title} (${o.category})`).toBe(true);
    }
    const quality = offers.map((o) => o.quality).sort((a, b) => a - b);
    expect(quality[0]!).toBeGreaterThan(0);
    expect(quality[quality.length - 1]!).toBeLessThanOrEqual(1);
    expect(quality[Math.floor(quality.length / 2)]!).toBeGreaterThan(0.4);
    expect(quality[Math.floor(quality.length / 2)]!).toBeLessThan(0.75);
    const withRegions = offers.filter((o) => o.regions !== undefined).length / offers.length;
    expect(withRegions).toBeGreaterThan(0.03);
    expect(withRegions).toBeLessThan(0.4);
  });

  it('gives customers skewed sizes, budgets in whole units and a few offline or suspended accounts', () => {
    const customers = rows[FILES.customers] as Customer[];
    const owned = new Map<string, number>();
    for (const o of rows[FILES.offers] as Offer[])
      owned.set(o.customerId, (owned.get(o.customerId) ?? 0) + 1);
    const sizes = [...owned.values()].sort((a, b) => b - a);
    expect(sizes).toHaveLength(customers.length);
    expect(sizes[0]!).toBeGreaterThan(4 * sizes[sizes.length >> 1]!);
    expect(
      customers.every((c) => c.dailyBudgetMicros % 1_000_000 === 0 && c.dailyBudgetMicros >= 5_000_000),
    ).toBe(true);
    expect(customers.some((c) => c.status !== 'online')).toBe(true);
  });
});

describe('imatch gen: the change stream', () => {
  it('refers only to entities that exist at that point, and creates new ones beyond the snapshot ids', () => {
    const customers = new Map((rows[FILES.customers] as Customer[]).map((c) => [c.id, c]));
    const offers = new Map((rows[FILES.offers] as Offer[]).map((o) => [o.id, o]));
    const bidwords = new Map((rows[FILES.bidwords] as Bidword[]).map((b) => [b.id, b]));
    const deletedOffers = new Set<string>();
    const num = (id: string) => Number(id.slice(1));
    const snapshotMax = { c: customers.size, o: offers.size, b: bidwords.size };
    const problems: string[] = [];
    const kinds = new Map<string, number>();
    for (const [i, row] of (rows[FILES.changes] as Change[]).entries()) {
      const at = `line ${i + 1}: ${JSON.stringify(row)}`;
      const key = `${row.entity} ${row.op}`;
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
      const id = row.data.id;
      if (row.op === 'delete') {
        if (row.entity === 'offer') {
          if (!offers.has(id)) problems.push(`deletes a missing offer, ${at}`);
          offers.delete(id);
          deletedOffers.add(id);
        } else if (row.entity === 'bidword') {
          const b = bidwords.get(id);
          if (b === undefined || !offers.has(b.offerId)) problems.push(`deletes a missing bidword, ${at}`);
          bidwords.delete(id);
        } else problems.push(`unexpected customer delete, ${at}`);
        continue;
      }
      if (row.entity === 'customer') {
        if (!customers.has(id) && num(id) !== ++snapshotMax.c)
          problems.push(`new customer id not next, ${at}`);
        customers.set(id, row.data as Customer);
      } else if (row.entity === 'offer') {
        const o = row.data as Offer;
        if (deletedOffers.has(id)) problems.push(`upserts a deleted offer, ${at}`);
        if (!customers.has(o.customerId)) problems.push(`offer of unknown customer, ${at}`);
        if (!offers.has(id) && num(id) !== ++snapshotMax.o) problems.push(`new offer id not next, ${at}`);
        const before = offers.get(id);
        if (before !== undefined && before.customerId !== o.customerId)
          problems.push(`offer changed owner, ${at}`);
        offers.set(id, o);
      } else {
        const b = row.data as Bidword;
        if (!offers.has(b.offerId)) problems.push(`bidword of a missing offer, ${at}`);
        const before = bidwords.get(id);
        if (before === undefined) {
          if (num(id) !== ++snapshotMax.b) problems.push(`new bidword id not next, ${at}`);
        } else if (
          before.offerId !== b.offerId ||
          before.keyword !== b.keyword ||
          before.matchType !== b.matchType
        )
          problems.push(`bidword changed identity, ${at}`);
        else if (JSON.stringify(before) === JSON.stringify(b)) problems.push(`upsert changes nothing, ${at}`);
        bidwords.set(id, b);
      }
    }
    expect(problems.slice(0, 5)).toEqual([]);
    for (const k of ['bidword upsert', 'bidword delete', 'offer upsert', 'offer delete', 'customer upsert'])
      expect(kinds.get(k) ?? 0, k).toBeGreaterThan(10);
    expect(summary.changeMix['customer-add']).toBeGreaterThan(0);
    expect(summary.changeMix['bid-change']).toBeGreaterThan(summary.changeMix['offer-delete']);
  });
});

describe('imatch gen: the query log', () => {
  const positiveBidwordTokens = () =>
    (rows[FILES.bidwords] as Bidword[])
      .filter((b) => b.bidMicros !== undefined)
      .map((b) => tokenize(b.keyword));

  /** Broad match, the loosest: every keyword token is in the query. */
  const matchesAny = (query: string[], keywords: string[][]) => {
    const q = new Set(query);
    return keywords.some((k) => k.every((t) => q.has(t)));
  };

  it('writes 1-4 word queries that mostly find a keyword, and place queries that find none', () => {
    const keywords = positiveBidwordTokens();
    const v = vocabulary();
    const templates = v.noAdTemplates.map((t) => new RegExp(`^${t.replace('{city}', '.+')}$`, 'i'));
    let matched = 0;
    let noAd = 0;
    const distinct = new Map<string, boolean>();
    for (const row of rows[FILES.queries] as { q: string }[]) {
      const tokens = tokenize(row.q);
      expect(tokens.length, row.q).toBeGreaterThanOrEqual(1);
      expect(row.q.trim().split(/\s+/).length, row.q).toBeLessThanOrEqual(4);
      let hit = distinct.get(tokens.join(' '));
      if (hit === undefined) {
        hit = matchesAny(tokens, keywords);
        distinct.set(tokens.join(' '), hit);
      }
      if (hit) matched++;
      if (templates.some((t) => t.test(row.q.trim()))) {
        noAd++;
        expect(hit, `place query ${row.q} matched a keyword`).toBe(false);
      }
    }
    expect(matched / QUERIES).toBeGreaterThan(0.6);
    expect(noAd / QUERIES).toBeGreaterThan(0.01);
  });

  it('repeats head queries (popularity skew) and varies their surface form only in ways normalization undoes', () => {
    const counts = new Map<string, number>();
    const forms = new Map<string, Set<string>>();
    for (const row of rows[FILES.queries] as { q: string }[]) {
      const key = tokenize(row.q).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const set = forms.get(key) ?? new Set<string>();
      set.add(row.q);
      forms.set(key, set);
    }
    const sorted = [...counts.values()].sort((a, b) => b - a);
    expect(sorted[0]!).toBeGreaterThan(QUERIES / 100);
    expect(sorted.filter((c) => c === 1).length).toBeGreaterThan(counts.size / 3);
    const varied = [...forms.values()].filter((s) => s.size > 1).length;
    expect(varied).toBeGreaterThan(10);
    const raw = (rows[FILES.queries] as { q: string }[]).map((r) => r.q);
    expect(raw.some((q) => /[A-Z]/.test(q))).toBe(true);
    expect(raw.some((q) => /[-?!,.]/.test(q))).toBe(true);
  });
});

describe('imatch gen: determinism', () => {
  const sha = async (path: string) =>
    createHash('sha256')
      .update(await readFile(path))
      .digest('hex');

  it('gives byte-identical files for the same seed and different files for another seed', async () => {
    const again = await generate({
      out: join(dir, 'b'),
      offers: OFFERS,
      seed: SEED,
      queries: QUERIES,
      changes: CHANGES,
    });
    const other = await generate({
      out: join(dir, 'c'),
      offers: OFFERS,
      seed: `${SEED}-other`,
      queries: QUERIES,
      changes: CHANGES,
    });
    for (const name of Object.values(FILES)) {
      const a = await sha(join(dir, 'a', name));
      expect(a, name).toBe(summary.files[name]!.sha256);
      expect(await sha(join(dir, 'b', name)), name).toBe(a);
      expect(again.files[name]!.sha256, name).toBe(a);
      expect(await sha(join(dir, 'c', name)), name).not.toBe(a);
      expect(other.files[name]!.sha256).not.toBe(a);
    }
  });

  it('honours --taken-at and --customers', async () => {
    const s = await generate({
      out: join(dir, 'd'),
      offers: 300,
      customers: 7,
      seed: SEED,
      queries: 10,
      changes: 10,
      takenAt: '2030-05-06T07:08:09Z',
    });
    expect(s.counts.customers).toBe(7);
    expect(JSON.parse(await readFile(join(dir, 'd', FILES.snapshot), 'utf8'))).toEqual({
      takenAt: '2030-05-06T07:08:09Z',
      watermark: 0,
    });
    await expect(
      generate({
        out: join(dir, 'e'),
        offers: 10,
        seed: 'x',
        queries: 0,
        changes: 0,
        takenAt: '2030-13-45T00:00:00Z',
      }),
    ).rejects.toMatchObject({ code: 'IM_ERR_CONFIG' });
  });
});
