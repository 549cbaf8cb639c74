// The billing ledger: a durable embedded store of every charged click, every applied refund, each
// customer's spend per day, the customer entities billing needs to send offline/online changes,
// the budget holds it has put in place, and the Kafka positions it has consumed.
//
// Store: LMDB (the `lmdb` package). Why: ACID transactions with a crash-safe copy-on-write B+tree
// (no recovery step, no WAL to replay), several named databases committed in ONE transaction, a
// synchronous API that makes read-modify-write of a batch trivial on one thread, readers in other
// processes (the `imatch spend` CLI reads while billing writes), and its binary ships inside the
// registry package (no native build at install time). SQLite would do as well; it needs a native
// build here.
//
// Invariants (each enforced inside the one write transaction of a batch):
//   - a click id is charged at most once: a second settlement record of the same click id only
//     counts as a duplicate (the money moves once);
//   - a refund id is applied at most once, never to a click that was not charged (a refund that
//     arrives before its charge is parked until the charge arrives), never for more than what is
//     left of the charge, and never to another customer's click;
//   - `duplicate` refunds move no money here: they answer settlement records of a click id the
//     ledger already absorbed (see docs/clicks-and-billing.md);
//   - the Kafka position after the batch is stored in the same transaction as the batch's effects,
//     so a crash before or after the commit leaves effects and position consistent; offsets are
//     committed to Kafka only after the transaction is flushed.
//
// Concurrency: one writer (the billing process; run one billing instance per ledger). Writes are
// synchronous transactions on the event loop; `flushed()` resolves once they are on disk
// (overlappingSync: the fsync runs after the commit, off the main thread).
import { randomBytes } from 'node:crypto';
import { type Database, open, type RootDatabase } from 'lmdb';
import type { Refund, Settlement } from '../core/click-records.js';
import type { Customer } from '../core/model.js';
import { dayOf } from './day.js';

export interface ChargedClick {
  customerId: string;
  offerId: string;
  bidwordId: string;
  priceMicros: number;
  clickedAtMs: number;
  /** Billing day of the click (time zone of the ledger). */
  day: string;
  refundedMicros: number;
  /** Settlement records seen for this click id (1 + duplicates absorbed). */
  settlements: number;
}

export type RefundEffect = 'refunded' | 'absorbed-duplicate' | 'nothing-left' | 'customer-mismatch';

export interface AppliedRefund {
  refundId: string;
  clickId: string;
  customerId: string;
  reason: Refund['reason'];
  hour: string;
  requestedMicros: number;
  appliedMicros: number;
  effect: RefundEffect;
}

export interface DaySpend {
  chargedMicros: number;
  refundedMicros: number;
  clicks: number;
  refunds: number;
  duplicateSettlements: number;
}

export interface Totals {
  chargedMicros: number;
  refundedMicros: number;
  clicks: number;
  refunds: number;
}

export interface CustomerRecord {
  /** Latest entity (null once deleted). */
  entity: Customer | null;
  /** Change-message id it came with (the snapshot's watermark for snapshot rows). */
  messageId: number;
}

/** Billing has taken the customer offline (or is about to: messageId null until dispatch accepts). */
export interface Hold {
  day: string;
  messageId: number | null;
  sinceMs: number;
  /** The entity billing sent (status offline), to recognise the BP raising only the budget. */
  sent?: Customer;
}

export type LedgerEvent =
  | { kind: 'settlement'; value: Settlement }
  | { kind: 'refund'; value: Refund }
  | { kind: 'customer'; id: string; entity: Customer | null; messageId: number };

/** Where to resume a topic partition: the offset of the next record to read. */
export interface Position {
  topic: string;
  partition: number;
  nextOffset: string;
}

export interface BatchResult {
  charged: number;
  chargedMicros: number;
  duplicateSettlements: number;
  refunds: Record<RefundEffect | 'parked' | 'repeated', number>;
  refundedMicros: number;
  customersUpdated: number;
  /** Events at or below the stored position (already applied before a crash or rebalance). */
  skipped: number;
  /** Customers whose spend or entity changed. */
  touched: Set<string>;
}

export interface LedgerOptions {
  path: string;
  /** IANA time zone of billing days. */
  timeZone: string;
  readOnly?: boolean;
}

const ZERO_SPEND: Readonly<DaySpend> = Object.freeze({
  chargedMicros: 0,
  refundedMicros: 0,
  clicks: 0,
  refunds: 0,
  duplicateSettlements: 0,
});
const SEP = '\u0000';

export class Ledger {
  private readonly root: RootDatabase;
  private readonly clicks: Database<ChargedClick, string>;
  private readonly refunds: Database<AppliedRefund, string>;
  private readonly pending: Database<Refund, string>;
  private readonly spendDb: Database<DaySpend, string>;
  private readonly customers: Database<CustomerRecord, string>;
  private readonly holdsDb: Database<Hold, string>;
  private readonly offsets: Database<string, string>;
  private readonly meta: Database<Totals, string>;
  private readonly info: Database<string, string>;
  readonly timeZone: string;

  constructor(opts: LedgerOptions) {
    this.timeZone = opts.timeZone;
    this.root = open({ path: opts.path, maxDbs: 12, readOnly: opts.readOnly ?? false });
    this.clicks = this.root.openDB({ name: 'clicks' });
    this.refunds = this.root.openDB({ name: 'refunds' });
    this.pending = this.root.openDB({ name: 'pending-refunds' });
    this.spendDb = this.root.openDB({ name: 'spend' });
    this.customers = this.root.openDB({ name: 'customers' });
    this.holdsDb = this.root.openDB({ name: 'holds' });
    this.offsets = this.root.openDB({ name: 'offsets' });
    this.meta = this.root.openDB({ name: 'meta' });
    this.info = this.root.openDB({ name: 'info' });
  }

  /**
   * This ledger's id, made once when the ledger is created. Billing's Kafka consumer group is
   * named after it, so a new (empty) ledger reads every topic from the start instead of resuming
   * from offsets an earlier ledger committed.
   */
  identity(): string {
    let id = this.info.get('id');
    if (id === undefined) {
      id = randomBytes(6).toString('hex');
      const fresh = id;
      this.root.transactionSync(() => {
        if (this.info.get('id') === undefined) this.info.putSync('id', fresh);
      });
      id = this.info.get('id')!;
    }
    return id;
  }

  /** Applies a batch and records the positions after it, in one transaction. */
  applyBatch(
    events: readonly { event: LedgerEvent; topic: string; partition: number; offset: string }[],
    positions: readonly Position[],
  ): BatchResult {
    const result: BatchResult = {
      charged: 0,
      chargedMicros: 0,
      duplicateSettlements: 0,
      refunds: {
        refunded: 0,
        'absorbed-duplicate': 0,
        'nothing-left': 0,
        'customer-mismatch': 0,
        parked: 0,
        repeated: 0,
      },
      refundedMicros: 0,
      customersUpdated: 0,
      skipped: 0,
      touched: new Set(),
    };
    this.root.transactionSync(() => {
      const totals = {
        ...(this.meta.get('totals') ?? { chargedMicros: 0, refundedMicros: 0, clicks: 0, refunds: 0 }),
      };
      const stored = new Map<string, bigint>();
      for (const { event, topic, partition, offset } of events) {
        const key = topic + SEP + partition;
        let from = stored.get(key);
        if (from === undefined) {
          const s = this.offsets.get(key);
          from = s === undefined ? -1n : BigInt(s);
          stored.set(key, from);
        }
        if (BigInt(offset) < from) {
          result.skipped++;
          continue;
        }
        this.applyOne(event, result, totals);
      }
      this.meta.putSync('totals', totals);
      for (const p of positions) {
        const key = p.topic + SEP + p.partition;
        const prev = this.offsets.get(key);
        if (prev === undefined || BigInt(p.nextOffset) > BigInt(prev))
          this.offsets.putSync(key, p.nextOffset);
      }
    });
    return result;
  }

  private applyOne(event: LedgerEvent, r: BatchResult, totals: Totals): void {
    if (event.kind === 'settlement') this.charge(event.value, r, totals);
    else if (event.kind === 'refund') this.refund(event.value, r, totals);
    else {
      const prev = this.customers.get(event.id);
      if (prev !== undefined && prev.messageId >= event.messageId) return;
      this.customers.putSync(event.id, { entity: event.entity, messageId: event.messageId });
      r.customersUpdated++;
      r.touched.add(event.id);
    }
  }

  private charge(s: Settlement, r: BatchResult, totals: Totals): void {
    const prev = this.clicks.get(s.clickId);
    if (prev !== undefined) {
      this.clicks.putSync(s.clickId, { ...prev, settlements: prev.settlements + 1 });
      this.bumpSpend(prev.customerId, prev.day, { duplicateSettlements: 1 });
      r.duplicateSettlements++;
      return;
    }
    const day = dayOf(s.clickedAtMs, this.timeZone);
    const click: ChargedClick = {
      customerId: s.customerId,
      offerId: s.offerId,
      bidwordId: s.bidwordId,
      priceMicros: s.priceMicros,
      clickedAtMs: s.clickedAtMs,
      day,
      refundedMicros: 0,
      settlements: 1,
    };
    this.clicks.putSync(s.clickId, click);
    this.bumpSpend(s.customerId, day, { chargedMicros: s.priceMicros, clicks: 1 });
    totals.chargedMicros += s.priceMicros;
    totals.clicks++;
    r.charged++;
    r.chargedMicros += s.priceMicros;
    r.touched.add(s.customerId);
    // Refunds that arrived before this charge.
    const prefix = s.clickId + SEP;
    const parked = [...this.pending.getRange({ start: prefix, end: s.clickId + '\u0001' })];
    for (const { key, value } of parked) {
      this.pending.removeSync(key);
      this.refund(value, r, totals);
    }
  }

  private refund(f: Refund, r: BatchResult, totals: Totals): void {
    if (this.refunds.get(f.refundId) !== undefined) {
      r.refunds.repeated++;
      return;
    }
    const click = this.clicks.get(f.clickId);
    if (click === undefined) {
      // Not charged (yet): park it; it is applied if and when the charge arrives.
      this.pending.putSync(f.clickId + SEP + f.refundId, f);
      r.refunds.parked++;
      return;
    }
    let effect: RefundEffect;
    let applied = 0;
    if (f.reason === 'duplicate') effect = 'absorbed-duplicate';
    else if (f.customerId !== click.customerId) effect = 'customer-mismatch';
    else {
      applied = Math.min(f.amountMicros, click.priceMicros - click.refundedMicros);
      effect = applied > 0 ? 'refunded' : 'nothing-left';
    }
    this.refunds.putSync(f.refundId, {
      refundId: f.refundId,
      clickId: f.clickId,
      customerId: f.customerId,
      reason: f.reason,
      hour: f.hour,
      requestedMicros: f.amountMicros,
      appliedMicros: applied,
      effect,
    });
    r.refunds[effect]++;
    if (applied > 0) {
      this.clicks.putSync(f.clickId, { ...click, refundedMicros: click.refundedMicros + applied });
      this.bumpSpend(click.customerId, click.day, { refundedMicros: applied, refunds: 1 });
      totals.refundedMicros += applied;
      totals.refunds++;
      r.refundedMicros += applied;
      r.touched.add(click.customerId);
    }
  }

  private bumpSpend(customerId: string, day: string, add: Partial<DaySpend>): void {
    const key = day + SEP + customerId;
    const s = { ...(this.spendDb.get(key) ?? ZERO_SPEND) };
    s.chargedMicros += add.chargedMicros ?? 0;
    s.refundedMicros += add.refundedMicros ?? 0;
    s.clicks += add.clicks ?? 0;
    s.refunds += add.refunds ?? 0;
    s.duplicateSettlements += add.duplicateSettlements ?? 0;
    this.spendDb.putSync(key, s);
  }

  /** Customer entities from a snapshot: kept only where the ledger has nothing newer. */
  seedCustomers(rows: readonly Customer[], watermark: number): number {
    let n = 0;
    this.root.transactionSync(() => {
      for (const c of rows) {
        const prev = this.customers.get(c.id);
        if (prev !== undefined && prev.messageId >= watermark) continue;
        this.customers.putSync(c.id, { entity: c, messageId: watermark });
        n++;
      }
    });
    return n;
  }

  /** Resolves once every commit so far is on disk. */
  async flushed(): Promise<void> {
    await this.root.flushed;
  }

  // ---- reads

  spend(customerId: string, day: string): DaySpend {
    return { ...(this.spendDb.get(day + SEP + customerId) ?? ZERO_SPEND) };
  }

  /** Net spend (charged - refunded) of a customer on a day. */
  netSpend(customerId: string, day: string): number {
    const s = this.spendDb.get(day + SEP + customerId);
    return s === undefined ? 0 : s.chargedMicros - s.refundedMicros;
  }

  /** Every customer with spend on `day`. */
  *spendOfDay(day: string): Generator<[string, DaySpend]> {
    for (const { key, value } of this.spendDb.getRange({ start: day + SEP, end: day + '\u0001' }))
      yield [key.slice(day.length + 1), value];
  }

  click(clickId: string): ChargedClick | undefined {
    return this.clicks.get(clickId);
  }

  appliedRefund(refundId: string): AppliedRefund | undefined {
    return this.refunds.get(refundId);
  }

  parkedRefunds(): number {
    return this.pending.getCount();
  }

  totals(): Totals {
    return { ...(this.meta.get('totals') ?? { chargedMicros: 0, refundedMicros: 0, clicks: 0, refunds: 0 }) };
  }

  storedOffset(topic: string, partition: number): string | undefined {
    return this.offsets.get(topic + SEP + partition);
  }

  positions(): Position[] {
    const out: Position[] = [];
    for (const { key, value } of this.offsets.getRange({})) {
      const i = key.lastIndexOf(SEP);
      out.push({ topic: key.slice(0, i), partition: Number(key.slice(i + 1)), nextOffset: value });
    }
    return out;
  }

  customer(id: string): CustomerRecord | undefined {
    return this.customers.get(id);
  }

  customerCount(): number {
    return this.customers.getCount();
  }

  // ---- holds (budget state; small transactions of their own)

  hold(customerId: string): Hold | undefined {
    return this.holdsDb.get(customerId);
  }

  *holds(): Generator<[string, Hold]> {
    for (const { key, value } of this.holdsDb.getRange({})) yield [key, value];
  }

  setHold(customerId: string, hold: Hold): void {
    this.holdsDb.putSync(customerId, hold);
  }

  removeHold(customerId: string): void {
    this.holdsDb.removeSync(customerId);
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}
