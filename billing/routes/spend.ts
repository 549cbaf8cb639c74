// GET /v1/spend?customer=ID[&day=YYYY-MM-DD]: one customer's spend on a billing day (default:
// today in the billing time zone). GET /v1/totals: the ledger's lifetime totals (charged,
// refunded, clicks, refunds) and the consumed positions, for operators and end-to-end checks.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ImatchError } from '../../core/errors.js';
import { Id } from '../../core/model.js';
import { BillingDay } from '../day.js';
import type { Ledger } from '../ledger.js';
import { spendReport } from '../spend-report.js';

const SpendQuery = Type.Object(
  {
    customer: Id,
    day: Type.Optional(BillingDay),
  },
  { additionalProperties: false },
);

export function spendRoutes(app: FastifyInstance, deps: { ledger: Ledger; today: () => string }): void {
  const spendSchema = { summary: "One customer's spend on a billing day", querystring: SpendQuery };
  app.get('/v1/spend', { schema: spendSchema }, async (req) => {
    const q = req.query as { customer: string; day?: string };
    const day = q.day ?? deps.today();
    const report = spendReport(deps.ledger, q.customer, day);
    if (report === undefined)
      throw new ImatchError('IM_ERR_NOT_FOUND', `Billing knows no customer "${q.customer}"`);
    return report;
  });

  const totalsSchema = {
    summary: "The ledger's lifetime totals and consumed positions",
    querystring: Type.Object({}, { additionalProperties: false }),
  };
  app.get('/v1/totals', { schema: totalsSchema }, async () => {
    const t = deps.ledger.totals();
    return { ...t, netMicros: t.chargedMicros - t.refundedMicros, positions: deps.ledger.positions() };
  });
}
