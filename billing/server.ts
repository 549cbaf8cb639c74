// Runs the billing service: opens the ledger, seeds customer entities from a snapshot when given,
// starts the ledger consumer (settlement, corrections, changes), the budget keeper and the HTTP
// app, and registers under services/billing/<ledger id>. Prints one "billing listening" line.
// Run ONE billing process per ledger (the ledger is local; a second process on another ledger in
// the same group would split the partitions between two ledgers).
//
// Shutdown (SIGTERM/SIGINT, or close()): deregister, stop the HTTP app, stop consuming (the batch
// in flight finishes its transaction and commit), stop the keeper (waits for changes in flight to
// dispatch), close the ledger, then ZooKeeper.
import { mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { OffsetClock } from '../core/clock.js';
import { ImatchError } from '../core/errors.js';
import { createKafka, ensureTopics, type ImatchConsumer } from '../core/kafka.js';
import type { Logger } from '../core/logger.js';
import { type BillingRegistration, serviceRegistration } from '../core/registrations.js';
import { gracefulStop, listen, register, registrationProblem } from '../core/service-runtime.js';
import { zkPaths } from '../core/zk-paths.js';
import { connectZk, type Registration, type ZkClient } from '../core/zookeeper.js';
import { buildApp } from './app.js';
import { BudgetKeeper } from './budget-keeper.js';
import { type BillingConfig, ledgerDirOf } from './config.js';
import { startLedgerConsumer } from './consumer.js';
import { readSnapshotCustomers } from './customers.js';
import { checkTimeZone } from './day.js';
import { DispatchClient } from './dispatch-client.js';
import { Ledger } from './ledger.js';
import { createBillingMetrics } from './metrics.js';

export interface RunningBilling {
  readonly url: string;
  readonly ledger: Ledger;
  close(): Promise<void>;
}

export async function startBilling(config: BillingConfig, log: Logger): Promise<RunningBilling> {
  try {
    checkTimeZone(config.timeZone);
  } catch {
    throw new ImatchError('IM_ERR_CONFIG', `--time-zone: unknown time zone "${config.timeZone}"`);
  }
  const dir = ledgerDirOf(config);
  mkdirSync(dir, { recursive: true });
  const ledger = new Ledger({ path: dir, timeZone: config.timeZone });
  const ledgerId = ledger.identity();
  const clock = new OffsetClock(config.clockOffsetMs);
  const metrics = createBillingMetrics(ledger);

  let zk: ZkClient | undefined;
  let consumer: ImatchConsumer | undefined;
  let registration: Registration | undefined;
  let dispatch: DispatchClient | undefined;
  let keeper: BudgetKeeper | undefined;
  let app: FastifyInstance | undefined;
  let stop: (() => Promise<void>) | undefined;
  let totals: ReturnType<Ledger['totals']> | undefined;
  try {
    if (config.snapshotDir) {
      const { rows, watermark } = await readSnapshotCustomers(config.snapshotDir);
      const n = ledger.seedCustomers(rows, watermark);
      log.info(
        { snapshotDir: config.snapshotDir, rows: rows.length, stored: n, watermark },
        'customers seeded from the snapshot',
      );
    }
    zk = await connectZk({ connect: config.zkConnect, sessionTimeoutMs: config.zkSessionTimeoutMs, log });
    dispatch = config.dispatchSecret
      ? new DispatchClient({
          url: config.dispatchUrl,
          zk,
          zkRoot: config.zkRoot,
          secret: config.dispatchSecret,
          timeoutMs: config.dispatchTimeoutMs,
          log: log.child({ component: 'dispatch-client' }),
        })
      : undefined;
    if (dispatch === undefined)
      log.warn('no --dispatch-secret: budget changes are decided and logged but not sent');
    const k = new BudgetKeeper({
      ledger,
      clock,
      timeZone: config.timeZone,
      dispatch,
      log: log.child({ component: 'budget' }),
      onAction: (kind, result) => metrics.budgetActions.inc({ kind, result }),
    });
    keeper = k;
    const kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: `${config.kafkaClientId}-billing`,
      log,
    });
    await ensureTopics(kafka, [config.topicSettlement, config.topicCorrections, config.topicChanges]);
    app = buildApp(config, {
      log,
      ledger,
      keeper: k,
      clock,
      metrics,
      readiness: () =>
        consumer === undefined ? 'consumer not started' : registrationProblem(registration, zk),
    });
    const groupId = `${config.groupId}.${ledgerId}`;
    consumer = await startLedgerConsumer({
      kafka,
      ledger,
      groupId,
      topics: {
        settlement: config.topicSettlement,
        corrections: config.topicCorrections,
        changes: config.topicChanges,
      },
      maxBatch: config.maxBatch,
      log,
      metrics,
      onApplied: (r) => k.evaluate(r.touched),
    });
    const { url } = await listen(app, config);
    k.start(config.budgetTickMs);
    log.info({ ledger: dir, ledgerId, groupId, timeZone: config.timeZone }, 'billing consuming');
    const regPath = `${zkPaths(config.zkRoot).serviceKind('billing')}/${ledgerId}`;
    registration = await register(zk, regPath, {
      ...serviceRegistration(url, ledgerId),
      ledgerId,
    } satisfies BillingRegistration);
    log.info({ url, path: regPath }, 'billing listening');
    return { url, ledger, close: stopOf(app) };
  } catch (err) {
    if (app !== undefined) await stopOf(app)();
    else {
      await dispatch?.close();
      await zk?.close();
      await ledger.close();
    }
    throw err;
  }

  function stopOf(a: FastifyInstance): () => Promise<void> {
    stop ??= gracefulStop('billing', log, a, config.shutdownTimeoutMs, {
      registration: () => registration,
      afterStop: [
        ['stop consuming', () => consumer?.disconnect()],
        ['stop the budget keeper', () => keeper?.stop()],
        ['close the dispatch client', () => dispatch?.close()],
        [
          'close the ledger',
          async () => {
            await ledger.flushed();
            totals = ledger.totals();
            await ledger.close();
          },
        ],
        ['close ZooKeeper', () => zk?.close()],
      ],
      summary: () => ({ totals }),
    });
    return stop;
  }
}
