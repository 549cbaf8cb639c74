// The reports service's HTTP app: the report endpoints (routes/reports.ts), the live dashboard
// and its event stream (routes/dashboard.ts), /openapi.json, /healthz, /readyz and /metrics.
// buildApp never listens (server.ts does), so tests use inject().
//
// Concurrency: handlers only read (reader connections see the last committed transaction).

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../core/logger.js';
import { createServiceApp } from '../core/service-app.js';
import type { LiveSnapshot } from './live.js';
import type { ReportsMetrics } from './metrics.js';
import { dashboardRoutes, LiveHub } from './routes/dashboard.js';
import { reportRoutes } from './routes/reports.js';
import type { ReportStore } from './store.js';

const ReadyInfo = { today: Type.String(), timeZone: Type.String() };

export interface ReportsDeps {
  log: Logger;
  store: ReportStore;
  metrics: ReportsMetrics;
  timeZone: string;
  today: () => string;
  snapshot: () => Promise<LiveSnapshot>;
  dashboardTickMs: number;
  /** Why the service is not ready, or undefined when it is. */
  readiness: () => string | undefined;
}

export interface ReportsApp {
  app: FastifyInstance;
  hub: LiveHub;
}

export function buildApp(deps: ReportsDeps): ReportsApp {
  const hub = new LiveHub(deps.snapshot, deps.dashboardTickMs, deps.log.child({ component: 'live' }));
  const app = createServiceApp(
    {
      log: deps.log,
      metrics: deps.metrics,
      readiness: {
        schema: ReadyInfo,
        check: () => {
          const why = deps.readiness();
          return {
            why: why === undefined ? [] : [why],
            info: { today: deps.today(), timeZone: deps.timeZone },
          };
        },
      },
      openapi: {
        description:
          'Hourly and daily reports from the pv, clicks, settlement and corrections topics, and the live dashboard. See docs/reporting.md.',
        tags: [
          {
            name: 'reports',
            description: 'Reports by customer, search term, offer, bidword, region, hour and day',
          },
          { name: 'live', description: 'The live dashboard data' },
        ],
      },
      validationCode: 'IM_ERR_BAD_QUERY',
    },
    (r) => {
      reportRoutes(r, { store: deps.store, timeZone: deps.timeZone, today: deps.today });
      dashboardRoutes(r, { hub, snapshot: deps.snapshot });
      r.get(
        '/v1/positions',
        {
          schema: {
            tags: ['live'],
            summary: 'The Kafka positions stored with the data (next offset per topic partition)',
          },
        },
        async () => ({ positions: await deps.store.positions() }),
      );
    },
  );
  // The dashboard's event streams never end by themselves: end them before the server closes, or
  // closing would wait for them.
  app.addHook('preClose', async () => hub.close());
  return { app, hub };
}
