// A small, deterministic BP snapshot and query set for the searcher's tests, built to hit the
// corners of the match semantics rather than to look real (bench/gen `imatch gen` makes realistic
// data): a 40-word vocabulary with plural forms (so normalization matters), few distinct bids and
// qualities (so ties and the tie-breaks matter), negatives, offline rows, customers that are not
// online, regions on offers and customers, and nested categories. Pure functions plus one writer.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bidword, Customer, Offer } from '../../core/model.js';
import type { SearchRequest } from '../../core/search-contract.js';

const WORDS = [
  'red',
  'blue',
  'green',
  'black',
  'white',
  'leather',
  'cotton',
  'wool',
  'steel',
  'wooden',
  'mens',
  'womens',
  'kids',
  'running',
  'hiking',
  'wide',
  'slim',
  'large',
  'small',
  'shoes',
  'boots',
  'shirts',
  'jackets',
  'bags',
  'watches',
  'cables',
  'batteries',
  'glasses',
  'boxes',
  'chairs',
  'tables',
  'lamps',
  'phones',
  'cases',
  'usb',
  'wireless',
  'led',
  'solar',
  'garden',
  'kitchen',
];
const CATEGORIES = [
  'apparel',
  'apparel/shoes',
  'apparel/shoes/running',
  'apparel/shirts',
  'electronics',
  'electronics/phones',
  'electronics/phones/cases',
  'home',
  'home/kitchen',
  'home/garden',
];
export const FIXTURE_REGIONS = ['US', 'DE', 'FR', 'CN', 'GB', 'JP'] as const;
const BIDS = [100_000, 200_000, 500_000, 1_000_000, 1_500_000, 2_000_000];
const QUALITIES = [0.25, 0.5, 0.75, 0.8, 1];

/** mulberry32: a tiny seeded PRNG, so every run writes the same snapshot. */
export function rngOf(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: () => number, list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
const words = (rnd: () => number, n: number) => Array.from({ length: n }, () => pick(rnd, WORDS));

export interface Fixture {
  customers: Customer[];
  offers: Offer[];
  bidwords: Bidword[];
}

export interface FixtureOptions {
  offers: number;
  seed?: number;
  /** Id prefix of offers and bidwords (a modified snapshot can reuse or change ids). */
  idPrefix?: string;
}

export function makeFixture(options: FixtureOptions): Fixture {
  const rnd = rngOf(options.seed ?? 1);
  const prefix = options.idPrefix ?? '';
  const customerCount = Math.max(3, Math.ceil(options.offers / 20));
  const customers: Customer[] = [];
  for (let i = 1; i <= customerCount; i++) {
    const r = rnd();
    const c: Customer = {
      id: `c${i}`,
      name: `Customer ${i}`,
      status: r < 0.9 ? 'online' : r < 0.95 ? 'offline' : 'suspended',
      dailyBudgetMicros: 50_000_000,
    };
    if (rnd() < 0.3) c.regions = FIXTURE_REGIONS.filter(() => rnd() < 0.5).concat('US');
    customers.push(c);
  }
  const offers: Offer[] = [];
  const bidwords: Bidword[] = [];
  let bidwordSeq = 1;
  for (let i = 1; i <= options.offers; i++) {
    const title = words(rnd, 3 + Math.floor(rnd() * 4));
    const o: Offer = {
      id: `${prefix}o${i}`,
      customerId: `c${1 + Math.floor(rnd() * (customerCount + 1))}`, // sometimes a missing customer
      title: title.map((w, j) => (j === 0 ? w[0]!.toUpperCase() + w.slice(1) : w)).join(' '),
      category: pick(rnd, CATEGORIES),
      imageUrl: `https://img.example/${prefix}o${i}.jpg`,
      landingUrl: `https://shop.example/p/${prefix}o${i}`,
      status: rnd() < 0.92 ? 'online' : 'offline',
      quality: pick(rnd, QUALITIES),
    };
    if (rnd() < 0.25) o.regions = FIXTURE_REGIONS.filter(() => rnd() < 0.4).concat('DE');
    offers.push(o);
    const n = 1 + Math.floor(rnd() * 6);
    for (let j = 0; j < n; j++) {
      const r = rnd();
      const matchType: Bidword['matchType'] =
        r < 0.3
          ? 'exact'
          : r < 0.6
            ? 'phrase'
            : r < 0.9
              ? 'broad'
              : r < 0.94
                ? 'negative-exact'
                : 'negative-phrase';
      const len = 1 + Math.floor(rnd() * 3);
      // Mostly a contiguous piece of the title, sometimes random words.
      const start = Math.floor(rnd() * Math.max(1, title.length - len + 1));
      const kw = rnd() < 0.7 ? title.slice(start, start + len) : words(rnd, len);
      const b: Bidword = {
        id: `${prefix}b${bidwordSeq++}`,
        offerId: o.id,
        keyword: rnd() < 0.2 ? kw.join(' ').toUpperCase() : kw.join(' '),
        matchType,
        status: rnd() < 0.9 ? 'online' : 'offline',
      };
      if (matchType !== 'negative-exact' && matchType !== 'negative-phrase') b.bidMicros = pick(rnd, BIDS);
      bidwords.push(b);
    }
  }
  return { customers, offers, bidwords };
}

/** Writes the fixture as a BP snapshot folder (DESIGN.md "BP snapshot"). */
export async function writeSnapshot(dir: string, f: Fixture, watermark = 0): Promise<void> {
  await mkdir(dir, { recursive: true });
  const lines = (rows: readonly object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  await writeFile(join(dir, 'customers.jsonl'), lines(f.customers));
  await writeFile(join(dir, 'offers.jsonl'), lines(f.offers));
  await writeFile(join(dir, 'bidwords.jsonl'), lines(f.bidwords));
  await writeFile(
    join(dir, 'snapshot.json'),
    JSON.stringify({ takenAt: new Date().toISOString(), watermark }),
  );
}

/**
 * Queries that exercise every path: bidword keywords as they are, with a word added before or
 * after, shuffled, title fragments (text expansion), plural and case variants, random words; some
 * with a region or category filter, various k.
 */
export function makeQueries(f: Fixture, count: number, seed = 7): SearchRequest[] {
  const rnd = rngOf(seed);
  const out: SearchRequest[] = [];
  const ks = [1, 3, 5, 10, 20];
  while (out.length < count) {
    const b = pick(rnd, f.bidwords);
    const o = pick(rnd, f.offers);
    const kw = b.keyword.toLowerCase().split(' ');
    const r = rnd();
    let q: string[];
    if (r < 0.25) q = kw;
    else if (r < 0.4) q = [pick(rnd, WORDS), ...kw];
    else if (r < 0.55) q = [...kw, pick(rnd, WORDS)];
    else if (r < 0.65) q = [...kw].reverse();
    else if (r < 0.8)
      q = o.title
        .toLowerCase()
        .split(' ')
        .slice(0, 1 + Math.floor(rnd() * 3));
    else q = words(rnd, 1 + Math.floor(rnd() * 3));
    const req: SearchRequest = {
      query: rnd() < 0.1 ? q.join(' ').toUpperCase() : q.join(' '),
      k: pick(rnd, ks),
    };
    const f2 = rnd();
    if (f2 < 0.15) req.region = pick(rnd, FIXTURE_REGIONS);
    else if (f2 < 0.3)
      req.category = pick(rnd, CATEGORIES)
        .split('/')
        .slice(0, 1 + Math.floor(rnd() * 2))
        .join('/');
    else if (f2 < 0.35) {
      req.region = pick(rnd, FIXTURE_REGIONS);
      req.category = pick(rnd, CATEGORIES).split('/')[0]!;
    }
    if (rnd() < 0.05) req.textExpansion = false;
    out.push(req);
  }
  return out;
}
