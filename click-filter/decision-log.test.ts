import { describe, expect, it } from 'vitest';
import type { ClickDecision, Settlement } from '../core/click-records.js';
import { silentLogger } from '../core/logger.js';
import { DecisionLog, type TopicMessages } from './decision-log.js';

const decision = (i: number, billable = true): ClickDecision => ({
  v: 1,
  clickId: `pv:${i}`,
  decisionId: `cf:${i}`,
  instance: 'cf',
  billable,
  reason: billable ? 'ok' : 'bot',
  pvId: 'pv',
  position: 1,
  offerId: 'o',
  customerId: 'c',
  bidwordId: 'b',
  priceMicros: 10_000,
  bidMicros: 20_000,
  issuedAtMs: 1,
  clickedAtMs: 1000 + i,
  ip: '',
  uaDigest: '',
  userKey: '',
  kid: 1,
});
const settlement = (i: number): Settlement => ({
  v: 1,
  clickId: `pv:${i}`,
  customerId: 'c',
  offerId: 'o',
  bidwordId: 'b',
  priceMicros: 10_000,
  clickedAtMs: 1000 + i,
  instance: 'cf',
});

function harness(opts: { fail?: number; maxPending?: number; maxRetryMs?: number } = {}) {
  const sent: TopicMessages[][] = [];
  let failures = opts.fail ?? 0;
  let release: (() => void) | undefined;
  let now = 0;
  const dropped: string[] = [];
  const log = new DecisionLog({
    send: async (batch) => {
      await new Promise<void>((r) => {
        release = r;
        setImmediate(r);
      });
      if (failures > 0) {
        failures--;
        throw new Error('broker down');
      }
      sent.push(batch);
    },
    clicksTopic: 'clicks',
    settlementTopic: 'settlement',
    maxBatch: 100,
    maxPending: opts.maxPending ?? 1000,
    maxRetryMs: opts.maxRetryMs ?? 60_000,
    now: () => now,
    log: silentLogger(),
    onDropped: (why, n) => dropped.push(`${why}:${n}`),
  });
  return { log, sent, dropped, advance: (ms: number) => (now += ms), release: () => release?.() };
}

describe('decision log', () => {
  it('writes every decision to the clicks topic and billable ones to settlement, keyed by click id, stamped with the click time', async () => {
    const h = harness();
    const results = await Promise.all([
      h.log.write(decision(1), settlement(1)),
      h.log.write(decision(2, false), undefined),
    ]);
    expect(results).toEqual([true, true]);
    const all = h.sent.flat();
    const clicks = all.filter((t) => t.topic === 'clicks').flatMap((t) => t.messages);
    const settle = all.filter((t) => t.topic === 'settlement').flatMap((t) => t.messages);
    expect(clicks.map((m) => m.key)).toEqual(['pv:1', 'pv:2']);
    expect(settle.map((m) => m.key)).toEqual(['pv:1']);
    expect(settle[0]?.timestamp).toBe('1001');
    expect(JSON.parse(settle[0]!.value)).toEqual(settlement(1));
  });

  it('batches what arrives while a request is in flight into the next request', async () => {
    const h = harness();
    const first = h.log.write(decision(0), settlement(0));
    await new Promise((r) => setImmediate(r)); // the first request leaves at the end of the turn
    const rest = Array.from({ length: 20 }, (_, i) => h.log.write(decision(i + 1), settlement(i + 1)));
    await Promise.all([first, ...rest]);
    expect(h.sent.length).toBe(2);
    expect(h.sent[1]!.find((t) => t.topic === 'clicks')?.messages.length).toBe(20);
  });

  it('keeps one request in flight per producer, and uses every producer', async () => {
    const inFlight: number[] = [];
    let now = 0;
    let max = 0;
    let overlaps = 0;
    const sender = (id: number) => async () => {
      if (inFlight.includes(id)) overlaps++;
      inFlight.push(id);
      max = Math.max(max, inFlight.length);
      await new Promise((r) => setTimeout(r, 5));
      inFlight.splice(inFlight.indexOf(id), 1);
    };
    const log = new DecisionLog({
      send: [sender(1), sender(2)],
      clicksTopic: 'clicks',
      settlementTopic: 'settlement',
      maxBatch: 100,
      maxPending: 1000,
      maxRetryMs: 1000,
      now: () => now++,
      log: silentLogger(),
    });
    const all = [];
    for (let i = 0; i < 50; i++) {
      all.push(log.write(decision(i), undefined));
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    expect((await Promise.all(all)).every(Boolean)).toBe(true);
    expect(max).toBe(2);
    expect(overlaps).toBe(0);
  });

  it('retries a failed request and reports durable once it goes through', async () => {
    const h = harness({ fail: 2 });
    expect(await h.log.write(decision(1), settlement(1))).toBe(true);
    expect(h.sent.length).toBe(1);
    expect(h.log.healthy).toBe(true);
  });

  it('drops decisions that could not be written within maxRetryMs, and says so', async () => {
    const h = harness({ fail: 1000, maxRetryMs: 10 });
    const p = h.log.write(decision(1), settlement(1));
    h.advance(11);
    expect(await p).toBe(false);
    expect(h.dropped).toEqual(['retry-expired:1']);
    h.log.close();
  });

  it('drops new decisions when the queue is full instead of growing without bound', async () => {
    const h = harness({ maxPending: 2 });
    const a = h.log.write(decision(1), undefined);
    await new Promise((r) => setImmediate(r)); // a goes in flight at the end of the turn
    const b = h.log.write(decision(2), undefined);
    const c = h.log.write(decision(3), undefined);
    const d = h.log.write(decision(4), undefined);
    expect(await d).toBe(false);
    expect(await Promise.all([a, b, c])).toEqual([true, true, true]);
    expect(h.dropped).toEqual(['queue-full:1']);
  });

  it('sends what was written in one turn of the event loop in one request', async () => {
    const h = harness();
    const all = Array.from({ length: 30 }, (_, i) =>
      h.log.write(decision(i), i % 2 === 0 ? settlement(i) : undefined),
    );
    expect(await Promise.all(all)).toEqual(all.map(() => true));
    expect(h.sent.length).toBe(1);
    expect(h.sent[0]!.find((t) => t.topic === 'clicks')?.messages.length).toBe(30);
    expect(h.sent[0]!.find((t) => t.topic === 'settlement')?.messages.length).toBe(15);
  });

  it('with lingerMs, a free producer waits that long for more decisions unless a batch is full', async () => {
    const sentAt: { at: number; size: number }[] = [];
    const started = Date.now();
    const log = new DecisionLog({
      send: async (batch) => {
        sentAt.push({ at: Date.now() - started, size: batch[0]!.messages.length });
      },
      clicksTopic: 'clicks',
      settlementTopic: 'settlement',
      maxBatch: 10,
      lingerMs: 40,
      maxPending: 1000,
      maxRetryMs: 60_000,
      now: Date.now,
      log: silentLogger(),
    });
    const endOfTurn = () => new Promise((r) => setImmediate(r));
    const first = log.write(decision(1), undefined);
    await endOfTurn();
    expect(sentAt.length).toBe(0); // lingering, where lingerMs 0 would have sent it by now
    await new Promise((r) => setTimeout(r, 10));
    const second = log.write(decision(2), undefined);
    expect(await Promise.all([first, second])).toEqual([true, true]);
    expect(sentAt.length).toBe(1);
    expect(sentAt[0]!.size).toBe(2);
    expect(sentAt[0]!.at).toBeGreaterThanOrEqual(39);
    // A full batch does not wait: it is sent at the end of the turn that wrote it.
    const full = Array.from({ length: 10 }, (_, i) => log.write(decision(10 + i), undefined));
    await endOfTurn();
    expect(sentAt.length).toBe(2);
    expect(sentAt[1]!.size).toBe(10);
    expect(await Promise.all(full)).toEqual(full.map(() => true));
    log.close();
  });
});
