// The daily-budget decision for one customer, as a pure function of what billing knows: the
// customer's latest entity (and the change-message id it came with), the hold billing has put on
// it (if any), and the net spend of today. budget-keeper.ts calls it after every ledger batch and
// on a timer, and turns its answer into a change sent through dispatch.
//
// The rules (docs/clicks-and-billing.md):
//   - no hold: an online customer whose spend today has reached its daily budget goes offline
//     (a budget of 0 means "no daily limit");
//   - a hold that is still the latest word about the customer (no change from the BP with a
//     higher message id since billing's own offline change): back online once today's spend is
//     under the budget again, i.e. on the next day, or after refunds;
//   - a hold under a pending offline (dispatch has not acknowledged it, e.g. billing crashed in
//     between): send the offline again while still over budget (it is idempotent), online if not;
//   - a change from the BP after the hold wins: the hold is released and the BP's status stands
//     (a BP that raises the budget and says "online" brings the customer back; one that says
//     "offline" or "suspended" keeps it off, and billing never turns it on);
//   - except a budget raise on the entity billing itself sent: a BP change identical to billing's
//     offline entity but for a different daily budget is the BP raising (or lowering) the budget
//     of a customer it sees offline, not a pause. The hold adopts that change, and the customer
//     comes back online at once if the new budget is not spent.
// Concurrency: pure.
import type { Customer } from '../core/model.js';
import type { Hold } from './ledger.js';

export interface BudgetView {
  entity: Customer | null | undefined;
  entityMessageId: number;
  hold: Hold | undefined;
  /** Net spend (charged - refunded) of today, micros. */
  spentTodayMicros: number;
}

export type BudgetAction =
  | { kind: 'none' }
  | { kind: 'offline'; customer: Customer }
  | { kind: 'online'; customer: Customer }
  /** Forget the hold (the BP has spoken since, or the customer is gone); then decide again. */
  | { kind: 'release' }
  /** Keep the hold, now as of this BP change (a new budget on billing's own entity); decide again. */
  | { kind: 'adopt'; messageId: number };

/** Billing's offline entity: the customer as it is, offline, with the reason `budget`. */
export function budgetOffline(c: Customer): Customer {
  return { ...c, status: 'offline', offlineReason: 'budget' };
}

/** Billing's online entity: the customer as it is, online, without an offline reason. */
export function budgetOnline(c: Customer): Customer {
  const { offlineReason: _, ...rest } = c;
  return { ...rest, status: 'online' };
}

export function overBudget(c: Customer, spentMicros: number): boolean {
  return c.dailyBudgetMicros > 0 && spentMicros >= c.dailyBudgetMicros;
}

export function decideBudget(v: BudgetView): BudgetAction {
  const c = v.entity;
  if (c === undefined || c === null) return v.hold === undefined ? { kind: 'none' } : { kind: 'release' };
  if (v.hold !== undefined) {
    if (v.hold.messageId === null) {
      return overBudget(c, v.spentTodayMicros)
        ? { kind: 'offline', customer: budgetOffline(c) }
        : { kind: 'online', customer: budgetOnline(c) };
    }
    if (v.entityMessageId > v.hold.messageId)
      return v.hold.sent !== undefined && onlyBudgetChanged(v.hold.sent, c)
        ? { kind: 'adopt', messageId: v.entityMessageId }
        : { kind: 'release' };
    return overBudget(c, v.spentTodayMicros)
      ? { kind: 'none' }
      : { kind: 'online', customer: budgetOnline(c) };
  }
  if (c.status === 'online' && overBudget(c, v.spentTodayMicros))
    return { kind: 'offline', customer: budgetOffline(c) };
  return { kind: 'none' };
}

/** True when `now` is `sent` (billing's offline entity) with another daily budget and nothing else changed. */
export function onlyBudgetChanged(sent: Customer, now: Customer): boolean {
  if (now.dailyBudgetMicros === sent.dailyBudgetMicros) return false;
  // The BP may copy billing's entity with or without its offline reason.
  const a: Customer = { ...sent, dailyBudgetMicros: 0, offlineReason: 'budget' };
  const b: Customer = { ...now, dailyBudgetMicros: 0, offlineReason: 'budget' };
  return canonical(a) === canonical(b);
}

function canonical(c: Customer): string {
  return JSON.stringify(c, Object.keys(c).sort());
}
