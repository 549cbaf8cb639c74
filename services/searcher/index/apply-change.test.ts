import { describe, expect, it } from 'vitest';
import type { Bidword, ChangeMessage, Customer, Offer } from '../../../core/model.js';
import { columnOf } from '../../../core/partition.js';
import type { SearchRequest } from '../../../core/search-contract.js';
import { createColumnIndex } from './column-index.js';
import { bidword, customer, msg, offer, oneColumn } from './test-support/fixtures.js';

const q = (query: string, extra: Partial<SearchRequest> = {}): SearchRequest => ({ query, k: 10, ...extra });
const ids = (hits: { offerId: string }[]) => hits.map((h) => h.offerId);

function base() {
  return oneColumn(
    [customer('c1'), customer('c2')],
    [offer('o1', 'c1', 'red shoe'), offer('o2', 'c1', 'blue shoe'), offer('o3', 'c2', 'green shoe')],
    [
      bidword('b1', 'o1', 'shoes', 'broad', 1_000_000),
      bidword('b2', 'o2', 'shoes', 'broad', 2_000_000),
      bidword('b3', 'o3', 'shoes', 'broad', 3_000_000),
    ],
    100,
  );
}

describe('apply', () => {
  it('applying a message twice leaves the same index as applying it once', () => {
    const once = base();
    const twice = base();
    const m = msg(
      { entity: 'bidword', op: 'upsert', data: bidword('b4', 'o1', 'red', 'exact', 5_000_000) },
      101,
    );
    expect(once.apply(m)).toBe(true);
    expect(twice.apply(m)).toBe(true);
    expect(twice.apply(m)).toBe(false);
    expect(twice.dump()).toEqual(once.dump());
    expect(ids(twice.search(q('red')))).toEqual(['o1']);
    expect(twice.appliedId).toBe(101);
  });

  it('ignores messages the version already contains (id <= watermark)', () => {
    const index = base();
    expect(index.apply(msg({ entity: 'offer', op: 'delete', data: { id: 'o1' } }, 100))).toBe(false);
    expect(ids(index.search(q('shoes')))).toContain('o1');
    expect(index.appliedId).toBe(100);
  });

  it('a customer going offline hides all its offers, and online brings them back', () => {
    const index = base();
    index.apply(msg({ entity: 'customer', op: 'upsert', data: customer('c1', { status: 'offline' }) }, 101));
    expect(ids(index.search(q('shoes')))).toEqual(['o3']);
    index.apply(msg({ entity: 'customer', op: 'upsert', data: customer('c1') }, 102));
    expect(ids(index.search(q('shoes')))).toEqual(['o3', 'o2', 'o1']);
  });

  it('deleting a customer or an offer removes it from results', () => {
    const index = base();
    index.apply(msg({ entity: 'customer', op: 'delete', data: { id: 'c2' } }, 101));
    index.apply(msg({ entity: 'offer', op: 'delete', data: { id: 'o1' } }, 102));
    expect(ids(index.search(q('shoes')))).toEqual(['o2']);
    expect(index.stats()).toMatchObject({ customers: 1, offers: 2, bidwords: 2, pendingBidwords: 1 });
  });

  it('an offer brought back after a delete finds its bidwords again', () => {
    const index = base();
    index.apply(msg({ entity: 'offer', op: 'delete', data: { id: 'o1' } }, 101));
    index.apply(msg({ entity: 'offer', op: 'upsert', data: offer('o1', 'c1', 'red shoe') }, 102));
    expect(index.dump()).toEqual(base().dump());
  });

  it('deleting a bidword and setting one offline both stop it matching', () => {
    const index = base();
    index.apply(msg({ entity: 'bidword', op: 'delete', data: { id: 'b1' } }, 101));
    index.apply(
      msg(
        {
          entity: 'bidword',
          op: 'upsert',
          data: bidword('b2', 'o2', 'shoes', 'broad', 1, { status: 'offline' }),
        },
        102,
      ),
    );
    expect(ids(index.search(q('shoes', { textExpansion: false })))).toEqual(['o3']);
  });

  it('an upsert replaces the whole entity (bid change, keyword change, match type change)', () => {
    const index = base();
    index.apply(
      msg({ entity: 'bidword', op: 'upsert', data: bidword('b1', 'o1', 'boots', 'exact', 9_000_000) }, 101),
    );
    expect(ids(index.search(q('shoes', { textExpansion: false })))).toEqual(['o3', 'o2']);
    expect(index.search(q('boots'))[0]).toMatchObject({
      offerId: 'o1',
      bidMicros: 9_000_000,
      matchType: 'exact',
    });
  });

  it('an offer upsert changes title, quality and status in place and keeps its bidwords', () => {
    const index = base();
    index.apply(
      msg({ entity: 'offer', op: 'upsert', data: offer('o1', 'c1', 'purple sandal', { quality: 0.1 }) }, 101),
    );
    const hit = index.search(q('shoes')).find((h) => h.offerId === 'o1');
    expect(hit).toMatchObject({ title: 'purple sandal', qualityBp: 1000 });
    expect(index.search(q('purple sandal'))[0]).toMatchObject({
      offerId: 'o1',
      matchType: 'text',
      bidwordId: 'b1',
    });
    expect(index.search(q('red shoe', { textExpansion: true })).map((h) => h.matchType)).not.toContain(
      'text',
    );
    index.apply(
      msg(
        { entity: 'offer', op: 'upsert', data: offer('o1', 'c1', 'purple sandal', { status: 'offline' }) },
        103,
      ),
    );
    expect(ids(index.search(q('shoes')))).not.toContain('o1');
  });

  it('an older message for an entity than the last applied one is ignored (out of order)', () => {
    const index = base();
    expect(index.apply(msg({ entity: 'offer', op: 'delete', data: { id: 'o1' } }, 105))).toBe(true);
    expect(
      index.apply(msg({ entity: 'offer', op: 'upsert', data: offer('o1', 'c1', 'red shoe') }, 103)),
    ).toBe(false);
    expect(ids(index.search(q('shoes')))).not.toContain('o1');
    // other entities are not held back by it
    expect(index.apply(msg({ entity: 'bidword', op: 'delete', data: { id: 'b3' } }, 104))).toBe(true);
    expect(index.appliedId).toBe(105);
  });

  it('a bidword for an offer not present yet is kept aside and joins when the offer arrives', () => {
    const index = base();
    index.apply(
      msg({ entity: 'bidword', op: 'upsert', data: bidword('b7', 'o7', 'boots', 'exact', 1_000_000) }, 101),
    );
    expect(index.search(q('boots'))).toEqual([]);
    expect(index.stats().pendingBidwords).toBe(1);
    index.apply(msg({ entity: 'offer', op: 'upsert', data: offer('o7', 'c2', 'black boots') }, 102));
    expect(ids(index.search(q('boots')))).toEqual(['o7']);
    expect(index.stats().pendingBidwords).toBe(0);
  });

  it('a deleted bidword is not brought back by a reordered older upsert', () => {
    const index = base();
    index.apply(msg({ entity: 'bidword', op: 'delete', data: { id: 'b9' } }, 110));
    expect(
      index.apply(msg({ entity: 'bidword', op: 'upsert', data: bidword('b9', 'o1', 'x', 'exact', 1) }, 105)),
    ).toBe(false);
    expect(index.search(q('x', { textExpansion: false }))).toEqual([]);
  });
});

describe('apply across columns', () => {
  const columns = 4;
  const offerIds = Array.from({ length: 40 }, (_, i) => `o${i}`);
  const inColumn = (c: number) => offerIds.filter((id) => columnOf(id, columns) === c);
  const [a0, b0] = inColumn(0);
  const [a1] = inColumn(1);
  const make = (column: number) =>
    createColumnIndex({
      version: 'v',
      column,
      columns,
      watermark: 0,
      customers: [customer('c1')],
      offers: offerIds.map((id) => offer(id, 'c1', 'shoe')),
      bidwords: offerIds.map((id, i) => bidword(`b${i}`, id, 'shoes', 'broad', 1_000_000)),
    });

  it('holds only its own offers, takes only their messages, and every customer message', () => {
    const c0 = make(0);
    expect(c0.stats().offers).toBe(inColumn(0).length);
    expect(c0.apply(msg({ entity: 'offer', op: 'delete', data: { id: a1! } }, 1))).toBe(false);
    expect(c0.apply(msg({ entity: 'offer', op: 'delete', data: { id: a0! } }, 2))).toBe(true);
    expect(c0.apply(msg({ entity: 'customer', op: 'upsert', data: customer('c9') }, 3))).toBe(true);
    expect(c0.appliedId).toBe(3);
    expect(ids(c0.search(q('shoes', { k: 100 }))).sort()).toEqual(inColumn(0).slice(1).sort());
  });

  it('a bidword moved to an offer of another column leaves this column and joins the other', () => {
    const c0 = make(0);
    const c1 = make(1);
    const moved = msg(
      { entity: 'bidword', op: 'upsert', data: bidword('bx', a0!, 'boots', 'exact', 1_000_000) },
      1,
    );
    c0.apply(moved);
    c1.apply(moved);
    expect(ids(c0.search(q('boots')))).toEqual([a0]);
    const back = msg(
      { entity: 'bidword', op: 'upsert', data: bidword('bx', a1!, 'boots', 'exact', 1_000_000) },
      2,
    );
    expect(c0.apply(back)).toBe(true);
    expect(c1.apply(back)).toBe(true);
    expect(c0.search(q('boots'))).toEqual([]);
    expect(ids(c1.search(q('boots')))).toEqual([a1]);
    void b0;
  });
});

// Property: build(initial) + apply(changes) has the same content and answers as build(final state),
// where the final state is computed by applying the changes to plain tables. Random changes, with
// duplicates and replays; deterministic seed.
describe('apply equals rebuild (randomized)', () => {
  function rng(seed: number) {
    let s = seed >>> 0;
    return () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }
  const WORDS = ['red', 'blue', 'shoe', 'shoes', 'boot', 'wide', 'mens', 'womens', 'leather', 'cheap'];

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`seed ${seed}`, () => {
      const r = rng(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
      const phrase = () => Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(WORDS)).join(' ');
      const randCustomer = (id: string): Customer =>
        customer(id, {
          status: pick(['online', 'online', 'offline', 'suspended'] as const),
          ...(r() < 0.3 ? { regions: [pick(['US', 'DE'])] } : {}),
        });
      const randOffer = (id: string): Offer =>
        offer(id, pick(['c0', 'c1', 'c2', 'c3']), phrase(), {
          status: r() < 0.85 ? 'online' : 'offline',
          quality: Math.round(r() * 100) / 100 + 0.01,
          category: pick(['apparel/shoes', 'apparel/bags', 'home']),
        });
      const randBidword = (id: string): Bidword => {
        const mt = pick(['exact', 'phrase', 'broad', 'broad', 'negative-phrase', 'negative-exact'] as const);
        const neg = mt.startsWith('negative');
        return bidword(
          id,
          pick(offerIds),
          phrase(),
          mt,
          neg ? undefined : 1 + Math.floor(r() * 5) * 100_000,
          {
            status: r() < 0.9 ? 'online' : 'offline',
          },
        );
      };
      const offerIds = Array.from({ length: 30 }, (_, i) => `o${i}`);
      const customers = new Map<string, Customer>();
      const offers = new Map<string, Offer>();
      const bidwords = new Map<string, Bidword>();
      for (const id of ['c0', 'c1', 'c2']) customers.set(id, randCustomer(id));
      for (const id of offerIds.slice(0, 25)) offers.set(id, randOffer(id));
      for (let i = 0; i < 80; i++) bidwords.set(`b${i}`, randBidword(`b${i}`));
      const columns = 2;
      const initial = (column: number) =>
        createColumnIndex({
          version: 'v',
          column,
          columns,
          watermark: 10,
          customers: [...customers.values()],
          offers: [...offers.values()],
          bidwords: [...bidwords.values()],
        });
      const live = [initial(0), initial(1)];

      const messages: ChangeMessage[] = [];
      for (let id = 11; id < 211; id++) {
        const roll = r();
        let change: Omit<ChangeMessage, 'id' | 'acceptedAt'>;
        if (roll < 0.15) {
          const cid = pick(['c0', 'c1', 'c2', 'c3']);
          change =
            r() < 0.8
              ? { entity: 'customer', op: 'upsert', data: randCustomer(cid) }
              : { entity: 'customer', op: 'delete', data: { id: cid } };
        } else if (roll < 0.4) {
          const oid = pick(offerIds);
          change =
            r() < 0.8
              ? { entity: 'offer', op: 'upsert', data: randOffer(oid) }
              : { entity: 'offer', op: 'delete', data: { id: oid } };
        } else {
          const bid = `b${Math.floor(r() * 100)}`;
          change =
            r() < 0.8
              ? { entity: 'bidword', op: 'upsert', data: randBidword(bid) }
              : { entity: 'bidword', op: 'delete', data: { id: bid } };
        }
        const m = msg(change, id);
        messages.push(m);
        // the reference tables
        const d = m.data as { id: string };
        const table = m.entity === 'customer' ? customers : m.entity === 'offer' ? offers : bidwords;
        if (m.op === 'upsert') (table as Map<string, unknown>).set(d.id, m.data);
        else table.delete(d.id);
      }
      // Deliver with duplicates and a replay of everything at the end.
      for (const m of messages) {
        for (const index of live) {
          index.apply(m);
          if (r() < 0.2) index.apply(m);
        }
      }
      for (const m of messages) for (const index of live) index.apply(m);

      for (const column of [0, 1]) {
        const rebuilt = initial(column);
        expect(live[column]!.dump()).toEqual(rebuilt.dump());
        expect(live[column]!.appliedId).toBe(210);
        for (let i = 0; i < 40; i++) {
          const req: SearchRequest = { query: phrase(), k: 1 + Math.floor(r() * 8) };
          if (r() < 0.3) req.region = pick(['US', 'DE']);
          if (r() < 0.3) req.category = pick(['apparel', 'apparel/shoes', 'home']);
          expect(live[column]!.search(req)).toEqual(rebuilt.search(req));
        }
      }
    });
  }
});
