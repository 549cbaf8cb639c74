import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import type { PvRecord } from '../../core/pv-record.js';
import { PvLog, type PvMessage, type PvSink } from './pv-log.js';

function record(i: number): PvRecord {
  return {
    v: 1,
    pvId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    timeMs: 1_000 + i,
    time: new Date(1_000 + i).toISOString(),
    query: { raw: 'q', normalized: 'q', rewritten: 'q', synonyms: [], stopwords: [] },
    n: 1,
    user: { clientDigest: '0000000000000000' },
    coverage: { columns: 1, answered: 1 },
    degraded: false,
    pricing: { reserveMicros: 10_000, stepMicros: 10_000 },
    ads: [],
    tookMs: 1,
  };
}

class Sink implements PvSink {
  batches: PvMessage[][] = [];
  failNext = 0;
  inFlight = 0;
  maxInFlight = 0;
  async send(messages: PvMessage[]): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    await new Promise((r) => setTimeout(r, 2));
    this.inFlight--;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('broker unavailable');
    }
    this.batches.push(messages);
  }
  get sent(): string[] {
    return this.batches.flat().map((m) => m.key);
  }
}

function makeCounters() {
  const c = { sent: 0, dropped: 0, failed: 0 };
  return {
    c,
    counters: {
      sent: (n: number) => {
        c.sent += n;
      },
      dropped: (n: number) => {
        c.dropped += n;
      },
      failed: () => {
        c.failed++;
      },
    },
  };
}

describe('PV log', () => {
  it('sends every record once, in order, keyed by pvId with the request time, one batch in flight', async () => {
    const sink = new Sink();
    const { c, counters } = makeCounters();
    const log = new PvLog({ sink, log: silentLogger(), flushMs: 1, batchSize: 7, bufferMax: 1000, counters });
    for (let i = 0; i < 100; i++) expect(log.append(record(i))).toBe(true);
    await log.flush();
    expect(sink.sent).toEqual(Array.from({ length: 100 }, (_, i) => record(i).pvId));
    expect(sink.batches.every((b) => b.length <= 7)).toBe(true);
    expect(sink.maxInFlight).toBe(1);
    const first = sink.batches[0]![0]!;
    expect(first.timestamp).toBe('1000');
    expect(JSON.parse(first.value)).toEqual(record(0));
    expect(c).toEqual({ sent: 100, dropped: 0, failed: 0 });
    await log.close();
  });

  it('sends on its own after flushMs, without being asked', async () => {
    const sink = new Sink();
    const log = new PvLog({ sink, log: silentLogger(), flushMs: 3, batchSize: 500, bufferMax: 1000 });
    log.append(record(1));
    const deadline = Date.now() + 5000;
    while (sink.sent.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(sink.sent).toEqual([record(1).pvId]);
    await log.close();
  });

  it('retries a failed batch in order before later records', async () => {
    const sink = new Sink();
    sink.failNext = 2;
    const { c, counters } = makeCounters();
    const log = new PvLog({ sink, log: silentLogger(), flushMs: 1, batchSize: 3, bufferMax: 1000, counters });
    for (let i = 0; i < 10; i++) log.append(record(i));
    await log.flush();
    expect(sink.sent).toEqual(Array.from({ length: 10 }, (_, i) => record(i).pvId));
    expect(c.failed).toBe(2);
    expect(c.sent).toBe(10);
    await log.close();
  });

  it('drops and counts records beyond the buffer bound instead of blocking', async () => {
    const sink = new Sink();
    sink.failNext = 1_000_000; // Kafka down
    const { c, counters } = makeCounters();
    const log = new PvLog({ sink, log: silentLogger(), flushMs: 1, batchSize: 2, bufferMax: 5, counters });
    const accepted = Array.from({ length: 8 }, (_, i) => log.append(record(i)));
    expect(accepted.filter(Boolean).length).toBe(5);
    expect(c.dropped).toBe(3);
    expect(log.buffered).toBeLessThanOrEqual(5);
    sink.failNext = 0; // Kafka back
    await log.flush();
    expect(sink.sent).toEqual([0, 1, 2, 3, 4].map((i) => record(i).pvId));
    await log.close();
  });

  it('close flushes what is buffered, refuses later records, and reports what it could not send', async () => {
    const sink = new Sink();
    const log = new PvLog({ sink, log: silentLogger(), flushMs: 1000, batchSize: 500, bufferMax: 1000 });
    for (let i = 0; i < 20; i++) log.append(record(i));
    expect(await log.close(5000)).toBe(0);
    expect(sink.sent).toHaveLength(20);
    expect(log.append(record(99))).toBe(false);

    const down = new Sink();
    down.failNext = 1_000_000;
    const { c, counters } = makeCounters();
    const stuck = new PvLog({
      sink: down,
      log: silentLogger(),
      flushMs: 1,
      batchSize: 500,
      bufferMax: 1000,
      counters,
    });
    for (let i = 0; i < 4; i++) stuck.append(record(i));
    expect(await stuck.close(50)).toBe(4);
    // A batch still in flight at the deadline is counted as dropped when its send fails, not retried.
    const until = Date.now() + 5000;
    while (c.dropped < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(c.dropped).toBe(4);
    const failedAtClose = c.failed;
    await new Promise((r) => setTimeout(r, 30));
    expect(c.failed).toBe(failedAtClose);
  });
});
