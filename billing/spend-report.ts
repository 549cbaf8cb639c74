// One customer's spend on one billing day, as the CLI (`imatch spend`) and the HTTP route
// (`GET /v1/spend`) show it. Amounts in micros plus their decimal text.
import { formatMicros } from '../core/money.js';
import type { Ledger } from './ledger.js';

export interface SpendReport {
  customerId: string;
  day: string;
  timeZone: string;
  chargedMicros: number;
  refundedMicros: number;
  netMicros: number;
  clicks: number;
  refunds: number;
  duplicateSettlements: number;
  /** Undefined when billing has no entity of the customer. */
  dailyBudgetMicros: number | undefined;
  /** Budget left today (never below 0); undefined without a budget (0 = no limit) or entity. */
  remainingMicros: number | undefined;
  status: string | undefined;
  /** True while billing holds the customer offline for its budget. */
  heldForBudget: boolean;
  text: { charged: string; refunded: string; net: string; budget: string | undefined };
}

export function spendReport(ledger: Ledger, customerId: string, day: string): SpendReport | undefined {
  const rec = ledger.customer(customerId);
  const s = ledger.spend(customerId, day);
  if (rec === undefined && s.clicks === 0 && s.refunds === 0) return undefined;
  const budget = rec?.entity?.dailyBudgetMicros;
  const net = s.chargedMicros - s.refundedMicros;
  return {
    customerId,
    day,
    timeZone: ledger.timeZone,
    chargedMicros: s.chargedMicros,
    refundedMicros: s.refundedMicros,
    netMicros: net,
    clicks: s.clicks,
    refunds: s.refunds,
    duplicateSettlements: s.duplicateSettlements,
    dailyBudgetMicros: budget,
    remainingMicros: budget === undefined || budget === 0 ? undefined : Math.max(0, budget - net),
    status: rec?.entity?.status,
    heldForBudget: ledger.hold(customerId) !== undefined,
    text: {
      charged: formatMicros(s.chargedMicros),
      refunded: formatMicros(s.refundedMicros),
      net: formatMicros(net),
      budget: budget === undefined ? undefined : budget === 0 ? 'no limit' : formatMicros(budget),
    },
  };
}

/** A few lines for a terminal. */
export function formatSpendReport(r: SpendReport): string {
  const lines = [
    `customer ${r.customerId}  day ${r.day} (${r.timeZone})`,
    `  charged   ${r.text.charged.padStart(14)}  (${r.clicks} clicks)`,
    `  refunded  ${r.text.refunded.padStart(14)}  (${r.refunds} refunds)`,
    `  net       ${r.text.net.padStart(14)}`,
  ];
  if (r.text.budget !== undefined)
    lines.push(
      `  budget    ${r.text.budget.padStart(14)}  status ${r.status}${r.heldForBudget ? ' (held offline by billing: budget spent)' : ''}`,
    );
  if (r.duplicateSettlements > 0)
    lines.push(`  ${r.duplicateSettlements} duplicate settlement record(s) absorbed (charged once)`);
  return lines.join('\n');
}
