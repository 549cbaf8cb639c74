// The column index against the brute-force reference of test/helpers/reference.ts (written
// independently of this code) on random data: same hits, same order, for many queries and small
// k (so the early cut of retrieval lists matters), before and after random changes.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseHitLines } from '../../../core/hit-lines.js';
import type { Bidword, ChangeMessage, Customer, Offer } from '../../../core/model.js';
import {
  HIT_FIELDS,
  type HitField,
  type SearchHit,
  type SearchRequest,
} from '../../../core/search-contract.js';
import {
  loadReferenceSnapshot,
  referenceLostToBudget,
  referenceSearch,
} from '../../../test/helpers/reference.js';
import { type ColumnIndex, createColumnIndex } from './column-index.js';
import type { IndexState } from './index-state.js';
import { bidword, customer, msg, offer } from './test-support/fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'imatch-index-ref-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const WORDS = [
  'red',
  'blue',
  'shoe',
  'shoes',
  'boot',
  'wide',
  'mens',
  'womens',
  'leather',
  'cheap',
  'run',
  'bag',
];

async function referenceOf(
  dir: string,
  customers: Iterable<Customer>,
  offers: Iterable<Offer>,
  bidwords: Iterable<Bidword>,
) {
  const lines = (rows: Iterable<unknown>) => [...rows].map((r) => `${JSON.stringify(r)}\n`).join('');
  writeFileSync(join(dir, 'customers.jsonl'), lines(customers));
  writeFileSync(join(dir, 'offers.jsonl'), lines(offers));
  writeFileSync(join(dir, 'bidwords.jsonl'), lines(bidwords));
  writeFileSync(
    join(dir, 'snapshot.json'),
    JSON.stringify({ takenAt: '2025-01-01T00:00:00Z', watermark: 0 }),
  );
  return loadReferenceSnapshot(dir);
}

describe('column index == brute-force reference', () => {
  it('text expansion over large title postings (the marked path), with few bidwords', async () => {
    const r = rng(99);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
    const customers = [
      customer('c0'),
      customer('c1', { regions: ['US'] }),
      customer('c2', { status: 'offline' }),
    ];
    const offers: Offer[] = [];
    const bidwords: Bidword[] = [];
    for (let i = 0; i < 6000; i++) {
      const o = offer(
        `o${i}`,
        pick(['c0', 'c0', 'c1', 'c2']),
        Array.from({ length: 3 + Math.floor(r() * 4) }, () => pick(WORDS)).join(' '),
        {
          quality: Math.round(r() * 1000) / 1000 + 0.001,
          status: r() < 0.95 ? 'online' : 'offline',
        },
      );
      offers.push(o);
      bidwords.push(bidword(`b${i}`, o.id, `zz${i}`, 'exact', 10_000 * (1 + Math.floor(r() * 50))));
      if (r() < 0.1) bidwords.push(bidword(`n${i}`, o.id, pick(WORDS), 'negative-phrase'));
      if (r() < 0.003)
        bidwords.push(bidword(`p${i}`, o.id, pick(WORDS), 'phrase', 10_000 * (1 + Math.floor(r() * 50))));
    }
    const ref = await referenceOf(mkdtempSync(join(root, 'snap-')), customers, offers, bidwords);
    const index = createColumnIndex({
      version: 'v',
      column: 0,
      columns: 1,
      watermark: 0,
      customers,
      offers,
      bidwords,
    });
    let textAnswers = 0;
    for (let i = 0; i < 200; i++) {
      const req: SearchRequest = {
        query: Array.from({ length: 2 + Math.floor(r() * 3) }, () => pick(WORDS)).join(' '),
        k: pick([1, 3, 10, 30]),
      };
      if (r() < 0.3) req.region = pick(['US', 'DE']);
      const expected = referenceSearch(ref, req);
      if (expected.some((h) => h.matchType === 'text')) textAnswers++;
      expect(index.search(req), JSON.stringify(req)).toEqual(expected);
      // The serialized form the route writes is the same answer, byte for byte.
      expect(index.searchJson(req).json, JSON.stringify(req)).toBe(JSON.stringify(expected));
      // So is the lines form, for every projection the merger may pass on.
      const fields = pick(PROJECTIONS);
      const projected = expected.map((h) => project(h, fields));
      if (fields !== undefined)
        expect(index.searchJson({ ...req, fields }).json).toBe(JSON.stringify(projected));
      const { hits } = parseHitLines(`{"column":0}\n${index.searchLines({ ...req, fields }).lines}`);
      expect(hits.map((h) => JSON.parse(h.json))).toEqual(projected);
      expect(hits.map((h) => h.json)).toEqual(projected.map((h) => JSON.stringify(h)));
      expect(hits.map(({ json: _, ...keys }) => keys)).toEqual(
        expected.map((h) => ({
          score: h.score,
          qualityBp: h.qualityBp,
          matchType: h.matchType,
          offerId: h.offerId,
          customerId: h.customerId,
        })),
      );
    }
    expect(textAnswers).toBeGreaterThan(100); // the case is about text expansion
  });

  for (const seed of [11, 12, 13]) {
    it(`random data, seed ${seed}`, async () => {
      const r = rng(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
      const phrase = (max = 3) =>
        Array.from({ length: 1 + Math.floor(r() * max) }, () => pick(WORDS)).join(' ');
      const customerIds = Array.from({ length: 8 }, (_, i) => `c${i}`);
      const offerIds = Array.from({ length: 400 }, (_, i) => `o${i}`);
      const randCustomer = (id: string): Customer => {
        const status = pick(['online', 'online', 'online', 'offline', 'offline', 'suspended'] as const);
        return customer(id, {
          status,
          // Half the offline ones are billing's: offline for budget, matched aside.
          ...(status === 'offline' && r() < 0.5 ? { offlineReason: 'budget' as const } : {}),
          ...(r() < 0.3 ? { regions: [pick(['US', 'DE', 'FR'])] } : {}),
        });
      };
      const randOffer = (id: string): Offer =>
        offer(id, pick(customerIds), phrase(4), {
          status: r() < 0.9 ? 'online' : 'offline',
          quality: Math.round(r() * 1000) / 1000 + 0.001,
          category: pick(['apparel/shoes', 'apparel/shoes/running', 'apparel/bags', 'home']),
          ...(r() < 0.25 ? { regions: [pick(['US', 'DE', 'FR'])] } : {}),
        });
      let nextBidword = 0;
      const randBidword = (id = `b${nextBidword++}`): Bidword => {
        const mt = pick([
          'exact',
          'phrase',
          'broad',
          'broad',
          'broad',
          'negative-phrase',
          'negative-exact',
        ] as const);
        const negative = mt.startsWith('negative');
        return bidword(
          id,
          pick(offerIds),
          phrase(),
          mt,
          negative ? undefined : 10_000 * (1 + Math.floor(r() * 40)),
          {
            status: r() < 0.92 ? 'online' : 'offline',
          },
        );
      };
      const customers = new Map(customerIds.map((id) => [id, randCustomer(id)]));
      const offers = new Map(offerIds.slice(0, 380).map((id) => [id, randOffer(id)]));
      const bidwords = new Map<string, Bidword>();
      for (let i = 0; i < 2000; i++) {
        const b = randBidword();
        bidwords.set(b.id, b);
      }
      const columns = 2;
      const live = [0, 1].map((column) =>
        createColumnIndex({
          version: 'v',
          column,
          columns,
          watermark: 0,
          customers: customers.values(),
          offers: offers.values(),
          bidwords: bidwords.values(),
        }),
      );
      const randRequest = (): SearchRequest => {
        const req: SearchRequest = { query: phrase(4), k: pick([1, 2, 3, 5, 10, 40]) };
        if (r() < 0.3) req.region = pick(['US', 'DE', 'FR']);
        if (r() < 0.3) req.category = pick(['apparel', 'apparel/shoes', 'home']);
        if (r() < 0.2) req.textExpansion = false;
        return req;
      };
      const check = async (label: string) => {
        const ref = await referenceOf(
          mkdtempSync(join(root, 'snap-')),
          customers.values(),
          offers.values(),
          bidwords.values(),
        );
        for (let i = 0; i < 300; i++) {
          const req = randRequest();
          for (const column of [0, 1]) {
            const hits = referenceSearch(ref, req, { column, columns });
            const lost = referenceLostToBudget(ref, req, { column, columns });
            if (lost.length > 0) lostAnswers++;
            const where = `${label}: ${JSON.stringify(req)} column ${column}`;
            expect(live[column]!.searchWithLost(req), where).toEqual({ hits, lostToBudget: lost });
            expect(live[column]!.searchJson(req).lostJson, where).toBe(
              lost.length === 0 ? '' : JSON.stringify(lost),
            );
            // The lines form the merger asks for: its keys and hit JSON come from fragments
            // cached on the offer and bidword records, which every change must refresh.
            const lines = parseHitLines(`{"column":${column}}\n${live[column]!.searchLines(req).lines}`);
            expect(
              lines.hits.map(({ json, ...keys }) => ({ ...keys, hit: JSON.parse(json) as unknown })),
              where,
            ).toEqual(
              hits.map((h) => ({
                score: h.score,
                qualityBp: h.qualityBp,
                matchType: h.matchType,
                offerId: h.offerId,
                customerId: h.customerId,
                hit: h,
              })),
            );
          }
        }
      };
      let lostAnswers = 0;
      await check('snapshot');

      // Random changes applied to the live indexes and to the plain tables.
      for (let id = 1; id <= 600; id++) {
        const roll = r();
        let change: Omit<ChangeMessage, 'id' | 'acceptedAt'>;
        if (roll < 0.1) {
          // Deletes too: a deleted customer's offers drop out, and come back with it.
          const c = pick(customerIds);
          change =
            r() < 0.8
              ? { entity: 'customer', op: 'upsert', data: randCustomer(c) }
              : { entity: 'customer', op: 'delete', data: { id: c } };
        } else if (roll < 0.3) {
          const o = pick(offerIds);
          change =
            r() < 0.85
              ? { entity: 'offer', op: 'upsert', data: randOffer(o) }
              : { entity: 'offer', op: 'delete', data: { id: o } };
        } else {
          const existing = `b${Math.floor(r() * (nextBidword + 50))}`;
          change =
            r() < 0.85
              ? { entity: 'bidword', op: 'upsert', data: randBidword(existing) }
              : { entity: 'bidword', op: 'delete', data: { id: existing } };
        }
        const m = msg(change, id);
        for (const index of live) {
          index.apply(m);
          // Retrieval cuts each list at its first bidword scoring below the top k: the lists must
          // stay in rank order through every change (an offer's new quality moves its bidwords).
          expect(outOfRank(index), `after ${JSON.stringify(m)}`).toBeUndefined();
        }
        const d = m.data as { id: string };
        const table = (m.entity === 'customer' ? customers : m.entity === 'offer' ? offers : bidwords) as Map<
          string,
          unknown
        >;
        if (m.op === 'upsert') table.set(d.id, m.data);
        else table.delete(d.id);
      }
      await check('after changes');
      // The data has customers offline for budget whose ads match: the lost ads were compared.
      expect(lostAnswers).toBeGreaterThan(50);
    });
  }
});

/** The first retrieval list not in descending listRank order, or undefined. */
function outOfRank(index: ColumnIndex): string | undefined {
  const { state } = index as unknown as { state: IndexState };
  for (const map of [state.exact, state.phrase, state.broad])
    for (const [key, list] of state.listEntries(map))
      for (let i = 1; i < list.length; i++)
        if (state.listRank(list[i - 1]!) < state.listRank(list[i]!))
          return `list "${key}": ${list.map((h) => `${state.bidwords.id(h)}=${state.listRank(h)}`).join(' ')}`;
  return undefined;
}

const PROJECTIONS: (HitField[] | undefined)[] = [
  undefined,
  HIT_FIELDS.filter((f) => f !== 'category'),
  ['offerId', 'score'],
  ['landingUrl', 'offerId', 'title'],
];

/** The hit with only `fields`, in schema order (what FieldFormatSort means). */
function project(h: SearchHit, fields: readonly HitField[] | undefined): Partial<SearchHit> {
  if (fields === undefined) return h;
  const out: Record<string, unknown> = {};
  for (const f of HIT_FIELDS) if (fields.includes(f)) out[f] = h[f];
  return out as Partial<SearchHit>;
}
