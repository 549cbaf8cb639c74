import { describe, expect, it } from 'vitest';
import { silentLogger } from '../core/logger.js';
import type { Change, ChangeMessage } from '../core/model.js';
import { IdBlocks, type IdCell } from './id-blocks.js';
import { type ChangeLog, ChangeWriter, type LeaderState } from './writer.js';

class MemoryCell implements IdCell {
  value: { next: number; version: number } | undefined;
  async read() {
    return this.value === undefined ? undefined : { ...this.value };
  }
  async create(next: number) {
    if (this.value !== undefined) return false;
    this.value = { next, version: 0 };
    return true;
  }
  async compareAndSet(next: number, version: number) {
    if (this.value?.version !== version) return false;
    this.value = { next, version: version + 1 };
    return true;
  }
}

/** A change log whose writes the test completes or fails by hand. */
class ManualLog implements ChangeLog {
  written: ChangeMessage[][] = [];
  durable: ChangeMessage[] = [];
  #waiting: Array<{ messages: readonly ChangeMessage[]; ok: () => void; fail: (e: Error) => void }> = [];
  auto = true;
  write(messages: readonly ChangeMessage[]): Promise<void> {
    this.written.push([...messages]);
    if (this.auto) {
      this.durable.push(...messages);
      return Promise.resolve();
    }
    return new Promise((ok, fail) =>
      this.#waiting.push({
        messages,
        ok: () => {
          this.durable.push(...messages);
          ok();
        },
        fail,
      }),
    );
  }
  get inFlight() {
    return this.#waiting.length;
  }
  complete() {
    this.#waiting.shift()?.ok();
  }
  failNext(err = new Error('broker down')) {
    this.#waiting.shift()?.fail(err);
  }
}

const change = (n: number): Change => ({ entity: 'offer', op: 'delete', data: { id: `o${n}` } });
const changes = (from: number, count: number) => Array.from({ length: count }, (_, i) => change(from + i));
const tick = () => new Promise((r) => setImmediate(r));

function setup(
  opts: { blockSize?: number; maxWriteBatch?: number; maxPending?: number; writeTimeoutMs?: number } = {},
) {
  const cell = new MemoryCell();
  const log = new ManualLog();
  const leader: { state: LeaderState } = { state: { leader: true, term: 1, leaderUrl: 'http://me' } };
  const writer = new ChangeWriter({
    ids: new IdBlocks(cell, { blockSize: opts.blockSize ?? 1000 }),
    log,
    leadership: { state: () => leader.state },
    logger: silentLogger(),
    maxWriteBatch: opts.maxWriteBatch ?? 1000,
    maxPending: opts.maxPending ?? 10_000,
    writeTimeoutMs: opts.writeTimeoutMs ?? 60_000,
  });
  return { cell, log, leader, writer };
}

describe('change writer', () => {
  it('answers with ids once the messages are durable, in request order', async () => {
    const { writer, log } = setup();
    const ids = await writer.submit(changes(1, 3));
    expect(ids).toEqual([1, 2, 3]);
    expect(log.durable.map((m) => [m.id, m.data.id])).toEqual([
      [1, 'o1'],
      [2, 'o2'],
      [3, 'o3'],
    ]);
    expect(log.durable[0]!.acceptedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  });

  it('does not answer before the write is acknowledged', async () => {
    const { writer, log } = setup();
    log.auto = false;
    let answered = false;
    const p = writer.submit(changes(1, 2)).then((ids) => {
      answered = true;
      return ids;
    });
    await tick();
    expect(log.inFlight).toBe(1);
    expect(answered).toBe(false);
    log.complete();
    expect(await p).toEqual([1, 2]);
  });

  it('micro-batches requests that arrive while a write is in flight, keeping id order = write order', async () => {
    const { writer, log } = setup();
    log.auto = false;
    const first = writer.submit(changes(1, 1));
    await tick();
    const second = writer.submit(changes(2, 2));
    const third = writer.submit(changes(4, 1));
    log.complete();
    await tick();
    expect(log.written.length).toBe(2);
    expect(log.written[1]!.length).toBe(3); // second and third share one write
    log.complete();
    expect(await first).toEqual([1]);
    expect(await second).toEqual([2, 3]);
    expect(await third).toEqual([4]);
    const all = log.written.flat().map((m) => m.id);
    expect(all).toEqual([...all].sort((a, b) => a - b));
  });

  it('a failed write answers 503 for its requests and their ids are never used again', async () => {
    const { writer, log } = setup();
    log.auto = false;
    const failing = writer.submit(changes(1, 2));
    await tick();
    log.failNext();
    await expect(failing).rejects.toMatchObject({ code: 'IM_ERR_KAFKA_UNAVAILABLE', statusCode: 503 });
    log.auto = true;
    expect(await writer.submit(changes(3, 1))).toEqual([3]);
    expect(log.durable.map((m) => m.id)).toEqual([3]);
  });

  it('a write that times out answers 503, and the next write waits until it settled', async () => {
    const { writer, log } = setup({ writeTimeoutMs: 20 });
    log.auto = false;
    const slow = writer.submit(changes(1, 1));
    await expect(slow).rejects.toMatchObject({ code: 'IM_ERR_KAFKA_UNAVAILABLE' });
    const next = writer.submit(changes(2, 1));
    await tick();
    expect(log.written.length).toBe(1); // not written while the first is unsettled
    log.complete(); // the late success of the first (durable, but never acknowledged)
    await tick();
    expect(log.written.length).toBe(2);
    log.complete();
    expect(await next).toEqual([2]);
  });

  it('a follower refuses with the leader URL', async () => {
    const { writer, leader } = setup();
    leader.state = { leader: false, term: 1, leaderUrl: 'http://other:1' };
    await expect(writer.submit(changes(1, 1))).rejects.toMatchObject({
      code: 'IM_ERR_NOT_LEADER',
      details: { leaderUrl: 'http://other:1' },
    });
  });

  it('a new leadership term starts a new id block', async () => {
    const { writer, leader } = setup({ blockSize: 100 });
    expect(await writer.submit(changes(1, 2))).toEqual([1, 2]);
    leader.state = { leader: true, term: 2, leaderUrl: 'http://me' };
    expect(await writer.submit(changes(3, 1))).toEqual([101]);
  });

  it('refuses new work when too much is waiting', async () => {
    const { writer, log } = setup({ maxPending: 3 });
    log.auto = false;
    const a = writer.submit(changes(1, 2));
    await expect(writer.submit(changes(3, 2))).rejects.toMatchObject({ code: 'IM_ERR_OVERLOADED' });
    await tick();
    log.complete();
    expect(await a).toEqual([1, 2]);
  });

  it('splits large queues into writes of at most maxWriteBatch messages (whole requests)', async () => {
    const { writer, log } = setup({ maxWriteBatch: 3 });
    log.auto = false;
    const first = writer.submit(changes(1, 1));
    await tick();
    const rest = [writer.submit(changes(2, 2)), writer.submit(changes(4, 2)), writer.submit(changes(6, 1))];
    for (let i = 0; i < 4 && log.inFlight + log.written.length > 0; i++) {
      log.complete();
      await tick();
    }
    await first;
    await Promise.all(rest);
    expect(log.written.map((w) => w.length)).toEqual([1, 2, 3]);
  });
});

describe('change writer deadlines', () => {
  it('answers a request queued behind a write that never settles with 503 at its own deadline', async () => {
    const { writer, log } = setup({ writeTimeoutMs: 30 });
    log.auto = false;
    const stuck = writer.submit(changes(1, 1));
    await tick();
    const queued = writer.submit(changes(2, 1));
    await expect(stuck).rejects.toMatchObject({ code: 'IM_ERR_KAFKA_UNAVAILABLE' });
    await expect(queued).rejects.toMatchObject({ code: 'IM_ERR_KAFKA_UNAVAILABLE' });
    expect(log.written).toHaveLength(1); // the queued request was never assigned or written
    expect(writer.pending).toBe(1); // only the stuck write is still out
    log.complete();
    await tick();
    expect(writer.pending).toBe(0);
  });
});
