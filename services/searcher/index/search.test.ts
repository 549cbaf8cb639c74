import { describe, expect, it } from 'vitest';
import type { SearchRequest } from '../../../core/search-contract.js';
import { bidword, customer, msg, offer, oneColumn } from './test-support/fixtures.js';

const q = (query: string, extra: Partial<SearchRequest> = {}): SearchRequest => ({
  query,
  k: 10,
  textExpansion: false,
  ...extra,
});
const ids = (hits: { offerId: string }[]) => hits.map((h) => h.offerId);

describe('match types', () => {
  const index = oneColumn(
    [customer('c1')],
    [
      offer('o-exact', 'c1', 'shoe one'),
      offer('o-phrase', 'c1', 'shoe two'),
      offer('o-broad', 'c1', 'shoe three'),
    ],
    [
      bidword('b1', 'o-exact', 'Running Shoes', 'exact', 1_000_000),
      bidword('b2', 'o-phrase', 'running shoes', 'phrase', 1_000_000),
      bidword('b3', 'o-broad', 'running shoes', 'broad', 1_000_000),
    ],
  );

  it('exact matches only the same tokens in the same order, after normalization', () => {
    expect(ids(index.search(q('running shoe')))).toContain('o-exact');
    expect(ids(index.search(q('RUNNING-shoes!')))).toContain('o-exact');
    expect(ids(index.search(q('shoes running')))).not.toContain('o-exact');
    expect(ids(index.search(q('red running shoes')))).not.toContain('o-exact');
  });

  it('phrase matches the bidword contiguously and in order inside the query', () => {
    expect(ids(index.search(q('red running shoes')))).toContain('o-phrase');
    expect(ids(index.search(q('running shoes for men')))).toContain('o-phrase');
    expect(ids(index.search(q('running red shoes')))).not.toContain('o-phrase');
    expect(ids(index.search(q('shoes running')))).not.toContain('o-phrase');
  });

  it('broad matches when every bidword token is in the query, any order', () => {
    expect(ids(index.search(q('shoes for running')))).toContain('o-broad');
    expect(ids(index.search(q('running red shoes')))).toContain('o-broad');
    expect(ids(index.search(q('running')))).not.toContain('o-broad');
    expect(ids(index.search(q('red shoes')))).not.toContain('o-broad');
  });

  it('reports the match type and scores with the match-type weight', () => {
    const hits = index.search(q('running shoes'));
    expect(hits.map((h) => [h.offerId, h.matchType, h.score])).toEqual([
      ['o-exact', 'exact', 1_000_000 * 10_000 * 100],
      ['o-phrase', 'phrase', 1_000_000 * 10_000 * 90],
      ['o-broad', 'broad', 1_000_000 * 10_000 * 80],
    ]);
  });

  it('a query that normalizes to nothing finds nothing', () => {
    expect(index.search(q('!!! ...'))).toEqual([]);
  });

  it('broad match with repeated and many query tokens (the fallback path) gives the same answer', () => {
    const words = Array.from({ length: 40 }, (_, i) => `w${i}`);
    const idx = oneColumn(
      [customer('c1')],
      [offer('o1', 'c1', 'x'), offer('o2', 'c1', 'y')],
      [
        bidword('b1', 'o1', words.slice(0, 20).join(' '), 'broad', 1_000_000),
        bidword('b2', 'o2', 'w3 w39', 'broad', 1_000_000),
        bidword('b3', 'o2', 'w3 zz', 'broad', 2_000_000),
      ],
    );
    expect(ids(idx.search(q([...words].reverse().join(' '))))).toEqual(['o1', 'o2']);
    expect(ids(idx.search(q('w39 w3 w3')))).toEqual(['o2']);
    expect(ids(idx.search(q(words.slice(0, 19).join(' '))))).toEqual([]);
    // The fallback structure, once built, follows changes.
    idx.apply(
      msg({ entity: 'bidword', op: 'upsert', data: bidword('b4', 'o3', 'w0 w5', 'broad', 9_000_000) }, 1),
    );
    idx.apply(msg({ entity: 'offer', op: 'upsert', data: offer('o3', 'c1', 'z') }, 2));
    idx.apply(msg({ entity: 'bidword', op: 'delete', data: { id: 'b1' } }, 3));
    expect(ids(idx.search(q([...words].reverse().join(' '))))).toEqual(['o3', 'o2']);
  });
});

describe('negative keywords', () => {
  const index = oneColumn(
    [customer('c1')],
    [offer('o1', 'c1', 'wide fit shoes'), offer('o2', 'c1', 'other')],
    [
      bidword('b1', 'o1', 'wide shoes', 'broad', 1_000_000),
      bidword('n1', 'o1', 'womens shoes', 'negative-phrase'),
      bidword('b2', 'o2', 'shoes', 'broad', 500_000),
      bidword('n2', 'o2', 'cheap shoes', 'negative-exact'),
    ],
  );

  it('DESIGN.md example: broad "wide shoes" with negative phrase "womens shoes"', () => {
    expect(ids(index.search(q('mens wide shoes')))).toContain('o1');
    expect(ids(index.search(q('womens shoes')))).not.toContain('o1');
    expect(ids(index.search(q('wide womens shoes')))).not.toContain('o1');
  });

  it('negative phrase needs the tokens contiguous', () => {
    expect(ids(index.search(q('womens wide shoes')))).toContain('o1');
  });

  it('negative exact excludes only the exact query', () => {
    expect(ids(index.search(q('cheap shoes')))).not.toContain('o2');
    expect(ids(index.search(q('cheap shoes online')))).toContain('o2');
    expect(ids(index.search(q('shoes cheap')))).toContain('o2');
  });

  it('negatives exclude the offer from text expansion too', () => {
    const hits = index.search(q('womens fit', { textExpansion: true }));
    expect(ids(hits)).toEqual([]);
    const idx = oneColumn(
      [customer('c1')],
      [offer('o1', 'c1', 'wide fit shoes')],
      [bidword('b1', 'o1', 'zzz', 'exact', 1_000_000), bidword('n1', 'o1', 'fit', 'negative-phrase')],
    );
    expect(idx.search(q('wide shoes', { textExpansion: true }))).toHaveLength(1);
    expect(idx.search(q('wide fit shoes', { textExpansion: true }))).toHaveLength(0);
  });
});

describe('ranking', () => {
  it('an offer appears once, with its best-scoring bidword', () => {
    const index = oneColumn(
      [customer('c1')],
      [offer('o1', 'c1', 'shoe')],
      [
        bidword('b1', 'o1', 'red shoes', 'exact', 1_000_000), // 100 * 1.0
        bidword('b2', 'o1', 'shoes', 'phrase', 2_000_000), // 90 * 2.0 = best
        bidword('b3', 'o1', 'red', 'broad', 1_500_000), // 80 * 1.5
      ],
    );
    const hits = index.search(q('red shoes'));
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({
      offerId: 'o1',
      bidwordId: 'b2',
      matchType: 'phrase',
      bidMicros: 2_000_000,
    });
  });

  it('equal scores within an offer: exact beats phrase beats broad, then the lower bidword id', () => {
    // 900,000 x 100 = 1,000,000 x 90 = 1,125,000 x 80
    const index = oneColumn(
      [customer('c1')],
      [offer('o1', 'c1', 'shoe'), offer('o2', 'c1', 'shoe')],
      [
        bidword('b9', 'o1', 'red shoes', 'broad', 1_125_000),
        bidword('b8', 'o1', 'red shoes', 'phrase', 1_000_000),
        bidword('b7', 'o1', 'red shoes', 'exact', 900_000),
        bidword('x2', 'o2', 'red shoes', 'phrase', 1_000_000),
        bidword('x1', 'o2', 'shoes', 'phrase', 1_000_000),
        bidword('x3', 'o2', 'red', 'phrase', 1_000_000),
      ],
    );
    const hits = index.search(q('red shoes'));
    expect(hits.find((h) => h.offerId === 'o1')).toMatchObject({ bidwordId: 'b7', matchType: 'exact' });
    expect(hits.find((h) => h.offerId === 'o2')).toMatchObject({ bidwordId: 'x1', matchType: 'phrase' });
  });

  it('orders offers by score, then quality, then offer id (compareRanked), and keeps the top k', () => {
    const index = oneColumn(
      [customer('c1')],
      [
        offer('o-a', 'c1', 't', { quality: 0.5 }), // 2,000,000 x 5000 = 1e10
        offer('o-b', 'c1', 't', { quality: 1 }), // 1,000,000 x 10000 = 1e10, higher quality
        offer('o-d', 'c1', 't', { quality: 1 }), // same as o-b, id later
        offer('o-c', 'c1', 't', { quality: 1 }), // 3,000,000: first
        offer('o-e', 'c1', 't', { quality: 1 }), // 100: last
      ],
      [
        bidword('b1', 'o-a', 'shoe', 'exact', 2_000_000),
        bidword('b2', 'o-b', 'shoe', 'exact', 1_000_000),
        bidword('b3', 'o-d', 'shoe', 'exact', 1_000_000),
        bidword('b4', 'o-c', 'shoe', 'exact', 3_000_000),
        bidword('b5', 'o-e', 'shoe', 'exact', 100),
      ],
    );
    expect(ids(index.search(q('shoe')))).toEqual(['o-c', 'o-b', 'o-d', 'o-a', 'o-e']);
    expect(ids(index.search(q('shoe', { k: 3 })))).toEqual(['o-c', 'o-b', 'o-d']);
    expect(ids(index.search(q('shoe', { k: 1 })))).toEqual(['o-c']);
  });

  it('top k over many candidates equals the first k of the full order', () => {
    const offers = Array.from({ length: 300 }, (_, i) =>
      offer(`o${String(i).padStart(3, '0')}`, 'c1', 't', { quality: ((i * 37) % 100) / 100 + 0.01 }),
    );
    const bws = offers.map((o, i) => bidword(`b${i}`, o.id, 'shoe', 'broad', 1_000 * ((i * 7919) % 50) + 1));
    const index = oneColumn([customer('c1')], offers, bws);
    const all = index.search(q('shoe', { k: 100 }));
    for (const k of [1, 7, 20, 64]) expect(index.search(q('shoe', { k }))).toEqual(all.slice(0, k));
  });
});

describe('filters', () => {
  const index = oneColumn(
    [
      customer('c-on'),
      customer('c-off', { status: 'offline' }),
      customer('c-susp', { status: 'suspended' }),
      customer('c-us', { regions: ['US'] }),
    ],
    [
      offer('o-ok', 'c-on', 't'),
      offer('o-offline', 'c-on', 't', { status: 'offline' }),
      offer('o-cust-off', 'c-off', 't'),
      offer('o-cust-susp', 'c-susp', 't'),
      offer('o-no-cust', 'c-missing', 't'),
      offer('o-de', 'c-on', 't', { regions: ['DE', 'FR'] }),
      offer('o-cust-us', 'c-us', 't'),
      offer('o-cust-us-offer-de', 'c-us', 't', { regions: ['DE'] }),
      offer('o-running', 'c-on', 't', { category: 'apparel/shoes/running' }),
      offer('o-shoestring', 'c-on', 't', { category: 'apparel/shoestrings' }),
      offer('o-bags', 'c-on', 't', { category: 'bags' }),
    ],
    [
      bidword('b-ok', 'o-ok', 'shoe', 'broad', 1_000_000),
      bidword('b-offline', 'o-offline', 'shoe', 'broad', 1_000_000),
      bidword('b-cust-off', 'o-cust-off', 'shoe', 'broad', 1_000_000),
      bidword('b-cust-susp', 'o-cust-susp', 'shoe', 'broad', 1_000_000),
      bidword('b-no-cust', 'o-no-cust', 'shoe', 'broad', 1_000_000),
      bidword('b-de', 'o-de', 'shoe', 'broad', 1_000_000),
      bidword('b-cust-us', 'o-cust-us', 'shoe', 'broad', 1_000_000),
      bidword('b-cust-us-offer-de', 'o-cust-us-offer-de', 'shoe', 'broad', 1_000_000),
      bidword('b-running', 'o-running', 'shoe', 'broad', 1_000_000),
      bidword('b-shoestring', 'o-shoestring', 'shoe', 'broad', 1_000_000),
      bidword('b-bags', 'o-bags', 'shoe', 'broad', 1_000_000),
      bidword('b-bw-off', 'o-ok', 'shoe', 'exact', 9_000_000, { status: 'offline' }),
    ],
  );
  const hitIds = (extra: Partial<SearchRequest> = {}) =>
    new Set(ids(index.search(q('shoe', { k: 100, ...extra }))));

  it('offline offers and offers of offline, suspended or unknown customers never show', () => {
    const got = hitIds();
    expect(got.has('o-ok')).toBe(true);
    for (const id of ['o-offline', 'o-cust-off', 'o-cust-susp', 'o-no-cust']) expect(got.has(id)).toBe(false);
  });

  it('offline bidwords never match', () => {
    expect(index.search(q('shoe', { k: 100 })).find((h) => h.offerId === 'o-ok')?.bidwordId).toBe('b-ok');
  });

  it('region must be in the offer regions (when set) and in the customer regions (when set)', () => {
    const de = hitIds({ region: 'DE' });
    expect(de.has('o-de')).toBe(true);
    expect(de.has('o-ok')).toBe(true); // no regions: everywhere
    expect(de.has('o-cust-us')).toBe(false);
    expect(de.has('o-cust-us-offer-de')).toBe(false);
    const us = hitIds({ region: 'US' });
    expect(us.has('o-de')).toBe(false);
    expect(us.has('o-cust-us')).toBe(true);
    expect(us.has('o-cust-us-offer-de')).toBe(false);
    expect(hitIds().has('o-de')).toBe(true); // no region asked: no region filter
  });

  it('category matches the same category or one below it on a "/" boundary', () => {
    const shoes = hitIds({ category: 'apparel/shoes' });
    expect(shoes.has('o-ok')).toBe(true);
    expect(shoes.has('o-running')).toBe(true);
    expect(shoes.has('o-shoestring')).toBe(false);
    expect(shoes.has('o-bags')).toBe(false);
    const apparel = hitIds({ category: 'apparel' });
    expect(apparel.has('o-shoestring')).toBe(true);
    expect(apparel.has('o-bags')).toBe(false);
    expect(hitIds({ category: 'apparel/shoes/running' })).toEqual(new Set(['o-running']));
  });
});

describe('text expansion', () => {
  const index = oneColumn(
    [customer('c1')],
    [
      offer('o-bid', 'c1', 'Red Leather Wallet'),
      offer('o-title', 'c1', 'Slim leather wallets for men'),
      offer('o-title2', 'c1', 'Wallet, leather, RFID'),
      offer('o-nobid', 'c1', 'leather wallet'),
      offer('o-partial', 'c1', 'leather belt'),
      offer('o-offline', 'c1', 'leather wallet', { status: 'offline' }),
    ],
    [
      bidword('b1', 'o-bid', 'leather wallet', 'phrase', 100_000),
      bidword('t1', 'o-title', 'mens wallet', 'exact', 3_000_000),
      bidword('t2', 'o-title', 'slim', 'exact', 3_000_000),
      bidword('t0', 'o-title', 'zzz', 'exact', 1_000_000),
      bidword('t3', 'o-title2', 'rfid', 'exact', 150_000),
      bidword('n1', 'o-nobid', 'cheap', 'negative-phrase'),
      bidword('p1', 'o-partial', 'leather', 'exact', 9_000_000),
      bidword('o1', 'o-offline', 'x', 'exact', 9_000_000),
    ],
  );

  it('fills the free places with offers whose titles hold every query token', () => {
    const hits = index.search({ query: 'leather wallet', k: 10 });
    expect(hits.map((h) => [h.offerId, h.matchType, h.bidwordId])).toEqual([
      ['o-title', 'text', 't1'], // 3,000,000 x 50; highest bid, ties by lower bidword id (t1 < t2)
      ['o-bid', 'phrase', 'b1'], // 100,000 x 90: below the first text hit
      ['o-title2', 'text', 't3'],
    ]);
    expect(hits[0]!.score).toBe(3_000_000 * 10_000 * 50);
  });

  it('is off when textExpansion is false, or when bidwords already give k ads', () => {
    expect(ids(index.search({ query: 'leather wallet', k: 10, textExpansion: false }))).toEqual(['o-bid']);
    expect(ids(index.search({ query: 'leather wallet', k: 1 }))).toEqual(['o-bid']);
  });

  it('never displaces a bidword hit: text hits only fill the places left', () => {
    expect(ids(index.search({ query: 'leather wallet', k: 2 }))).toEqual(['o-title', 'o-bid']);
  });

  it('needs every query token in the title (not just some)', () => {
    expect(ids(index.search({ query: 'leather wallet belt', k: 10 }))).toEqual(['o-bid']); // phrase only
    expect(ids(index.search({ query: 'slim men', k: 10 }))).toEqual(['o-title']);
  });
});

describe('serialized answers', () => {
  // Keywords are written between quotes as they are when JSON would not escape them, and through
  // JSON.stringify otherwise: each of these must come out exactly as JSON.stringify(search()).
  const keywords = [
    'plain shoe',
    'say "shoe"',
    'back\\slash shoe',
    'tab\tshoe',
    'line\u2028shoe',
    'emoji 👟 shoe',
    'lone \ud800 shoe',
    'café shoe',
  ];
  const index = oneColumn(
    [customer('c1')],
    keywords.map((_, i) => offer(`o${i}`, 'c1', `title "${i}" \\ shoe`)),
    keywords.map((k, i) => bidword(`b${i}`, `o${i}`, k, 'broad', 1_000_000 + i)),
  );

  it('the JSON and lines forms equal JSON.stringify of the hits, whatever the keyword holds', () => {
    // Broad: every keyword's tokens are among the query's, whatever normalization makes of them.
    const req = q(keywords.join(' '), { k: 20 });
    const hits = index.search(req);
    expect(hits.map((h) => h.keyword).sort()).toEqual([...keywords].sort());
    expect(index.searchJson(req).json).toBe(JSON.stringify(hits));
    const lines = index
      .searchLines(req)
      .lines.split('\n')
      .filter((l) => l !== '');
    expect(lines.map((l) => l.slice(l.indexOf('\t') + 1))).toEqual(hits.map((h) => JSON.stringify(h)));
  });
});
