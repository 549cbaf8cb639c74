import { randomBytes, randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyring, decodeClickToken } from '../../core/click-token.js';
import { silentLogger } from '../../core/logger.js';
import type { MergeResponse } from '../../core/merge-contract.js';
import type { PvRecord } from '../../core/pv-record.js';
import { qualityToBp, score } from '../../core/ranking.js';
import { Ftrl } from '../../learner/ftrl.js';
import { encodeModel } from '../../learner/model-file.js';
import type { AnswerJob, AnswerResult } from './answer.js';
import { AnswerThread, InlineAnswers } from './answer-stage.js';
import { EMPTY_QRW, rewriteQuery } from './qrw.js';
import type { AdsResponse } from './routes/schemas.js';

const keyring = createKeyring(new Map([[7, randomBytes(32)]]), 7);
const NOW = Date.parse('2026-12-07T10:00:00Z');
const CLICK_BASE = 'http://click.example:8081';

function merged(count: number): MergeResponse {
  const hits = Array.from({ length: count }, (_, i) => {
    const bidMicros = 3_000_000 - i * 100_000;
    const qualityBp = qualityToBp(0.8);
    return {
      offerId: `o${i}`,
      customerId: `c${i}`,
      bidwordId: `b${i}`,
      keyword: 'trail shoe',
      matchType: 'exact' as const,
      bidMicros,
      qualityBp,
      score: score(bidMicros, qualityBp, 'exact'),
      title: `Trail shoe "${i}" \u00e9t\u00e9`,
      imageUrl: `https://img.example/${i}.jpg`,
      landingUrl: `https://shop${i}.example/p/${i}`,
    };
  });
  return { hits, coverage: { columns: 2, answered: 2 }, degraded: false, tookUs: 90 };
}

function job(text: string, arm: 'quality' | 'ctr' = 'quality'): AnswerJob {
  return {
    pvId: randomUUID(),
    arm,
    nowMs: NOW,
    startedAt: performance.timeOrigin + performance.now(),
    rawQuery: 'Trail shoes',
    rewrite: rewriteQuery(EMPTY_QRW, 'Trail shoes'),
    n: 5,
    ip: '203.0.113.9',
    userAgent: 'test/1',
    merged: text,
    rule: { reserveMicros: 10_000, stepMicros: 10_000 },
  };
}

function modelBytes(version: number): Buffer {
  const f = new Ftrl({ alpha: 0.1, beta: 1, l1: 0.1, l2: 0.1, bits: 12 });
  for (let i = 0; i < 2_000; i++) f.update([1, 100 + (i % 5)], i % 4 === 0);
  const { coords, weights } = f.nonZeroWeights();
  return encodeModel({ version, bits: 12, createdAtMs: 1, examples: f.examples, coords, weights });
}

function ok(r: AnswerResult): { body: AdsResponse; pv: PvRecord } {
  if (!r.ok) throw new Error(`not ok: ${r.code} ${r.message} (${r.cause})`);
  return { body: JSON.parse(r.body) as AdsResponse, pv: JSON.parse(r.pv) as PvRecord };
}

/** The answer with what differs between two builds of it (token nonces, timing) taken out. */
function comparable(a: { body: AdsResponse; pv: PvRecord }) {
  return {
    body: { ...a.body, tookMs: 0, ads: a.body.ads.map((ad) => ({ ...ad, clickUrl: '' })) },
    pv: { ...a.pv, tookMs: 0 },
    clicks: a.body.ads.map((ad) => {
      const token = ad.clickUrl.slice(`${CLICK_BASE}/c/`.length);
      return decodeClickToken(keyring, token);
    }),
  };
}

let thread: AnswerThread | undefined;
afterEach(async () => {
  await thread?.close();
  thread = undefined;
});

function startThread(): AnswerThread {
  thread = new AnswerThread({ keyring, clickBaseUrl: CLICK_BASE, ctrPrior: 0.02 }, silentLogger());
  return thread;
}

describe('blender answer thread', () => {
  it('builds the same answer and page-view record as answer.ts on the calling thread', async () => {
    const t = startThread();
    const inline = new InlineAnswers({
      keyring,
      clickBaseUrl: CLICK_BASE,
      clickModel: () => undefined,
      ctrPrior: 0.02,
    });
    const j = job(JSON.stringify(merged(8)));
    const there = ok(await t.run(j));
    const here = ok(await inline.run(j));
    expect(comparable(there)).toEqual(comparable(here));
    expect(there.body.ads).toHaveLength(5);
    expect(there.body.ads[0]!.clickUrl.startsWith(`${CLICK_BASE}/c/`)).toBe(true);
    expect(there.pv.pvId).toBe(j.pvId);
    expect(there.body.tookMs).toBeGreaterThanOrEqual(0);
    expect(there.body.tookMs).toBeLessThan(60_000);
  });

  it('answers every job of a batch with its own answer', async () => {
    const t = startThread();
    const jobs = Array.from({ length: 40 }, (_, i) => job(JSON.stringify(merged(1 + (i % 9)))));
    const results = await Promise.all(jobs.map((j) => t.run(j)));
    results.forEach((r, i) => {
      const { body, pv } = ok(r);
      expect(body.requestId).toBe(jobs[i]!.pvId);
      expect(pv.pvId).toBe(jobs[i]!.pvId);
      expect(body.ads).toHaveLength(Math.min(5, 1 + (i % 9)));
    });
    expect(t.inFlight).toBe(0);
  });

  it('ranks the ctr arm with the model it was given, from the next job on', async () => {
    const t = startThread();
    const text = JSON.stringify(merged(8));
    expect(ok(await t.run(job(text, 'ctr'))).pv.modelVersion).toBe(0);
    t.setModel(modelBytes(3));
    expect(ok(await t.run(job(text, 'ctr'))).pv.modelVersion).toBe(3);
    // A file that does not decode keeps the model in use.
    t.setModel(Buffer.from('not a model'));
    expect(ok(await t.run(job(text, 'ctr'))).pv.modelVersion).toBe(3);
  });

  it('answers a merger answer that is not JSON, or lacks fields, with IM_ERR_UPSTREAM_DOWN', async () => {
    const t = startThread();
    const notJson = await t.run(job('{"hits":['));
    expect(notJson).toMatchObject({ ok: false, code: 'IM_ERR_UPSTREAM_DOWN' });
    const noHits = await t.run(job('{"coverage":{"columns":1,"answered":1},"degraded":false}'));
    expect(noHits).toMatchObject({ ok: false, code: 'IM_ERR_UPSTREAM_DOWN' });
    const m = merged(3);
    delete (m.hits[1] as Record<string, unknown>).landingUrl;
    const incomplete = await t.run(job(JSON.stringify(m)));
    expect(incomplete).toMatchObject({ ok: false, code: 'IM_ERR_UPSTREAM_DOWN' });
  });

  it('fails the jobs a dead worker held, then answers on a new one with the same model', async () => {
    const t = startThread();
    const text = JSON.stringify(merged(4));
    t.setModel(modelBytes(5));
    expect(ok(await t.run(job(text, 'ctr'))).pv.modelVersion).toBe(5);
    const held = Array.from({ length: 5 }, () => t.run(job(text)));
    // Kill the worker under the jobs (what a crash of the thread looks like from here).
    await new Promise((r) => setImmediate(r));
    await (t as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    for (const r of await Promise.all(held)) {
      // Each held job either made it before the kill or failed as the thread's failure.
      if (!r.ok) expect(r).toMatchObject({ code: 'IM_ERR_INTERNAL', message: 'The answer thread failed' });
    }
    expect(ok(await t.run(job(text, 'ctr'))).pv.modelVersion).toBe(5);
  });

  it('refuses jobs after close', async () => {
    const t = startThread();
    await t.close();
    expect(await t.run(job(JSON.stringify(merged(1))))).toMatchObject({ ok: false, code: 'IM_ERR_INTERNAL' });
  });
});
