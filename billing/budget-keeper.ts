// Turns budget decisions (budget.ts) into changes sent through dispatch and holds kept in the
// ledger. Evaluated for the customers a ledger batch touched (their spend or entity changed), for
// every held customer on a timer (that is how "online again the next day" happens: the clock
// passes midnight in the billing time zone and today's spend is 0), and for everyone with spend
// today at start.
//
// Crash safety: before an offline change is sent, a pending hold (messageId null) is written; once
// dispatch acknowledges, the hold gets the message id. A crash in between leaves a pending hold,
// which the next evaluation re-drives (offline again while over budget, online otherwise); both
// changes are whole-entity upserts, so sending one twice is harmless. An online change removes the
// hold only after dispatch acknowledged it; a crash in between is seen on restart as "the
// customer changed after our hold" and the hold is released then.
//
// Concurrency: one evaluation per customer at a time (an in-flight set; a request that comes
// meanwhile runs once more afterwards). Ledger hold writes are small synchronous transactions.
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { type BudgetAction, decideBudget } from './budget.js';
import { dayOf } from './day.js';
import type { ChangeSender } from './dispatch-client.js';
import type { Ledger } from './ledger.js';

export interface BudgetKeeperOptions {
  ledger: Ledger;
  clock: Clock;
  timeZone: string;
  /** Undefined: decisions are logged, nothing is sent (no dispatch secret configured). */
  dispatch: ChangeSender | undefined;
  log: Logger;
  onAction?: (
    kind: 'offline' | 'online' | 'release' | 'adopt',
    result: 'sent' | 'failed' | 'skipped',
  ) => void;
}

export class BudgetKeeper {
  private readonly running = new Set<string>();
  private readonly again = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private idle: Promise<void> = Promise.resolve();
  private pendingCount = 0;
  private idleResolve: (() => void) | undefined;

  constructor(private readonly o: BudgetKeeperOptions) {}

  today(): string {
    return dayOf(this.o.clock.now(), this.o.timeZone);
  }

  /** Re-checks these customers (fire and forget; errors are logged and retried by the timer). */
  evaluate(customerIds: Iterable<string>): void {
    for (const id of customerIds) {
      if (this.running.has(id)) {
        this.again.add(id);
        continue;
      }
      this.running.add(id);
      this.track(this.run(id));
    }
  }

  /** Re-checks every held customer (and, with `everyone`, everyone with spend today). */
  tick(everyone = false): void {
    const ids = new Set<string>();
    for (const [id] of this.o.ledger.holds()) ids.add(id);
    if (everyone) for (const [id] of this.o.ledger.spendOfDay(this.today())) ids.add(id);
    this.evaluate(ids);
  }

  start(tickMs: number): void {
    this.tick(true);
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for evaluations in flight. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.settled();
  }

  /** Resolves when no evaluation is running. */
  settled(): Promise<void> {
    return this.pendingCount === 0 ? Promise.resolve() : this.idle;
  }

  private track(p: Promise<void>): void {
    if (this.pendingCount++ === 0) this.idle = new Promise((r) => (this.idleResolve = r));
    p.finally(() => {
      if (--this.pendingCount === 0) this.idleResolve?.();
    });
  }

  private async run(id: string): Promise<void> {
    try {
      // A release is followed by a fresh decision; bounded so a bug can never spin.
      for (let step = 0; step < 3; step++) {
        const action = this.decide(id);
        if (action.kind === 'none') break;
        const done = await this.act(id, action);
        if (!done || (action.kind !== 'release' && action.kind !== 'adopt')) break;
      }
    } catch (err) {
      this.o.log.error({ err, customerId: id }, 'budget evaluation failed; retried on the next tick');
    } finally {
      this.running.delete(id);
      if (this.again.delete(id)) this.evaluate([id]);
    }
  }

  private decide(id: string): BudgetAction {
    const rec = this.o.ledger.customer(id);
    const today = this.today();
    return decideBudget({
      entity: rec?.entity,
      entityMessageId: rec?.messageId ?? 0,
      hold: this.o.ledger.hold(id),
      spentTodayMicros: this.o.ledger.netSpend(id, today),
    });
  }

  /** Carries out one action; false when it could not (to be retried later). */
  private async act(id: string, action: Exclude<BudgetAction, { kind: 'none' }>): Promise<boolean> {
    const { ledger, log } = this.o;
    const today = this.today();
    const spent = ledger.netSpend(id, today);
    if (action.kind === 'adopt') {
      const hold = ledger.hold(id);
      if (hold !== undefined) ledger.setHold(id, { ...hold, messageId: action.messageId });
      log.info(
        { customerId: id, messageId: action.messageId },
        'budget hold kept: the BP changed only the daily budget',
      );
      this.o.onAction?.('adopt', 'sent');
      return true;
    }
    if (action.kind === 'release') {
      ledger.removeHold(id);
      log.info(
        { customerId: id },
        'budget hold released: the customer changed since billing took it offline',
      );
      this.o.onAction?.('release', 'sent');
      return true;
    }
    const c = action.customer;
    const why = { customerId: id, day: today, spentMicros: spent, dailyBudgetMicros: c.dailyBudgetMicros };
    if (this.o.dispatch === undefined) {
      log.warn({ ...why, status: c.status }, 'budget change not sent: no dispatch secret configured');
      this.o.onAction?.(action.kind, 'skipped');
      return false;
    }
    const sinceMs = this.o.clock.now();
    if (action.kind === 'offline' && ledger.hold(id) === undefined)
      ledger.setHold(id, { day: today, messageId: null, sinceMs, sent: c });
    try {
      const [messageId] = await this.o.dispatch.send([{ entity: 'customer', op: 'upsert', data: c }]);
      if (action.kind === 'offline') {
        ledger.setHold(id, { day: today, messageId: messageId!, sinceMs, sent: c });
        log.info({ ...why, messageId }, 'customer offline: daily budget spent');
      } else {
        ledger.removeHold(id);
        log.info({ ...why, messageId }, 'customer online again: spend is under the daily budget');
      }
      this.o.onAction?.(action.kind, 'sent');
      return true;
    } catch (err) {
      log.warn(
        { ...why, err, status: c.status },
        'budget change not accepted by dispatch; retrying on the next tick',
      );
      this.o.onAction?.(action.kind, 'failed');
      return false;
    }
  }
}
