// Writes small deterministic BP snapshots for the builder's tests and benchmarks-in-miniature
// (the real generator is `imatch gen`). Rows are valid unless the caller appends bad ones.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bidword, Customer, Offer } from '../../core/model.js';

const WORDS = [
  'red',
  'blue',
  'black',
  'leather',
  'running',
  'shoes',
  'boots',
  'wide',
  'mens',
  'womens',
  'kids',
  'wallet',
  'bag',
  'cotton',
  'shirt',
  'usb',
  'cable',
  'phone',
  'case',
  'glass',
  'steel',
  'watch',
];

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export interface FixtureSnapshot {
  dir: string;
  customers: Customer[];
  offers: Offer[];
  bidwords: Bidword[];
}

/** A snapshot with `offers` offers, ~`perOffer` bidwords each, in `dir`. */
export function writeSnapshot(
  dir: string,
  { offers: offerCount = 200, perOffer = 4, customers: customerCount = 20, seed = 42, watermark = 500 } = {},
): FixtureSnapshot {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const words = (n: number) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
  const customers: Customer[] = [];
  for (let i = 0; i < customerCount; i++) {
    const c: Customer = {
      id: `c${i}`,
      name: `Customer ${i}`,
      status: r() < 0.85 ? 'online' : pick(['offline', 'suspended'] as const),
      dailyBudgetMicros: 50_000_000,
    };
    if (r() < 0.2) c.regions = [pick(['US', 'DE', 'FR'])];
    customers.push(c);
  }
  const offers: Offer[] = [];
  const bidwords: Bidword[] = [];
  let bw = 0;
  for (let i = 0; i < offerCount; i++) {
    const o: Offer = {
      id: `o${i}`,
      customerId: `c${Math.floor(r() * customerCount)}`,
      title: `${words(2 + Math.floor(r() * 4))} Item ${i}`,
      category: pick(['apparel/shoes', 'apparel/shoes/running', 'apparel/bags', 'electronics/phone']),
      imageUrl: `https://img.example.com/o${i}.jpg`,
      landingUrl: `https://shop.example.com/o${i}`,
      status: r() < 0.9 ? 'online' : 'offline',
      quality: Math.round(r() * 99 + 1) / 100,
    };
    if (r() < 0.2)
      o.regions = [pick(['US', 'DE', 'FR']), pick(['US', 'DE', 'FR'])].filter(
        (v, j, a) => a.indexOf(v) === j,
      );
    offers.push(o);
    const n = Math.max(1, Math.round(perOffer * (0.5 + r())));
    for (let j = 0; j < n; j++) {
      const mt = pick([
        'exact',
        'phrase',
        'broad',
        'broad',
        'broad',
        'negative-phrase',
        'negative-exact',
      ] as const);
      const b: Bidword = {
        id: `b${bw++}`,
        offerId: o.id,
        keyword: words(1 + Math.floor(r() * 3)),
        matchType: mt,
        status: r() < 0.93 ? 'online' : 'offline',
      };
      if (!mt.startsWith('negative')) b.bidMicros = 10_000 * (1 + Math.floor(r() * 300));
      bidwords.push(b);
    }
  }
  mkdirSync(dir, { recursive: true });
  const lines = (rows: unknown[]) => rows.map((x) => `${JSON.stringify(x)}\n`).join('');
  writeFileSync(join(dir, 'customers.jsonl'), lines(customers));
  writeFileSync(join(dir, 'offers.jsonl'), lines(offers));
  writeFileSync(join(dir, 'bidwords.jsonl'), lines(bidwords));
  writeFileSync(
    join(dir, 'snapshot.json'),
    JSON.stringify({ takenAt: '2025-03-01T02:00:00.000Z', watermark }),
  );
  return { dir, customers, offers, bidwords };
}
