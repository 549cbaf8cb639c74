import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import type { Change, Customer } from '../core/model.js';
import { BudgetKeeper } from './budget-keeper.js';
import type { ChangeSender } from './dispatch-client.js';
import { Ledger, type LedgerEvent } from './ledger.js';

const DAY1 = Date.UTC(2026, 10, 22, 13, 0);
const DAY2 = Date.UTC(2026, 10, 23, 0, 0, 1);
let dir: string;
let ledger: Ledger;
let offset = 0;
let nextId = 100;

const acme: Customer = { id: 'c1', name: 'Acme', status: 'online', dailyBudgetMicros: 3_000_000 };

class FakeDispatch implements ChangeSender {
  sent: Change[] = [];
  failing = false;
  async send(changes: Change[]): Promise<number[]> {
    if (this.failing) throw new Error('dispatch down');
    this.sent.push(...changes);
    return changes.map(() => nextId++);
  }
  async close() {}
}

function apply(events: LedgerEvent[], topic = 't') {
  ledger.applyBatch(
    events.map((event) => ({ event, topic, partition: 0, offset: String(offset++) })),
    [{ topic, partition: 0, nextOffset: String(offset) }],
  );
}
const click = (id: string, price: number, at = DAY1): LedgerEvent => ({
  kind: 'settlement',
  value: {
    v: 1,
    clickId: id,
    customerId: 'c1',
    offerId: 'o',
    bidwordId: 'b',
    priceMicros: price,
    clickedAtMs: at,
    instance: 'i',
  },
});
const entity = (c: Customer, messageId: number): LedgerEvent => ({
  kind: 'customer',
  id: c.id,
  entity: c,
  messageId,
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'keeper-'));
  ledger = new Ledger({ path: dir, timeZone: 'UTC' });
  offset = 0;
  nextId = 100;
  apply([entity(acme, 1)]);
});
afterEach(async () => {
  await ledger.close();
  rmSync(dir, { recursive: true, force: true });
});

function keeper(clock: ManualClock, dispatch: ChangeSender | undefined = new FakeDispatch()) {
  return new BudgetKeeper({ ledger, clock, timeZone: 'UTC', dispatch, log: silentLogger() });
}

describe('budget keeper', () => {
  it('sends the whole customer entity with status offline once spend reaches the budget, and holds it', async () => {
    const clock = new ManualClock(DAY1);
    const d = new FakeDispatch();
    const k = keeper(clock, d);
    apply([click('k1', 2_000_000)]);
    k.evaluate(['c1']);
    await k.settled();
    expect(d.sent).toEqual([]);
    apply([click('k2', 1_000_000)]);
    k.evaluate(['c1']);
    await k.settled();
    expect(d.sent).toEqual([
      { entity: 'customer', op: 'upsert', data: { ...acme, status: 'offline', offlineReason: 'budget' } },
    ]);
    expect(ledger.hold('c1')).toMatchObject({ day: '2026-11-22', messageId: 100 });
  });

  it('does nothing more while the customer is held and still over budget (its own change coming back included)', async () => {
    const clock = new ManualClock(DAY1);
    const d = new FakeDispatch();
    const k = keeper(clock, d);
    apply([click('k1', 3_000_000)]);
    k.evaluate(['c1']);
    await k.settled();
    apply([entity({ ...acme, status: 'offline' }, 100), click('k2', 10_000)]);
    k.tick();
    k.evaluate(['c1']);
    await k.settled();
    expect(d.sent).toHaveLength(1);
  });

  it('brings the customer back online on the next day', async () => {
    const clock = new ManualClock(DAY1);
    const d = new FakeDispatch();
    const k = keeper(clock, d);
    apply([click('k1', 3_000_000)]);
    k.evaluate(['c1']);
    await k.settled();
    apply([entity({ ...acme, status: 'offline' }, 100)]);
    clock.set(DAY2);
    k.tick();
    await k.settled();
    expect(d.sent.at(-1)).toEqual({ entity: 'customer', op: 'upsert', data: { ...acme, status: 'online' } });
    expect(ledger.hold('c1')).toBeUndefined();
  });

  it('releases the hold when the BP raises the budget and says online (its change brought it back)', async () => {
    const clock = new ManualClock(DAY1);
    const d = new FakeDispatch();
    const k = keeper(clock, d);
    apply([click('k1', 3_000_000)]);
    k.evaluate(['c1']);
    await k.settled();
    apply([entity({ ...acme, dailyBudgetMicros: 9_000_000, status: 'online' }, 101)]);
    k.evaluate(['c1']);
    await k.settled();
    expect(ledger.hold('c1')).toBeUndefined();
    expect(d.sent).toHaveLength(1); // the BP's own change brought it back; nothing else to send
  });

  it('brings a held customer back when the BP raises only the budget of the entity billing sent', async () => {
    const clock = new ManualClock(DAY1);
    const d = new FakeDispatch();
    const k = keeper(clock, d);
    apply([click('k1', 3_000_000)]);
    k.evaluate(['c1']);
    await k.settled();
    apply([entity({ ...acme, status: 'offline' }, 100)]); // billing's own change comes back
    apply([entity({ ...acme, status: 'offline', dailyBudgetMicros: 5_000_000 }, 150)]); // the BP raises the budget
    k.evaluate(['c1']);
    await k.settled();
    expect(d.sent.at(-1)).toEqual({
      entity: 'customer',
      op: 'upsert',
      data: { ...acme, status: 'online', dailyBudgetMicros: 5_000_000 },
    });
    expect(ledger.hold('c1')).toBeUndefined();
  });

  it('takes a customer offline again if the BP brings it online while still over budget', async () => {
    const clock = new ManualClock(DAY1);
    const d = new FakeDispatch();
    const k = keeper(clock, d);
    apply([click('k1', 3_000_000)]);
    k.evaluate(['c1']);
    await k.settled();
    apply([entity({ ...acme, name: 'Acme Ltd' }, 101)]);
    k.evaluate(['c1']);
    await k.settled();
    expect(d.sent.at(-1)?.data).toEqual({
      ...acme,
      name: 'Acme Ltd',
      status: 'offline',
      offlineReason: 'budget',
    });
    expect(ledger.hold('c1')?.messageId).toBe(101);
  });

  it('keeps a pending hold when dispatch is down and re-sends on the next tick', async () => {
    const clock = new ManualClock(DAY1);
    const d = new FakeDispatch();
    d.failing = true;
    const k = keeper(clock, d);
    apply([click('k1', 3_000_000)]);
    k.evaluate(['c1']);
    await k.settled();
    expect(ledger.hold('c1')).toMatchObject({ messageId: null });
    d.failing = false;
    k.tick();
    await k.settled();
    expect(d.sent).toHaveLength(1);
    expect(ledger.hold('c1')?.messageId).toBe(100);
  });

  it('sends nothing for a customer it has no entity of', async () => {
    const clock = new ManualClock(DAY1);
    const d = new FakeDispatch();
    const k = keeper(clock, d);
    apply([
      {
        kind: 'settlement',
        value: {
          v: 1,
          clickId: 'g1',
          customerId: 'ghost',
          offerId: 'o',
          bidwordId: 'b',
          priceMicros: 9e6,
          clickedAtMs: DAY1,
          instance: 'i',
        },
      },
    ]);
    k.evaluate(['ghost']);
    await k.settled();
    expect(d.sent).toEqual([]);
  });

  it('start() checks everyone with spend today (a restart after spend crossed the budget)', async () => {
    const clock = new ManualClock(DAY1);
    const d = new FakeDispatch();
    apply([click('k1', 3_000_000)]);
    const k = keeper(clock, d);
    k.start(60_000);
    await k.settled();
    await k.stop();
    expect(d.sent.map((c) => (c.data as Customer).status)).toEqual(['offline']);
  });
});
