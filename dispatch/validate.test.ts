import { describe, expect, it } from 'vitest';
import { checkBatch } from './validate.js';

const customer = { id: 'c1', name: 'Acme', status: 'online', dailyBudgetMicros: 50_000_000 };
const offer = {
  id: 'o1',
  customerId: 'c1',
  title: 'Red running shoes',
  category: 'apparel/shoes',
  imageUrl: 'https://img.example/o1.jpg',
  landingUrl: 'https://shop.example/o1',
  status: 'online',
  quality: 0.8,
};
const bidword = {
  id: 'b1',
  offerId: 'o1',
  keyword: 'running shoes',
  matchType: 'phrase',
  bidMicros: 1_500_000,
  status: 'online',
};

const { bidMicros: _bid, ...unpriced } = bidword;
const negative = { ...unpriced, id: 'b2', matchType: 'negative-exact' };

describe('change batch validation', () => {
  it('accepts upserts and deletes of every entity', () => {
    const out = checkBatch([
      { entity: 'customer', op: 'upsert', data: customer },
      { entity: 'offer', op: 'upsert', data: offer },
      { entity: 'bidword', op: 'upsert', data: bidword },
      { entity: 'bidword', op: 'upsert', data: negative },
      { entity: 'bidword', op: 'delete', data: { id: 'b1' } },
      { entity: 'offer', op: 'delete', data: { id: 'o1' } },
      { entity: 'customer', op: 'delete', data: { id: 'c1' } },
    ]);
    expect(out.ok).toBe(true);
  });

  it('lists every bad item by index with what was allowed', () => {
    const out = checkBatch([
      { entity: 'customer', op: 'upsert', data: customer },
      { entity: 'campaign', op: 'upsert', data: customer },
      { entity: 'offer', op: 'upsert', data: { ...offer, status: 'paused', quality: 0 } },
      { entity: 'bidword', op: 'upsert', data: unpriced },
      { entity: 'bidword', op: 'delete', data: { id: 'b1', offerId: 'o1' } },
      'nonsense',
      { entity: 'offer', op: 'replace', data: offer, extra: true },
    ]);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.problems.map((p) => p.index)).toEqual([1, 2, 3, 4, 5, 6]);
    const reason = (i: number) => out.problems.find((p) => p.index === i)!.reason;
    expect(reason(1)).toBe('entity: got "campaign"; allowed: customer, offer, bidword');
    expect(reason(2)).toContain('data.status: got "paused"; Offer status. Allowed: online, offline');
    expect(reason(2)).toContain('data.quality: must be > 0 (got 0)');
    expect(reason(3)).toBe('data: bidword b1 with match type phrase needs bidMicros');
    expect(reason(4)).toBe('data: unknown field "offerId"');
    expect(reason(5)).toBe('must be an object {entity, op, data}');
    expect(reason(6)).toContain('unknown field "extra"');
    expect(reason(6)).toContain('op: got "replace"; allowed: upsert, delete');
  });

  it('refuses a negative keyword that carries a bid', () => {
    const out = checkBatch([
      { entity: 'bidword', op: 'upsert', data: { ...bidword, matchType: 'negative-phrase' } },
    ]);
    expect(out).toEqual({
      ok: false,
      problems: [{ index: 0, reason: 'data: negative keyword b1 must not carry bidMicros' }],
    });
  });

  it('names missing fields and bad ids', () => {
    const { title: _t, ...noTitle } = offer;
    const out = checkBatch([{ entity: 'offer', op: 'upsert', data: { ...noTitle, id: 'bad id!' } }]);
    expect(out.ok).toBe(false);
    if (out.ok) return;
    expect(out.problems[0]!.reason).toContain('data.title: is required');
    expect(out.problems[0]!.reason).toContain(
      'data.id: must be Entity id (1-64 of A-Z a-z 0-9 _ . : -) (got "bad id!")',
    );
  });
});
