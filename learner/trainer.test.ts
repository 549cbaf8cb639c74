import { describe, expect, it } from 'vitest';
import { PV_RECORD_VERSION, type PvRecord } from '../core/pv-record.js';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.js';
import { Trainer, type TrainerOptions } from './trainer.js';

const OPTIONS: TrainerOptions = {
  ftrl: { alpha: 0.1, beta: 1, l1: 0.5, l2: 1, bits: 16 },
  attributionWindowMs: 10_000,
  holdOutPct: 0,
  evalWindow: 1_000,
};

function pv(i: number, timeMs: number, offers: string[]): PvRecord {
  return {
    v: PV_RECORD_VERSION,
    pvId: `pv${i}`,
    timeMs,
    time: new Date(timeMs).toISOString(),
    query: { raw: 'red shoes', normalized: 'red shoes', rewritten: 'red shoes', synonyms: [], stopwords: [] },
    n: offers.length,
    user: { clientDigest: 'd' },
    coverage: { columns: 1, answered: 1 },
    degraded: false,
    pricing: { reserveMicros: 10_000, stepMicros: 10_000 },
    ads: offers.map((offerId, k) => ({
      position: k + 1,
      offerId,
      customerId: 'c1',
      bidwordId: 'b1',
      keyword: 'red shoes',
      matchType: 'exact',
      bidMicros: 500_000,
      qualityBp: 5_000,
      score: 1,
      priceMicros: 100_000,
    })),
    tookMs: 1,
  };
}

/** Traffic where o-good is clicked in 1 of 3 page views and o-bad never. */
function feed(t: Trainer, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const at = i * 100;
    // Both offers take turns at the top so position does not explain the clicks.
    t.pageView(pv(i, at, i % 2 === 0 ? ['o-good', 'o-bad'] : ['o-bad', 'o-good']));
    if (i % 3 === 0)
      t.click({ clickId: `pv${i}:${i % 2 === 0 ? 1 : 2}`, billable: true, clickedAtMs: at + 2_000 });
    if (i % 7 === 0)
      t.click({ clickId: `pv${i}:${i % 2 === 0 ? 2 : 1}`, billable: false, clickedAtMs: at + 50 });
    t.advance(at);
  }
}

describe('trainer', () => {
  it('learns that a clicked offer beats a never-clicked one; invalid clicks are never positives', () => {
    const t = new Trainer(OPTIONS);
    feed(t, 0, 3_000);
    const a = t.attribution.counts;
    expect(a.positives).toBe(1_000);
    expect(a.invalidClicks).toBe(Math.ceil(3_000 / 7));
    // Impressions still inside the window at the end are not examples yet.
    expect(a.negatives + a.positives + t.attribution.waiting).toBe(6_000);
    const w = (offer: string) => t.ftrl.weight(coordOfOffer(offer));
    expect(w('o-good')).toBeGreaterThan(0);
    expect(w('o-bad')).toBeLessThan(0);
    expect(t.counts).toMatchObject({ trained: 6_000 - t.attribution.waiting, pvRecords: 3_000 });
  });

  it('holds out the share of impressions it is told to and evaluates them', () => {
    const t = new Trainer({ ...OPTIONS, holdOutPct: 20 });
    feed(t, 0, 3_000);
    const share = t.counts.heldOut / (t.counts.heldOut + t.counts.trained);
    expect(share).toBeGreaterThan(0.16);
    expect(share).toBeLessThan(0.24);
    const f = t.evaluation.total();
    expect(f.impressions).toBe(t.counts.heldOut);
    // Clicks are all on o-good, a third of its impressions: a model that ranks o-good above o-bad
    // can reach at most 0.6 x 1 + 0.4 x 0.5 = 0.8 (its unclicked impressions tie with its clicked).
    expect(f.auc).toBeGreaterThan(0.72);
  });

  it('a checkpoint taken mid-stream resumes to exactly the state of a run without the stop', () => {
    const straight = new Trainer(OPTIONS);
    feed(straight, 0, 2_000);

    const first = new Trainer(OPTIONS);
    feed(first, 0, 1_234);
    first.setNextOffset('pv', 0, 1_234n);
    const bytes = encodeCheckpoint({
      stateId: 's1',
      modelVersion: 4,
      createdAtMs: 1,
      trainer: first.state(),
    });
    const back = decodeCheckpoint(bytes);
    expect(back.stateId).toBe('s1');
    expect(back.modelVersion).toBe(4);
    const resumed = Trainer.restore(back.trainer);
    expect(resumed.nextOffset('pv', 0)).toBe(1_234n);
    feed(resumed, 1_234, 2_000);

    expect(resumed.attribution.counts).toEqual(straight.attribution.counts);
    expect(resumed.ftrl.examples).toBe(straight.ftrl.examples);
    expect(Buffer.from(resumed.ftrl.z.buffer).equals(Buffer.from(straight.ftrl.z.buffer))).toBe(true);
    expect(Buffer.from(resumed.ftrl.n.buffer).equals(Buffer.from(straight.ftrl.n.buffer))).toBe(true);
  });

  it('refuses a damaged checkpoint', () => {
    const t = new Trainer(OPTIONS);
    feed(t, 0, 100);
    const bytes = encodeCheckpoint({ stateId: 's', modelVersion: 1, createdAtMs: 1, trainer: t.state() });
    const flipped = Buffer.from(bytes);
    flipped[100] = flipped[100]! ^ 1;
    expect(() => decodeCheckpoint(flipped)).toThrow(/checksum/);
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 1))).toThrow(/checksum/);
    expect(() => decodeCheckpoint(Buffer.from('nope'))).toThrow(/not a learner checkpoint/);
  });
});

import { coordOf } from './features.js';

function coordOfOffer(offer: string): number {
  return coordOf(`offer=${offer}`, OPTIONS.ftrl.bits);
}
