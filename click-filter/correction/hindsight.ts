// The hindsight rules of the hourly correction: what one filter instance cannot see while it
// decides, seen over a whole hour of decisions from every instance.
//   duplicate    the same click id decided billable more than once (two instances, or one whose
//                duplicate window forgot it). The earliest decision is the charge; each other
//                billable decision gets a `duplicate` refund (`dup:<clickId>:<decisionId>`).
//                Billing already charges a click id once, so these move no money in the ledger;
//                they make "sum of settlement records - sum of refunds" equal what the ledger
//                holds for anyone who sums the topics (docs/clicks-and-billing.md).
//   blocked-ip   the click's address is in a range on the block list as it is now (a range added
//                after the click).
//   burst-ip     an address made more than burstIpMax clicks (distinct click ids, billable or
//                not) in the hour: every billable click from it is refunded.
//   burst-user   the same for a user key and burstUserMax.
// A charged click gets at most one refund of its own (`rf:<clickId>`), for the first rule that
// matches in the order blocked-ip, burst-ip, burst-user. Refund ids are deterministic, so running
// the same hour again yields the same ids.
//
// Concurrency: pure.
import type { ClickDecision, Refund, RefundReason } from '../../core/click-records.js';
import { type BlockList, ipBlocked } from '../settings.js';

export interface HindsightSettings {
  /** Clicks per address per hour above which its billable clicks are refunded (0 = off). */
  burstIpMax: number;
  /** Clicks per user per hour above which its billable clicks are refunded (0 = off). */
  burstUserMax: number;
  blockList: BlockList | undefined;
}

export interface HindsightResult {
  refunds: Refund[];
  decisions: number;
  billableDecisions: number;
  charged: number;
  byReason: Record<RefundReason, number>;
}

export function hindsight(
  input: Iterable<ClickDecision>,
  hour: string,
  s: HindsightSettings,
  createdAtMs: number,
): HindsightResult {
  // A producer retry can write one decision twice: same decision id, one decision.
  const byDecision = new Map<string, ClickDecision>();
  for (const d of input) if (!byDecision.has(d.decisionId)) byDecision.set(d.decisionId, d);
  const decisions = [...byDecision.values()].sort(
    (a, b) =>
      a.clickedAtMs - b.clickedAtMs ||
      (a.decisionId < b.decisionId ? -1 : a.decisionId > b.decisionId ? 1 : 0),
  );

  const clicksPerIp = new Map<string, Set<string>>();
  const clicksPerUser = new Map<string, Set<string>>();
  const charge = new Map<string, ClickDecision>();
  const refunds: Refund[] = [];
  const byReason: Record<RefundReason, number> = {
    duplicate: 0,
    'burst-ip': 0,
    'burst-user': 0,
    'blocked-ip': 0,
  };
  const refund = (d: ClickDecision, refundId: string, reason: RefundReason) => {
    refunds.push({
      v: 1,
      refundId,
      clickId: d.clickId,
      customerId: d.customerId,
      amountMicros: d.priceMicros,
      reason,
      hour,
      createdAtMs,
    });
    byReason[reason]++;
  };

  let billable = 0;
  for (const d of decisions) {
    if (d.ip !== '') add(clicksPerIp, d.ip, d.clickId);
    if (d.userKey !== '') add(clicksPerUser, d.userKey, d.clickId);
    if (!d.billable) continue;
    billable++;
    if (charge.has(d.clickId)) refund(d, `dup:${d.clickId}:${d.decisionId}`, 'duplicate');
    else charge.set(d.clickId, d);
  }

  for (const d of charge.values()) {
    let reason: RefundReason | undefined;
    if (s.blockList !== undefined && d.ip !== '' && ipBlocked(s.blockList, d.ip)) reason = 'blocked-ip';
    else if (s.burstIpMax > 0 && (clicksPerIp.get(d.ip)?.size ?? 0) > s.burstIpMax) reason = 'burst-ip';
    else if (
      s.burstUserMax > 0 &&
      d.userKey !== '' &&
      (clicksPerUser.get(d.userKey)?.size ?? 0) > s.burstUserMax
    )
      reason = 'burst-user';
    if (reason !== undefined) refund(d, `rf:${d.clickId}`, reason);
  }
  refunds.sort((a, b) => (a.refundId < b.refundId ? -1 : a.refundId > b.refundId ? 1 : 0));
  return {
    refunds,
    decisions: decisions.length,
    billableDecisions: billable,
    charged: charge.size,
    byReason,
  };
}

function add(m: Map<string, Set<string>>, key: string, clickId: string): void {
  let s = m.get(key);
  if (s === undefined) {
    s = new Set();
    m.set(key, s);
  }
  s.add(clickId);
}
