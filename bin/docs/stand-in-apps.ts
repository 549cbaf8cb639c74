// Every HTTP service's real app (its buildApp, never listening) on stand-in dependencies that no
// handler is ever called with: what `imatch docs api` documents and what the OpenAPI test
// validates. A service whose routes depend on a setting (the test clock, the debug dump) is built
// a second time with that setting on (`build(true)`).
//
// Imports the services lazily: only the commands and tests that read route tables need them.
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { loadConfig } from '../../core/config.js';
import type { ServiceName } from '../../core/service-metrics.js';

type JsonSchema = Record<string, unknown>;

export interface StandInApp {
  name: ServiceName;
  command: string;
  intro: string;
  /** Builds the app; `variant` turns `variantSetting` on. */
  build(variant?: boolean): FastifyInstance;
  /** The setting whose routes only the variant has, e.g. `--test-clock-endpoint true`. */
  variantSetting?: string;
  /** The metrics registry of the last app built. */
  registry(): Registry;
  /** Schemas a route refers to but validates in its handler, rendered after the routes. */
  extra?: { title: string; text: string; schemas: [name: string, schema: JsonSchema][] };
}

export async function standInApps(): Promise<StandInApp[]> {
  const { silentLogger } = await import('../../core/logger.js');
  const { parseClickKeys } = await import('../../core/click-token.js');
  const { OffsetClock } = await import('../../core/clock.js');
  const log = silentLogger();
  // A fixed, valid keyring: the apps parse it; no token is ever made with it here.
  const keyring = parseClickKeys([`1:${'00'.repeat(32)}`]);
  const apps: StandInApp[] = [];

  {
    const { buildApp } = await import('../../services/blender/app.js');
    const { createBlenderMetrics } = await import('../../services/blender/metrics.js');
    const { RuntimeSettings } = await import('../../services/blender/runtime-config.js');
    const metrics = createBlenderMetrics({ processMetrics: false });
    apps.push({
      name: 'blender',
      command: 'imatch blender',
      intro:
        'The public ad query API (DESIGN.md "Ad query"): query rewrite, n+1 ads from a merger, GSP prices, click URLs, one page-view record per answer. Semantics, worked pricing examples and the click-token format: [api-blender.md](api-blender.md). Port 8080 in `imatch start` and compose.yaml.',
      build: () =>
        buildApp(
          { clickBaseUrl: 'http://127.0.0.1:8081', textExpansion: true },
          {
            merger: unused('merger client'),
            pvLog: unused('page-view log'),
            runtime: new RuntimeSettings({ reserveMicros: 10_000, stepMicros: 10_000 }, log),
            keyring,
            metrics,
            log,
          },
        ),
      registry: () => metrics.registry,
    });
  }
  {
    const { buildApp } = await import('../../services/merger/app.js');
    const { Balancer } = await import('../../services/merger/balancer.js');
    const { MergerMetrics } = await import('../../services/merger/metrics.js');
    const balancer = new Balancer({
      clientFactory: unused('searcher client'),
      backoffMs: 500,
      maxBackoffMs: 5000,
    });
    const metrics = new MergerMetrics(balancer, { defaultMetrics: false });
    apps.push({
      name: 'merger',
      command: 'imatch merger',
      intro:
        'Fans a query out to one healthy replica of every column, merges, applies CDistinct (at most k ads per customer), P4PNormalSort and FieldFormatSort, and reports coverage. Called by blenders; contract in core/merge-contract.ts. Internal (port 8083 in `imatch start`).',
      build: () =>
        buildApp(
          { deadlineMs: 100, attemptTimeoutMs: 50, minRetryMs: 5, perCustomerMax: 2 },
          { log, balancer, metrics },
        ),
      registry: () => metrics.registry,
    });
  }
  {
    const { buildApp, createSearcherState } = await import('../../services/searcher/app.js');
    const { isUpdateMetrics } = await import('../../services/searcher/isupdate/metrics.js');
    const state = createSearcherState({ column: 0 }, { log, processMetrics: false });
    isUpdateMetrics(state.metrics.registry);
    apps.push({
      name: 'searcher',
      command: 'imatch searcher',
      intro:
        "One replica of one column: bidword retrieval (exact, phrase, broad), negatives, filters, text expansion, ranking, top-K over the column's segment plus the changes isupdate applied. Called by mergers; contract in core/search-contract.ts. Internal (ports 8090+ in `imatch start`).",
      build: (variant = false) =>
        buildApp({ column: 0, replica: 'r0', debugEndpoints: variant }, { ...state, log }),
      variantSetting: '--debug-endpoints true',
      registry: () => state.metrics.registry,
    });
  }
  {
    const { buildApp } = await import('../../dispatch/app.js');
    const model = await import('../../core/model.js');
    const { createDispatchMetrics } = await import('../../dispatch/metrics.js');
    const metrics = createDispatchMetrics({ processMetrics: false });
    apps.push({
      name: 'dispatch',
      command: 'imatch dispatch',
      intro:
        'The advertiser platform\'s entry point for changes (DESIGN.md "Change message"): validates a whole batch, gives each change a unique increasing message id, makes it durable in Kafka, then answers. Send `Authorization: Bearer <secret>`. A follower answers 503 with the leader\'s URL. Port 8082 in `imatch start` and compose.yaml.',
      build: () =>
        buildApp(
          { secret: 'x'.repeat(16) },
          {
            writer: { pending: 0, submit: unused('change writer') },
            leadership: { state: () => ({ leader: true, term: 1, leaderUrl: undefined }) },
            metrics,
            log,
          },
        ),
      registry: () => metrics.registry,
      extra: {
        title: 'The elements of `changes`',
        text: 'Each element is `{"entity": "customer"|"offer"|"bidword", "op": "upsert", "data": <the whole entity>}` or `{"entity": ..., "op": "delete", "data": {"id": ...}}`, validated by dispatch/validate.ts against core/model.ts `Change` (plus the bidword rules of `bidwordProblem`: negatives carry no bid, positives need one). One bad element rejects the whole batch with 400 `IM_ERR_BAD_CHANGE` naming every problem, and nothing is written. The entities (the same as in a BP snapshot, [data-format.md](data-format.md)):',
        schemas: [
          ['customer', model.Customer as unknown as JsonSchema],
          ['offer', model.Offer as unknown as JsonSchema],
          ['bidword', model.Bidword as unknown as JsonSchema],
        ],
      },
    });
  }
  {
    const { buildApp, defaultSettings } = await import('../../click-filter/app.js');
    const { ClickFilterConfig } = await import('../../click-filter/config.js');
    let registry: Registry | undefined;
    apps.push({
      name: 'click-filter',
      command: 'imatch click-filter',
      intro:
        'Where click URLs lead: decrypts and verifies the token, runs the filter rules, writes every decision (and a settlement record for a billable click) to Kafka, then redirects to the landing page. A tampered or malformed token gets a 400 page and never a redirect. Rules and reasons: [clicks-and-billing.md](clicks-and-billing.md). Port 8081 in `imatch start` and compose.yaml.',
      build: (variant = false) => {
        const config = loadConfig(ClickFilterConfig, {
          flags: { clickKeys: [`1:${'00'.repeat(32)}`], testClockEndpoint: variant },
        });
        const built = buildApp(config, {
          log,
          keyring,
          clock: new OffsetClock(0),
          decisions: unused('decision log'),
          settings: { current: defaultSettings(config), loaded: true },
          instance: 'docs',
          processMetrics: false,
        });
        registry = built.metrics.registry;
        return built.app;
      },
      variantSetting: '--test-clock-endpoint true',
      registry: () => {
        if (registry === undefined) throw new Error('build the click-filter app first');
        return registry;
      },
    });
  }
  {
    const { buildApp } = await import('../../billing/app.js');
    const { BillingConfig } = await import('../../billing/config.js');
    const { createBillingMetrics } = await import('../../billing/metrics.js');
    const metrics = createBillingMetrics(unused('ledger'), false);
    apps.push({
      name: 'billing',
      command: 'imatch billing',
      intro:
        "Consumes settlement and corrections into an idempotent ledger, keeps each customer's daily spend, and takes customers offline (and online again) through dispatch when a budget is reached. The HTTP side is a read-only spend report plus health and metrics; `imatch spend` reads the same report. Port 8084 in `imatch start` and compose.yaml.",
      build: (variant = false) =>
        buildApp(loadConfig(BillingConfig, { flags: { testClockEndpoint: variant } }), {
          log,
          ledger: unused('ledger'),
          keeper: unused('budget keeper'),
          clock: new OffsetClock(0),
          metrics,
          readiness: () => undefined,
        }),
      variantSetting: '--test-clock-endpoint true',
      registry: () => metrics.registry,
    });
  }
  {
    const { buildApp } = await import('../../reports/app.js');
    const { createReportsMetrics } = await import('../../reports/metrics.js');
    const metrics = createReportsMetrics(false);
    apps.push({
      name: 'reports',
      command: 'imatch reports',
      intro:
        "Consumes pv, clicks, settlement and corrections into DuckDB (exactly once in effect: Kafka positions in the same transaction) and answers reports by customer, search term, offer, bidword, region, hour and day, in JSON or CSV (`?format=csv`); costs equal billing's net. `GET /dashboard` is the live dashboard page (server-sent events from `/v1/live/stream`, charts drawn with uPlot served from `/dashboard/uplot.min.js`). Registers under `<root>/services/reports/<id>` with its URL and database id. [reporting.md](reporting.md). Port 8085 in `imatch start`.",
      build: () =>
        buildApp({
          log,
          store: unused('report store'),
          metrics,
          timeZone: 'UTC',
          today: () => '2026-01-01',
          snapshot: unused('live snapshot'),
          dashboardTickMs: 1000,
          readiness: () => undefined,
        }).app,
      registry: () => metrics.registry,
    });
  }
  {
    const { buildApp } = await import('../../learner/app.js');
    const { createLearnerMetrics } = await import('../../learner/metrics.js');
    const metrics = createLearnerMetrics(false);
    apps.push({
      name: 'learner',
      command: 'imatch learner',
      intro:
        'The online click-through learner: consumes pv and clicks, joins each valid click to its impression (attribution window), trains a logistic model with FTRL-Proximal on hashed features, publishes versioned, checksummed model snapshots pointed to in ZooKeeper (`<root>/learner/model`) and checkpoints its state with its Kafka positions. `GET /v1/learner/stats` reports held-out AUC, log loss, normalized entropy and calibration. [learning.md](learning.md). Port 8086 in `imatch start`.',
      build: () =>
        buildApp({
          log,
          metrics,
          trainer: unused('trainer'),
          stateId: 'docs',
          model: () => ({ version: 0, weights: 0 }),
          readiness: () => undefined,
        }),
      registry: () => metrics.registry,
    });
  }
  return apps;
}

/**
 * A stand-in for a dependency no handler is called with while the route table is read. Any use
 * throws, so a buildApp that starts calling a dependency at construction time fails loudly here.
 */
function unused<T>(what: string): T {
  return new Proxy({} as object, {
    get: (_t, prop) => {
      if (prop === 'then') return undefined; // not a thenable
      throw new Error(`docs: the ${what} was used while building the app (property ${String(prop)})`);
    },
  }) as T;
}
