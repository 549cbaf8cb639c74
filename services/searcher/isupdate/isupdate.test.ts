import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../core/logger.js';
import type { ChangeMessage } from '../../../core/model.js';
import { columnOf } from '../../../core/partition.js';
import type { ColumnIndex, IndexDump } from '../index/column-index.js';
import { IsUpdate, parseMessage, type RawMessage } from './isupdate.js';
import { Wal } from './wal.js';

// A stand-in for ColumnIndex that records what it was given, and checks the one rule isupdate
// must keep: a message is on disk (in the WAL) before it is applied.
class FakeIndex implements ColumnIndex {
  readonly applied: number[] = [];
  appliedId: number;
  #last = new Map<string, number>();
  constructor(
    readonly version: string,
    readonly watermark: number,
    readonly column = 0,
    readonly columns = 1,
    readonly wal?: Wal,
  ) {
    this.appliedId = watermark;
  }
  search(): never {
    throw new Error('not used');
  }
  searchWithLost(): never {
    throw new Error('not used');
  }
  searchJson(): never {
    throw new Error('not used');
  }
  searchLines(): never {
    throw new Error('not used');
  }
  apply(msg: ChangeMessage): boolean {
    if (this.wal !== undefined && this.wal.lastId < msg.id)
      throw new Error(`message ${msg.id} applied before it was stored`);
    if (msg.id <= this.watermark) return false;
    const key = `${msg.entity}:${msg.data.id}`;
    if ((this.#last.get(key) ?? 0) >= msg.id) return false;
    this.#last.set(key, msg.id);
    this.applied.push(msg.id);
    this.appliedId = Math.max(this.appliedId, msg.id);
    return true;
  }
  stats(): never {
    throw new Error('not used');
  }
  dump(): IndexDump {
    return { customers: [], offers: [], pendingBidwords: [] };
  }
}

const customer = (id: number, name = `c${id}`): ChangeMessage => ({
  entity: 'customer',
  op: 'upsert',
  data: { id: name, name, status: 'online', dailyBudgetMicros: 5_000_000 },
  id,
  acceptedAt: '2026-01-01T00:00:00.000Z',
});
const offerDelete = (id: number, offerId: string): ChangeMessage => ({
  entity: 'offer',
  op: 'delete',
  data: { id: offerId },
  id,
  acceptedAt: '2026-01-01T00:00:00.000Z',
});
const raw = (msgs: ChangeMessage[], firstOffset: number): RawMessage[] =>
  msgs.map((m, i) => ({ offset: firstOffset + i, value: Buffer.from(JSON.stringify(m)) }));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imatch-isupdate-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function setup(wal: Wal, index: FakeIndex | undefined, batchSize = 100) {
  const live = { index } as { index: FakeIndex | undefined };
  const isu = new IsUpdate({ wal, live: { current: () => live.index }, batchSize, logger: silentLogger() });
  return { isu, live };
}

describe('isupdate', () => {
  it('stores each micro-batch in the WAL before applying it, one fsync per batch', async () => {
    const wal = await Wal.open(dir);
    let appends = 0;
    const append = wal.append.bind(wal);
    wal.append = async (records, through) => {
      if (records.length > 0) appends++;
      return append(records, through);
    };
    const index = new FakeIndex('v1', 0, 0, 1, wal);
    const { isu } = setup(wal, index, 2);
    const out = await isu.ingest(
      0,
      raw(
        range(1, 5).map((i) => customer(i)),
        0,
      ),
    );
    expect(out).toEqual({ nextOffset: 5, stored: 5, applied: 5 });
    expect(appends).toBe(3); // 2 + 2 + 1
    expect(index.applied).toEqual([1, 2, 3, 4, 5]);
    await wal.close();
  });

  it('with batch size 1 applies message by message', async () => {
    const wal = await Wal.open(dir);
    let appends = 0;
    const append = wal.append.bind(wal);
    wal.append = async (records, through) => {
      if (records.length > 0) appends++;
      return append(records, through);
    };
    const { isu } = setup(wal, new FakeIndex('v1', 0, 0, 1, wal), 1);
    await isu.ingest(
      0,
      raw(
        range(1, 4).map((i) => customer(i)),
        0,
      ),
    );
    expect(appends).toBe(4);
    await wal.close();
  });

  it('skips a redelivered offset that the WAL already holds', async () => {
    const wal = await Wal.open(dir);
    const index = new FakeIndex('v1', 0);
    const { isu } = setup(wal, index);
    await isu.ingest(0, raw([customer(1), customer(2)], 0));
    // Kafka redelivers from an older committed offset after a crash.
    const out = await isu.ingest(0, raw([customer(1), customer(2), customer(3)], 0));
    expect(out.stored).toBe(1);
    expect(index.applied).toEqual([1, 2, 3]);
    expect(wal.stats().records).toBe(3);
    await wal.close();
  });

  it('keeps offers of its own column only, and every customer message', async () => {
    const mine = ['o1', 'o2', 'o3', 'o4', 'o5', 'o6'].filter((o) => columnOf(o, 2) === 0);
    const other = ['o1', 'o2', 'o3', 'o4', 'o5', 'o6'].filter((o) => columnOf(o, 2) === 1);
    expect(mine.length).toBeGreaterThan(0);
    expect(other.length).toBeGreaterThan(0);
    const wal = await Wal.open(dir);
    const index = new FakeIndex('v1', 0, 0, 2);
    const { isu } = setup(wal, index);
    const msgs = [offerDelete(1, mine[0]!), offerDelete(2, other[0]!), customer(3)];
    const out = await isu.ingest(0, raw(msgs, 0));
    expect(out).toEqual({ nextOffset: 3, stored: 2, applied: 2 });
    expect(index.applied).toEqual([1, 3]);
    await wal.close();
  });

  it('does not store messages the loaded version already contains', async () => {
    const wal = await Wal.open(dir);
    const index = new FakeIndex('v1', 10);
    const { isu } = setup(wal, index);
    const out = await isu.ingest(
      0,
      raw(
        range(8, 12).map((i) => customer(i)),
        100,
      ),
    );
    expect(out).toEqual({ nextOffset: 105, stored: 2, applied: 2 });
    expect(index.applied).toEqual([11, 12]);
    await wal.close();
  });

  it('after a restart replays the WAL past the watermark into the freshly loaded version', async () => {
    const wal = await Wal.open(dir);
    const { isu } = setup(wal, new FakeIndex('v1', 0));
    await isu.ingest(
      0,
      raw(
        range(1, 6).map((i) => customer(i)),
        0,
      ),
    );
    await wal.close();

    // "kill -9" and start again: same version loaded from disk, WAL reopened.
    const wal2 = await Wal.open(dir);
    const { isu: isu2, live } = setup(wal2, undefined);
    const loaded = new FakeIndex('v1', 0);
    expect(await isu2.catchUp(loaded)).toBe(6);
    live.index = loaded;
    expect(loaded.applied).toEqual([1, 2, 3, 4, 5, 6]);
    // Consumption resumes where the WAL ends; nothing is applied twice.
    const out = await isu2.ingest(
      0,
      raw(
        range(5, 8).map((i) => customer(i)),
        4,
      ),
    );
    expect(out.stored).toBe(2);
    expect(loaded.applied).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await wal2.close();
  });

  it('replays into a new version only what is past its watermark, and prunes the WAL after the switch', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 400 });
    const old = new FakeIndex('v1', 0);
    const { isu, live } = setup(wal, old, 1);
    await isu.ingest(
      0,
      raw(
        range(1, 10).map((i) => customer(i)),
        0,
      ),
    );
    const segmentsBefore = wal.stats().segments;

    // The daily build contains changes up to id 7.
    const next = new FakeIndex('v2', 7);
    expect(await isu.catchUp(next)).toBe(3);
    expect(next.applied).toEqual([8, 9, 10]);

    // A message stored after the replay but before the holder switches reaches both versions.
    await isu.ingest(0, raw([customer(11)], 10));
    expect(old.applied.at(-1)).toBe(11);
    expect(next.applied).toEqual([8, 9, 10, 11]);

    live.index = next; // the holder switches
    await isu.swapped();
    expect(wal.stats().segments).toBeLessThan(segmentsBefore);
    const left: number[] = [];
    for await (const chunk of wal.replay(7)) left.push(...chunk.map((m) => m.id));
    expect(left).toEqual([8, 9, 10, 11]);

    // After the switch only the new version receives messages.
    await isu.ingest(0, raw([customer(12)], 11));
    expect(next.applied.at(-1)).toBe(12);
    expect(old.applied.at(-1)).toBe(11);
    await wal.close();
  });

  it('publishes the applied id, throttled, and always the last one', async () => {
    const wal = await Wal.open(dir);
    const index = new FakeIndex('v1', 0);
    const published: number[] = [];
    const isu = new IsUpdate({
      wal,
      live: { current: () => index },
      batchSize: 10,
      logger: silentLogger(),
      publishIntervalMs: 50,
      onApplied: (id) => published.push(id),
    });
    for (let i = 1; i <= 5; i++) await isu.ingest(0, raw([customer(i)], i - 1));
    await new Promise((r) => setTimeout(r, 120));
    expect(published.length).toBeLessThan(5);
    expect(published.at(-1)).toBe(5);
    await isu.stop();
    await wal.close();
  });

  it('skips messages that are not change messages without stopping', async () => {
    const wal = await Wal.open(dir);
    const index = new FakeIndex('v1', 0);
    const { isu } = setup(wal, index);
    const msgs: RawMessage[] = [
      { offset: 0, value: Buffer.from('not json') },
      { offset: 1, value: null },
      { offset: 2, value: Buffer.from(JSON.stringify(customer(3))) },
    ];
    expect(await isu.ingest(0, msgs)).toEqual({ nextOffset: 3, stored: 1, applied: 1 });
    expect(parseMessage(Buffer.from('{"id":1}'))).toBeUndefined();
    await wal.close();
  });
});
