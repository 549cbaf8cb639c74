// The billing service's HTTP app: the service shell (core/service-app.ts) with the spend report
// and ledger totals (routes/spend.ts) and, only when configured for tests, PUT /v1/test/clock
// (moves the billing clock, then re-checks held customers at once). buildApp never listens
// (server.ts does).
//
// Concurrency: handlers only read the ledger (LMDB read transactions never block the writer).
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { OffsetClock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { createServiceApp } from '../core/service-app.js';
import { testClockRoute } from '../core/test-clock-route.js';
import type { BudgetKeeper } from './budget-keeper.js';
import type { BillingConfig } from './config.js';
import type { Ledger } from './ledger.js';
import type { BillingMetrics } from './metrics.js';
import { spendRoutes } from './routes/spend.js';

export interface BillingDeps {
  log: Logger;
  ledger: Ledger;
  keeper: BudgetKeeper;
  clock: OffsetClock;
  metrics: BillingMetrics;
  /** Why the service is not ready, or undefined when it is. */
  readiness: () => string | undefined;
}

const ReadyInfo = {
  today: Type.String({ description: 'The billing day now, YYYY-MM-DD' }),
  timeZone: Type.String({ description: 'IANA time zone of billing days' }),
};

export function buildApp(config: BillingConfig, deps: BillingDeps): FastifyInstance {
  return createServiceApp(
    {
      log: deps.log,
      metrics: deps.metrics,
      readiness: {
        schema: ReadyInfo,
        check: () => {
          const why = deps.readiness();
          if (why !== undefined) return { why: [why] };
          return { why: [], info: { today: deps.keeper.today(), timeZone: config.timeZone } };
        },
      },
      openapi: {
        description:
          "Billing's read side: a customer's spend on a billing day and the ledger's lifetime totals.",
        tags: [{ name: 'spend', description: 'Spend and ledger totals' }],
      },
    },
    (app) => {
      spendRoutes(app, { ledger: deps.ledger, today: () => deps.keeper.today() });
      if (config.testClockEndpoint) {
        testClockRoute(app, deps.clock, () => {
          deps.keeper.tick(true);
          return { today: deps.keeper.today() };
        });
      }
    },
  );
}
